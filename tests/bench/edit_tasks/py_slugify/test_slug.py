from slug import slugify


def test_words_and_punctuation():
    assert slugify("Hello, World!") == "hello-world"


def test_runs_of_spaces_and_ends():
    assert slugify("  Many   spaces here  ") == "many-spaces-here"


def test_digits_kept():
    assert slugify("Version 2.0 notes") == "version-2-0-notes"


def test_empty():
    assert slugify("") == ""
