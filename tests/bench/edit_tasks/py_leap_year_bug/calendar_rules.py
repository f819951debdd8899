def is_leap(year):
    """Whether the year has a 29 February."""
    return year % 4 == 0 and year % 100 != 0
