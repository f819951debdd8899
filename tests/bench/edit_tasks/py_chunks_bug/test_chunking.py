from chunking import chunks


def test_exact_multiple():
    assert chunks([1, 2, 3, 4], 2) == [[1, 2], [3, 4]]


def test_last_chunk_shorter():
    assert chunks([1, 2, 3, 4, 5], 2) == [[1, 2], [3, 4], [5]]


def test_size_larger_than_list():
    assert chunks([1, 2], 5) == [[1, 2]]


def test_empty():
    assert chunks([], 3) == []
