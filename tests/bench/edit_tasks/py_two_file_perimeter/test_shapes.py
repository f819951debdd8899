from shapes import perimeter


def test_unit_square():
    assert perimeter([(0, 0), (1, 0), (1, 1), (0, 1)]) == 4


def test_triangle():
    assert perimeter([(0, 0), (3, 0), (3, 4)]) == 12


def test_fewer_than_two_points():
    assert perimeter([(5, 5)]) == 0
    assert perimeter([]) == 0
