import pytest

from stack import Stack


def test_push_pop_order():
    stack = Stack()
    stack.push(1)
    stack.push(2)
    assert stack.pop() == 2
    assert stack.pop() == 1


def test_peek_and_len():
    stack = Stack()
    stack.push("a")
    assert stack.peek() == "a"
    assert len(stack) == 1


def test_empty():
    stack = Stack()
    assert len(stack) == 0
    with pytest.raises(IndexError):
        stack.pop()
    with pytest.raises(IndexError):
        stack.peek()
