def encode(text):
    """Run-length encode the text: "aaabcc" -> "3a1b2c"."""
    raise NotImplementedError
