from itertools import groupby


def encode(text):
    return "".join(f"{len(list(run))}{ch}" for ch, run in groupby(text))
