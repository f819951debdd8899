def reverse_words(text):
    """The words of the text in reverse order."""
    words = text.split(" ")
    return " ".join(reversed(words))
