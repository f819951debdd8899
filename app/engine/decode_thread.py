"""The engine's one decode thread: every `llama_decode` of the process runs on it.

Why one thread: llama.cpp's CPU backend computes each graph in an OpenMP parallel region,
and this build's OpenMP is libgomp. libgomp keeps a team of worker threads for every
thread that ever started a parallel region, for as long as that thread lives. Once the
teams together hold more threads than the machine has CPUs, libgomp stops spinning at its
barriers (its "throttled" spin count) and every barrier of every decode waits in the
kernel: on a 2-core EPYC the test model's plain decoding fell from 61 to 41-47 tokens/s
while one other thread that had decoded lived on. Request threads, asyncio's executor
threads and the idle-work thread all decode; handing their decodes to one long-lived
thread keeps one team, always warm, and no request starts or ends one.

It also orders decodes: calls run one at a time in arrival order, so a chat and an inline
completion that run at once take turns batch by batch (the FIFO lock they shared before
did the same on the caller's thread).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from app.utils.errors import EngineError

T = TypeVar("T")


class _Call(Generic[T]):
    """One call handed to the decode thread; `done` is released when it has run."""

    __slots__ = ("done", "error", "fn", "result")

    def __init__(self, fn: Callable[[], T]) -> None:
        self.fn: Callable[[], T] | None = fn
        self.done = threading.Lock()  # the cheapest wait there is: the caller blocks on acquire
        self.done.acquire()
        self.result: T | None = None
        self.error: BaseException | None = None

    def execute(self) -> None:
        # The function goes before the caller wakes: it may hold the caller's objects (a
        # buffer exported from a bytearray the caller resizes next).
        fn, self.fn = self.fn, None
        try:
            assert fn is not None, "a call runs once"
            self.result = fn()
        except BaseException as exc:  # noqa: BLE001 - raised again in the caller's thread
            self.error = exc
        finally:
            del fn
            self.done.release()

    def outcome(self) -> T:
        error, self.error = self.error, None  # the caller's raise owns it: no cycle through the call
        if error is not None:
            raise error
        return self.result  # type: ignore[return-value]


class DecodeThread:
    """A thread that runs the calls handed to it, one at a time, in arrival order."""

    def __init__(self, name: str = "llama-decode") -> None:
        self._calls: queue.SimpleQueue[_Call[Any] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()  # makes "not stopped, so queue it" one step
        self._stopped = False
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()
        self._ident = self._thread.ident

    def run(self, fn: Callable[[], T]) -> T:
        """`fn()` on the decode thread (inline when called there); its result, or its
        exception raised here. Raises EngineError once the thread was stopped."""
        if threading.get_ident() == self._ident:
            return fn()
        call = _Call(fn)
        with self._lock:
            if self._stopped:
                raise EngineError("The engine is shutting down", "Send the request again once it has restarted")
            self._calls.put(call)
        call.done.acquire()
        return call.outcome()

    def stop(self, timeout: float) -> bool:
        """Run what was handed in already, refuse the rest, and join the thread; False if it
        is still running after `timeout`."""
        with self._lock:
            if not self._stopped:
                self._stopped = True
                self._calls.put(None)
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _serve(self) -> None:
        while (call := self._calls.get()) is not None:
            call.execute()
