from sentence import reverse_words


def test_simple():
    assert reverse_words("one two three") == "three two one"


def test_extra_spaces():
    assert reverse_words("  one   two ") == "two one"


def test_blank():
    assert reverse_words("   ") == ""
