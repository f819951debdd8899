SMALL_WORDS = {"a", "an", "the", "of", "and", "in"}


def title_case(text):
    words = text.lower().split()
    return " ".join(w if i and w in SMALL_WORDS else w.capitalize() for i, w in enumerate(words))
