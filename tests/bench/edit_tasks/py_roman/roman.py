def to_roman(number):
    """The Roman numeral for 1 <= number <= 3999."""
    raise NotImplementedError
