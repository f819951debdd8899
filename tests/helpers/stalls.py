"""Measuring event-loop stalls the way a user feels them: a 5 ms timer's late ticks."""

from __future__ import annotations

import gc
import time

from PySide6.QtCore import Qt, QTimer


class StallProbe:
    """Records the gaps between ticks of a precise 5 ms timer while it runs."""

    INTERVAL_MS = 5

    def __init__(self) -> None:
        self.gaps: list[float] = []
        self._last = time.perf_counter()
        self._timer = QTimer()
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(self.INTERVAL_MS)
        self._timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.append(now - self._last)
        self._last = now

    def start(self) -> None:
        # Collect the garbage that earlier tests left and freeze what survives, as the app
        # freezes its start-up objects: a full collection of hundreds of tests' leftovers
        # would otherwise be counted as this widget's stall.
        gc.collect()
        gc.freeze()
        self.restart_clock()
        self._timer.start()

    def restart_clock(self) -> None:
        """Start measuring from now (drop the time since the last tick)."""
        self._last = time.perf_counter()

    def stop(self) -> None:
        self._timer.stop()
        gc.unfreeze()

    def largest_ms(self, skip_first: bool = False) -> float:
        """The largest gap beyond the timer's own interval, in ms (nan without ticks)."""
        gaps = self.gaps[1:] if skip_first else self.gaps
        return max(0.0, max(gaps) * 1000 - self.INTERVAL_MS) if gaps else float("nan")

    def __enter__(self) -> StallProbe:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
