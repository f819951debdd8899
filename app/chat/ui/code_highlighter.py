"""Colouring code blocks with Pygments without stalling the GUI.

Lexing a few hundred lines takes tens of milliseconds of pure Python, far more than one
frame. A worker thread does not help: it holds the GIL, and the GUI thread, which lets
go of the GIL on every Qt call, then waits up to the switch interval to get it back on
each one (measured: a 361 ms stall). So lexing runs on the GUI thread, a few
milliseconds per event-loop turn: Pygments lexes lazily, as its tokens are pulled.
Recent results are kept, so a re-shown block (theme switch, history) is coloured at once.
Loading a lexer the first time costs up to ~90 ms, so the window has them all loaded
off the GUI thread after its first paint (app.chat.ui.warmup), while the user reads.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Iterator
from itertools import islice

from PySide6.QtCore import QCoreApplication, QObject, QTimer, Signal

from app.chat.markdown.highlight import HighlightRun, iter_highlight_runs

HighlightKey = tuple[str, str, str]  # code, language, Pygments style name
_CACHE_SIZE = 128
_BUDGET_S = 0.003  # lexing per event-loop turn
_RUNS_PER_CHECK = 16  # runs pulled between looks at the clock


class CodeHighlighter(QObject):
    """Shared by all messages; `ready(key, runs)` fires once a requested block is lexed."""

    ready = Signal(object, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._cache: OrderedDict[HighlightKey, list[HighlightRun]] = OrderedDict()
        self._jobs: OrderedDict[HighlightKey, tuple[Iterator[HighlightRun], list[HighlightRun]]]
        self._jobs = OrderedDict()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._work)

    def cached(self, key: HighlightKey) -> list[HighlightRun] | None:
        runs = self._cache.get(key)
        if runs is not None:
            self._cache.move_to_end(key)
        return runs

    def request(self, key: HighlightKey) -> None:
        """Lex `key` over the next event-loop turns; `ready` fires when done."""
        if key not in self._jobs:
            self._jobs[key] = (iter_highlight_runs(*key), [])
            self._timer.start()

    def is_idle(self) -> bool:
        return not self._jobs

    def _work(self) -> None:
        deadline = time.perf_counter() + _BUDGET_S
        while self._jobs and time.perf_counter() < deadline:
            key, (runs_left, runs) = next(iter(self._jobs.items()))
            batch = list(islice(runs_left, _RUNS_PER_CHECK))
            runs.extend(batch)
            if len(batch) < _RUNS_PER_CHECK:
                del self._jobs[key]
                self._cache[key] = runs
                while len(self._cache) > _CACHE_SIZE:
                    self._cache.popitem(last=False)
                self.ready.emit(key, runs)
        if self._jobs:
            self._timer.start()


_shared: CodeHighlighter | None = None


def shared_highlighter() -> CodeHighlighter:
    """The application's highlighter, owned by the QApplication (so it ends with it)."""
    global _shared
    if _shared is None:
        _shared = CodeHighlighter(QCoreApplication.instance())
        _shared.destroyed.connect(_forget)
    return _shared


def _forget() -> None:
    global _shared
    _shared = None
