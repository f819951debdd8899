from words import word_counts


def test_case_and_punctuation():
    assert word_counts("The cat. the CAT, the dog!") == {"the": 3, "cat": 2, "dog": 1}


def test_newlines_and_double_spaces():
    assert word_counts("one two\ntwo  three three three") == {"one": 1, "two": 2, "three": 3}


def test_empty():
    assert word_counts("") == {}
