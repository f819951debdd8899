import pytest

from durations import parse_duration


def test_hours_and_minutes():
    assert parse_duration("1h30m") == 5400


def test_each_unit():
    assert parse_duration("45s") == 45
    assert parse_duration("2h5s") == 7205
    assert parse_duration("10m") == 600


def test_bad_input():
    for text in ("", "abc", "5x", "h"):
        with pytest.raises(ValueError):
            parse_duration(text)
