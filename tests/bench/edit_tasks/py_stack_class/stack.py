class Stack:
    """Last in, first out."""
