"""The engine's one decode thread: calls run there, in order, and come back as results or errors."""

from __future__ import annotations

import ctypes
import functools
import threading

import pytest

from app.engine.decode_thread import DecodeThread
from app.utils.errors import EngineError


@pytest.fixture
def decoder():
    thread = DecodeThread(name="test-decode")
    yield thread
    assert thread.stop(5)


def test_every_call_runs_on_the_one_thread_and_returns_its_result(decoder):
    ran_on: list[int] = []

    def call(n: int) -> int:
        ran_on.append(threading.get_ident())
        return n * 2

    results: list[int] = []
    callers = [threading.Thread(target=lambda n=n: results.append(decoder.run(lambda: call(n)))) for n in range(8)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join(10)
    assert sorted(results) == [n * 2 for n in range(8)]
    assert len(set(ran_on)) == 1 and ran_on[0] != threading.get_ident()


def test_calls_run_one_at_a_time_in_arrival_order(decoder):
    gate, order = threading.Event(), []
    decoder_busy = threading.Event()

    def hold() -> None:
        decoder_busy.set()
        gate.wait(10)

    holder = threading.Thread(target=decoder.run, args=(hold,))
    holder.start()
    assert decoder_busy.wait(10)
    callers = []
    for n in range(5):  # queued while the first call holds the thread, each after the one before
        caller = threading.Thread(target=decoder.run, args=(lambda n=n: order.append(n),))
        caller.start()
        callers.append(caller)
        while decoder._calls.qsize() < n + 1:
            threading.Event().wait(0.001)
    gate.set()
    for caller in [holder, *callers]:
        caller.join(10)
    assert order == [0, 1, 2, 3, 4]


def test_an_error_is_raised_in_the_caller_as_the_same_object(decoder):
    raised = ValueError("bad batch")

    def fail() -> None:
        raise raised

    with pytest.raises(ValueError) as caught:
        decoder.run(fail)
    assert caught.value is raised
    assert decoder.run(lambda: 5) == 5  # the thread lives on after an error


def test_a_call_made_on_the_decode_thread_runs_inline(decoder):
    idents = decoder.run(lambda: (threading.get_ident(), decoder.run(threading.get_ident)))
    assert idents[0] == idents[1]


def test_stop_joins_the_thread_and_later_calls_get_a_clear_error():
    decoder = DecodeThread()
    assert decoder.run(lambda: "ran") == "ran"
    assert decoder.stop(5) and not decoder.alive
    with pytest.raises(EngineError, match="shutting down"):
        decoder.run(lambda: "too late")
    assert decoder.stop(5)  # stopping twice is harmless


def test_the_call_lets_go_of_what_it_holds_before_the_caller_wakes(decoder):
    """KvSlot.save_state hands over a function holding a ctypes export of its bytearray and
    shrinks the bytearray right after: an export the decode thread still held would fail that."""
    for _ in range(200):
        data = bytearray(64)
        buffer = (ctypes.c_uint8 * 64).from_buffer(data)
        assert decoder.run(functools.partial(len, buffer)) == 64
        del buffer
        del data[16:]  # BufferError while anything still holds `buffer`
        assert len(data) == 16
