"""The C-level abort flag that llama.cpp polls for every graph node."""

from __future__ import annotations

import ctypes

from app.engine.abort import _ABORT_CALLBACK, AbortFlag


def call(buffer) -> bool:
    return bool(_ABORT_CALLBACK(ctypes.cast(buffer, ctypes.c_void_p)))


def test_callback_reads_the_flag_byte():
    buffer = ctypes.create_string_buffer(2)
    assert call(buffer) is False
    buffer[0] = b"\x01"
    assert call(buffer) is True
    buffer[0] = b"\x00"
    assert call(buffer) is False


def test_flag_writes_the_byte_only_while_bound():
    buffer = ctypes.create_string_buffer(2)
    waiting = AbortFlag()
    waiting.set()  # a queued request cancelled before it runs must not abort the running one
    assert call(buffer) is False
    running = AbortFlag()
    running.bind(buffer)
    assert call(buffer) is False
    running.set()
    assert running.is_set() and call(buffer) is True
    running.bind(None)
    buffer[0] = b"\x00"
    running.set()
    assert call(buffer) is False
