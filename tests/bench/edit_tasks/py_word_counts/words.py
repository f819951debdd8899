def word_counts(text):
    """How often each word occurs in the text."""
    raise NotImplementedError
