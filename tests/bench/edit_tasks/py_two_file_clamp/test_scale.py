from mathutils import clamp
from scale import scale_percent


def test_clamp():
    assert clamp(5, 0, 10) == 5
    assert clamp(-1, 0, 10) == 0
    assert clamp(11, 0, 10) == 10


def test_scale_within_range():
    assert scale_percent(1, 4) == 25


def test_scale_limited():
    assert scale_percent(5, 4) == 100
    assert scale_percent(-2, 4) == 0
