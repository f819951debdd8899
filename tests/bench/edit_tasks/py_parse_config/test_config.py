import pytest

from config import parse_config


def test_pairs_comments_and_blanks():
    text = "# settings\nname = demo\n\n  port=8080  \n"
    assert parse_config(text) == {"name": "demo", "port": "8080"}


def test_value_may_hold_equals():
    assert parse_config("query = a=b") == {"query": "a=b"}


def test_line_without_equals():
    with pytest.raises(ValueError):
        parse_config("name = demo\njust words\n")
