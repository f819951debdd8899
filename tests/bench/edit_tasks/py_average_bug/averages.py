def average(values):
    """The mean of the values."""
    return sum(values) / len(values)
