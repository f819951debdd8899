def dedupe(items):
    """The items in order, each only once."""
    raise NotImplementedError
