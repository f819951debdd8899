"""How long inline completion waits after a keystroke before it asks the model.

A pause means different things for different typists: 200 ms is a pause for someone
typing a key every 60 ms and the middle of a word for someone at 180 ms. So the wait
follows the typist's own rhythm (a few times the median gap between recent keys), and
stretches when the engine has been slow, because a request that the next keystroke
cancels only delays the one after it. It stays within 150 to 400 ms.

Qt-free: the controller feeds it timestamps and reads `delay_ms()`.
"""

from __future__ import annotations

import statistics
from collections import deque

MIN_DELAY_MS = 150
MAX_DELAY_MS = 400
RHYTHM_FACTOR = 2.5  # a pause is this many typical gaps
LATENCY_FACTOR = 0.25  # a slow engine earns a longer wait
GAP_LIMIT_S = 1.0  # longer gaps are pauses, not rhythm
HISTORY = 12


class AdaptiveDebounce:
    """Keeps the recent gaps between keystrokes and recent completion latencies."""

    def __init__(self, base_ms: int = 250, low_ms: int = MIN_DELAY_MS, high_ms: int = MAX_DELAY_MS) -> None:
        self.low_ms = low_ms
        self.high_ms = high_ms
        self.base_ms = self._clamp(base_ms)
        self._last_key_s: float | None = None
        self._gaps_s: deque[float] = deque(maxlen=HISTORY)
        self._latencies_s: deque[float] = deque(maxlen=HISTORY // 2)

    def set_base_ms(self, base_ms: int) -> None:
        """The user's delay setting changed: the delay when no rhythm is known yet."""
        self.base_ms = self._clamp(base_ms)

    def _clamp(self, ms: float) -> int:
        return int(min(self.high_ms, max(self.low_ms, ms)))

    def note_keystroke(self, now_s: float) -> None:
        if self._last_key_s is not None:
            gap = now_s - self._last_key_s
            if 0 <= gap <= GAP_LIMIT_S:
                self._gaps_s.append(gap)
        self._last_key_s = now_s

    def note_latency(self, seconds: float) -> None:
        """Time from sending a request to its finished suggestion."""
        if seconds >= 0:
            self._latencies_s.append(seconds)

    def delay_ms(self) -> int:
        rhythm = RHYTHM_FACTOR * statistics.median(self._gaps_s) * 1000 if len(self._gaps_s) >= 3 else self.base_ms
        latency = LATENCY_FACTOR * statistics.median(self._latencies_s) * 1000 if self._latencies_s else 0.0
        return self._clamp(max(rhythm, latency))
