def scale_percent(done, total):
    """How much of `total` is done, in percent."""
    return done * 100 / total
