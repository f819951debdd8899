def is_balanced(text):
    """Whether the brackets (), [] and {} in the text are balanced."""
    raise NotImplementedError
