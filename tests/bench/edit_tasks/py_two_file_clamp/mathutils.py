def lerp(a, b, t):
    """The value a fraction t of the way from a to b."""
    return a + (b - a) * t
