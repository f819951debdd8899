"""Cancelling llama.cpp in the middle of a graph, without a Python call per node.

llama.cpp calls a context's abort callback for every node of every graph it computes.
A Python callback would take the GIL thousands of times per token, so the callback is
libc's strlen() on a two-byte buffer owned by the context: it returns 1 when the first
byte is set and 0 when it is NUL, which is exactly `bool abort(void *data)` in the
x86-64 and AArch64 calling conventions. It costs nanoseconds and never touches the
interpreter. A request's `AbortFlag` writes that byte while the request runs on the
context, so cancel stops a long prompt evaluation within one graph node.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
import time
from typing import Any

import llama_cpp


def _c_flag_reader() -> Any:
    libc = ctypes.CDLL(ctypes.util.find_library("c") or ("msvcrt" if os.name == "nt" else None))
    return ctypes.cast(libc.strlen, llama_cpp.ggml_abort_callback)


_ABORT_CALLBACK = _c_flag_reader()


def install_abort_byte(ctx: Any) -> Any:
    """Give llama.cpp a flag byte to poll for `ctx` (a llama_context pointer); returns the buffer.

    The caller keeps the buffer alive as long as the context."""
    buffer = ctypes.create_string_buffer(2)
    llama_cpp.llama_set_abort_callback(ctx, _ABORT_CALLBACK, ctypes.cast(buffer, ctypes.c_void_p))
    return buffer


class AbortFlag(threading.Event):
    """A request's cancel flag. While it is bound to a context's byte, setting it also
    aborts llama.cpp at once; a flag that is not bound (a queued request) touches nothing."""

    def __init__(self) -> None:
        super().__init__()
        self._c_byte: Any = None
        self._bind_lock = threading.Lock()
        self.set_at: float | None = None  # time.perf_counter() of the first set, to time how fast work gave way

    def bind(self, c_byte: Any) -> None:
        with self._bind_lock:
            self._c_byte = c_byte
            if c_byte is not None:
                c_byte[0] = b"\x01" if self.is_set() else b"\x00"

    def set(self) -> None:
        if self.set_at is None:
            self.set_at = time.perf_counter()
        super().set()
        with self._bind_lock:
            if self._c_byte is not None:
                self._c_byte[0] = b"\x01"


class GenerationCancelled(Exception):
    """Raised inside generation when the request's cancel flag is set."""
