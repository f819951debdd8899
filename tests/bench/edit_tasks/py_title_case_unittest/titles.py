SMALL_WORDS = {"a", "an", "the", "of", "and", "in"}


def title_case(text):
    """A title in title case, small words kept small."""
    raise NotImplementedError
