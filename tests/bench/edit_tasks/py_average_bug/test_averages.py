from averages import average


def test_mean():
    assert average([1, 2, 3, 4]) == 2.5


def test_empty():
    assert average([]) == 0.0
