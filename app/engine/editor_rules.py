"""The stop rules an editor's fill-in-the-middle request gets in the engine: the app's own
FIM rules (app.completion.fim.FimFilter, the same the window's completion applies in its
client) and the limits llama-server's clients send (`n_indent`, `t_max_predict_ms`).

`limited(events, rules)` wraps a generation: the text passes the rules line by line, and
when they end the middle the generation is cancelled in the engine at once; the last
event then says "stop" (the middle is complete), not "cancelled".
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from app.engine.generation import GenerationEvent
from app.engine.streaming import Events
from app.protocol.fim_rules import FimFilter


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


@dataclass
class EditorRules:
    """The rules of one request. `n_indent`: a new line indented less ends the middle;
    `t_max_predict_ms`: past this time (from the first token), the next line end ends it."""

    fim: FimFilter
    n_indent: int = 0
    t_max_predict_ms: float = 0.0
    text: str = ""
    stop_type: str = "none"  # why the rules ended it: "fim", "indent", "time"
    _started: float | None = field(default=None, repr=False)

    def feed(self, delta: str) -> tuple[str, bool]:
        """(text to pass on, whether the middle ends here)."""
        if self._started is None:
            self._started = time.perf_counter()
        passed, done = self.fim.feed(delta)
        if done:
            self.stop_type = "fim"
        return self._limit(passed, done)

    def finish(self) -> str:
        return self._limit(self.fim.finish(), True)[0]

    def _limit(self, passed: str, done: bool) -> tuple[str, bool]:
        if self.n_indent > 0 and passed:
            start = len(self.text)
            whole = self.text + passed
            at = whole.find("\n", max(0, start - 1))
            while at >= 0:
                line = whole[at + 1 :].split("\n", 1)[0]
                if line.strip() and _indent(line) < self.n_indent:
                    passed, done, self.stop_type = whole[start:at], True, "indent"
                    break
                at = whole.find("\n", at + 1)
        self.text += passed
        if not done and self.t_max_predict_ms > 0 and "\n" in self.text and self._started is not None:
            if (time.perf_counter() - self._started) * 1000 > self.t_max_predict_ms:
                done, self.stop_type = True, "time"
        return passed, done


def limited(events: Events, make_rules: Callable[[], EditorRules], on_end: Callable[[EditorRules], None]) -> Events:
    """`events` with the rules applied; `on_end` sees the rules when the generation ends."""

    def run(cancel: threading.Event, on_wait: Callable[[int], None]) -> Iterator[Any]:
        rules = make_rules()
        ended = False
        for event in events(cancel, on_wait):
            if event.delta and not ended:
                passed, ended = rules.feed(event.delta)
                if passed:
                    yield GenerationEvent(delta=passed)
                if ended:
                    cancel.set()  # the middle is complete: stop the engine at once
            if event.finish_reason:
                if not ended and event.finish_reason != "cancelled":
                    rest = rules.finish()
                    if rest:
                        yield GenerationEvent(delta=rest)
                on_end(rules)
                reason = "stop" if ended else event.finish_reason
                yield GenerationEvent(finish_reason=reason, usage=event.usage, notes=event.notes)

    return run
