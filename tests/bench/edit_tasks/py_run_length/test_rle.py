from rle import encode


def test_runs():
    assert encode("aaabcc") == "3a1b2c"


def test_long_run():
    assert encode("x" * 12) == "12x"


def test_empty():
    assert encode("") == ""
