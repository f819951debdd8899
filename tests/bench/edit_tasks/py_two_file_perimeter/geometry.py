import math


def distance(a, b):
    """The straight-line distance between two (x, y) points."""
    return math.hypot(b[0] - a[0], b[1] - a[1])
