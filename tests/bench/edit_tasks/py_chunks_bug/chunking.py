def chunks(items, size):
    """Split a list into lists of `size` items; the last one may be shorter."""
    result = []
    for start in range(0, len(items) - size + 1, size):
        result.append(items[start : start + size])
    return result
