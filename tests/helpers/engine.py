"""Small helpers for tests that talk to a real engine process."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def collect(events: Iterable[Any]) -> tuple[str, list[str], Any]:
    """(text, notes, final stats) of a client stream."""
    text, notes, stats = [], [], None
    for event in events:
        text.append(event.text)
        if event.note:
            notes.append(event.note)
        if event.stats:
            stats = event.stats
    return "".join(text), notes, stats


def usage_of(events: Iterable[Any]) -> dict:
    """The engine's usage record at the end of a stream."""
    stats = collect(events)[2]
    assert stats is not None and stats.finish_reason in ("length", "stop"), stats
    return dict(stats.usage)
