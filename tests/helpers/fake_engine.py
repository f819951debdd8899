"""A scripted stand-in for the engine worker, like simonw/llm's MockModel.

`ScriptedEngineWorker` inherits the real EngineWorker's signals (EngineWorkerSignals), has
its slots and direct calls (tests/gui/test_scripted_worker_conformance.py checks both), and
lives on the GUI thread. A test scripts what the engine does: how loads end
(`script_load`), what each chat request streams (`script_answer`: deltas, notes, then
finished, a failure or the engine's death, or holding the stream open until Stop), and an
idle death (`die`). Every reply is played from the event loop, one step per turn, as
queued signals from a real worker would arrive, so the session and the chat controller
are tested end to end without an engine process.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import QTimer, Slot

from app.llm.info import EngineAccess, EngineInfo
from app.llm.stream import StreamStats
from app.llm.targets import EngineTarget
from app.llm.ui.worker import EngineWorkerSignals
from app.protocol.options import SamplingParams

TINY_INFO = EngineInfo(model_name="scripted-model", model_path="/models/scripted.gguf", n_ctx=4096, pid=4242)


@dataclass
class ScriptedAnswer:
    """What one chat request streams, in order; then how it ends."""

    deltas: Sequence[str] = ("Hello", ", world")
    notes: Sequence[str] = ()
    fail: str | None = None  # ends with failed(rid, fail, engine_dead=False)
    die: str | None = None  # ends with the engine's death: failed(rid, die, True), then engineDied
    hold: bool = False  # after the deltas the stream stays open until cancelled (Stop)
    finish_reason: str = "stop"


@dataclass
class ScriptedLoad:
    info: EngineInfo | None = TINY_INFO  # None: the load fails with `error`
    error: str = "The model file is broken"
    detail: str = "llama.cpp: invalid magic characters"
    hold: bool = False  # the load waits until cancelled (or released with `finish_held_load`)


@dataclass
class ChatRequest:
    request_id: int
    messages: list[dict[str, str]]
    params: SamplingParams
    cancelled: bool = False


class ScriptedEngineWorker(EngineWorkerSignals):
    def __init__(self) -> None:
        super().__init__()
        self.loads: deque[ScriptedLoad] = deque()
        self.answers: deque[ScriptedAnswer] = deque()
        self.requests: list[ChatRequest] = []
        self.load_targets: list[EngineTarget] = []
        self.unloads = 0
        self.prefills: list[list[dict[str, str]]] = []
        self.shut_down = False
        self._info: EngineInfo | None = None
        self._held_load: int | None = None
        self._held_chat: int | None = None
        self._play: deque[Callable[[], None]] = deque()
        self._timer = QTimer(self)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._step)

    # -- scripting -------------------------------------------------------------------------
    def script_load(self, load: ScriptedLoad | None = None) -> None:
        self.loads.append(load or ScriptedLoad())

    def script_answer(self, answer: ScriptedAnswer | None = None) -> None:
        self.answers.append(answer or ScriptedAnswer())

    def die(self, message: str = "The engine stopped (killed by signal SIGKILL)", detail: str = "") -> None:
        """The engine process dies while idle (the real worker's watcher notices it)."""
        self._later(lambda: self.engineDied.emit(message, detail))

    def finish_held_load(self) -> None:
        load_id, self._held_load = self._held_load, None
        if load_id is not None:
            self._later(lambda: self._loaded(load_id, TINY_INFO))

    # -- the EngineWorker interface ------------------------------------------------------------
    @Slot(int, object)
    def load_model(self, load_id: int, target: EngineTarget) -> None:
        self.load_targets.append(target)
        load = self.loads.popleft() if self.loads else ScriptedLoad()
        if load.hold:
            self._held_load = load_id
        elif load.info is not None:
            info = load.info
            self._later(lambda: self._loaded(load_id, info))
        else:
            self._later(lambda: self.loadFailed.emit(load_id, load.error, load.detail))

    @Slot(int, object, object)
    def start_chat(self, request_id: int, messages: Sequence[dict[str, str]], params: SamplingParams) -> None:
        request = ChatRequest(request_id, list(messages), params)
        self.requests.append(request)
        answer = self.answers.popleft() if self.answers else ScriptedAnswer()
        for text in answer.deltas:
            self._later(lambda text=text: None if request.cancelled else self.delta.emit(request_id, text))
        for note in answer.notes:
            self._later(lambda note=note: None if request.cancelled else self.note.emit(request_id, note))
        self._later(lambda: self._end(request, answer))

    @Slot(object)
    def prefill_chat(self, messages: Sequence[dict[str, str]]) -> None:
        self.prefills.append(list(messages))

    @Slot(int, object)
    def count_tokens(self, count_id: int, messages: Sequence[dict[str, str]]) -> None:
        tokens = sum(len(m["content"]) for m in messages) // 4 + 3 * len(messages)
        n_ctx = self._info.n_ctx if self._info is not None else 0
        self._later(lambda: self.tokensCounted.emit(count_id, tokens, n_ctx))

    @Slot()
    def unload(self) -> None:
        self.unloads += 1
        self._info = None

    def cancel(self, request_id: int) -> None:
        for request in self.requests:
            if request.request_id == request_id and not request.cancelled:
                request.cancelled = True
                if self._held_chat == request_id:
                    self._held_chat = None
                # As the real worker: a cancelled stream ends as finished, "cancelled".
                self._later(lambda: self.finished.emit(request_id, StreamStats(finish_reason="cancelled")))

    def cancel_all(self) -> None:
        for request in self.requests:
            self.cancel(request.request_id)

    def cancel_load(self, load_id: int | None = None) -> None:
        held, self._held_load = self._held_load, None
        if held is not None:
            self._later(lambda: self.loadCancelled.emit(held))

    def shutdown(self, timeout_ms: int = 0) -> None:
        self.shut_down = True
        self.cancel_all()
        self._timer.stop()

    # -- internals -------------------------------------------------------------------------------
    def _loaded(self, load_id: int, info: EngineInfo) -> None:
        self._info = info
        self.loaded.emit(load_id, info, EngineAccess("http://127.0.0.1:9/v1", "scripted-key"))

    def _end(self, request: ChatRequest, answer: ScriptedAnswer) -> None:
        rid = request.request_id
        if request.cancelled:
            return
        if answer.hold:
            self._held_chat = rid
            return
        if answer.die is not None:
            self.failed.emit(rid, answer.die, True)
            self.engineDied.emit(answer.die, "engine.log: the end")
        elif answer.fail is not None:
            self.failed.emit(rid, answer.fail, False)
        else:
            text = "".join(answer.deltas)
            stats = StreamStats(
                prompt_tokens=10, completion_tokens=len(text.split()), finish_reason=answer.finish_reason
            )
            self.finished.emit(rid, stats)

    def _later(self, step: Callable[[], None]) -> None:
        self._play.append(step)
        if not self.shut_down:
            self._timer.start()

    def _step(self) -> None:
        if not self._play:
            self._timer.stop()
            return
        self._play.popleft()()
