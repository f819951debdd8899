"""The engine worker: one QObject per engine connection, living on its own named QThread.

It adapts the Qt-free engine (EngineSupervisor, OpenAIClient) to signals. Slots run on
the worker thread, so loading a model, streaming an answer and counting tokens never
block the window. Every request carries an id, and every signal names it, so the
controller can drop what belongs to a request it has moved past. Its one user is the
EngineSession (app/llm/ui/session.py), which owns it, its thread and what it reports: a
load ends in `loaded` with the EngineInfo (built by app/llm/info.py) and the
EngineAccess (address and key), which the session keeps to itself.

Two calls are made directly from the GUI thread rather than queued, because the worker
thread is busy (blocked in a load or in reading a stream) exactly when they matter:
`cancel(request_id)` cancels that request's CancelToken, which closes its socket at
once, and `cancel_load()` sets the load's threading.Event. Neither touches Qt.

No widget or Qt model is touched here; results leave only as signals.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QMetaObject, QObject, Qt, QThread, QTimer, Signal, Slot

from app.llm.info import EngineAccess, local_engine_info, remote_engine_info
from app.llm.supervisor import EngineSupervisor
from app.llm.targets import EngineTarget, RemoteTarget
from app.protocol.options import LoadOptions, SamplingParams
from app.utils import paths
from app.utils.errors import CancelledError, ClientError, DscoderError, EngineError
from app.utils.ui.worker_thread import start_worker_thread, stop_worker_thread

if TYPE_CHECKING:
    # The client pulls in httpx (~0.2 s of imports); the worker imports it on its own
    # thread when the first model loads, so the window paints without waiting for it.
    from app.llm.client import OpenAIClient
    from app.llm.stream import CancelToken

log = logging.getLogger(__name__)

THREAD_NAME = "engine-worker"
# Deltas are sent to the GUI thread at most this often; the chat view paints at ~30 Hz
# anyway, and one queued signal per token would flood the GUI thread's event queue.
DELTA_BATCH_S = 0.015
DEATH_POLL_MS = 500
# After a stream breaks, how long to wait for the engine process to be seen exiting
# before calling the failure a plain connection error.
DEATH_GRACE_S = 1.5

SupervisorFactory = Callable[[LoadOptions], EngineSupervisor]


def engine_log_path() -> Path:
    """Where the engine's own log (llama.cpp's output) goes."""
    return paths.log_dir() / "engine.log"


def _default_supervisor(options: LoadOptions) -> EngineSupervisor:
    return EngineSupervisor(options, log_path=engine_log_path())


class EngineWorkerSignals(QObject):
    """What an engine worker tells the GUI thread, declared once: EngineWorker emits these from
    its thread, and the tests' scripted worker (tests/helpers/fake_engine.py) inherits them too,
    so the two cannot drift apart."""

    loaded = Signal(int, object, object)  # load id, EngineInfo, EngineAccess (for the session only)
    loadFailed = Signal(int, str, str)  # load id, message, detail (the engine log's tail)
    loadCancelled = Signal(int)  # load id
    delta = Signal(int, str)  # request id, text (several tokens batched)
    note = Signal(int, str)  # request id, e.g. "2 oldest turns left out…"
    waiting = Signal(int, int)  # request id, requests ahead of it in the engine's queue
    finished = Signal(int, object)  # request id, StreamStats
    failed = Signal(int, str, bool)  # request id, message, the engine died
    tokensCounted = Signal(int, int, int)  # count id, prompt tokens, context size
    engineDied = Signal(str, str)  # message, detail; noticed while idle


class EngineWorker(EngineWorkerSignals):
    """Loads a model in an engine child process and streams chats from it."""

    def __init__(self, supervisor_factory: SupervisorFactory = _default_supervisor) -> None:
        super().__init__()
        self._make_supervisor = supervisor_factory
        self._supervisor: EngineSupervisor | None = None
        self._client: OpenAIClient | None = None
        self._lock = threading.Lock()  # guards the cancel handles shared with the GUI thread
        self._tokens: dict[int, CancelToken] = {}
        self._cancelled_early: set[int] = set()
        self._last_started = 0
        self._load_cancel: threading.Event | None = None
        self._loads_cancelled_through = 0  # load ids up to this one are cancelled
        self._death_reported = False
        self._death_timer = QTimer(self)  # a child: it moves to the worker thread with us
        self._death_timer.setInterval(DEATH_POLL_MS)
        self._death_timer.timeout.connect(self._check_death)
        self._thread: QThread | None = None
        self._closing = False  # set by shutdown: requests still queued are not started

    # -- thread ---------------------------------------------------------------------------
    @classmethod
    def on_new_thread(
        cls, supervisor_factory: SupervisorFactory = _default_supervisor, name: str = THREAD_NAME
    ) -> EngineWorker:
        """A worker moved to a started QThread named `name`."""
        worker = cls(supervisor_factory)
        worker._thread = start_worker_thread(worker, name)
        return worker

    def shutdown(self, timeout_ms: int = 10_000) -> None:
        """Stop everything and end the thread (GUI thread, direct call; idempotent)."""
        thread = self._thread
        if thread is None:
            return
        self._thread = None
        self._closing = True
        self.cancel_load()
        self.cancel_all()
        if thread.isRunning():
            # Runs the teardown on the worker thread and waits for it: the engine is
            # stopped and the timer killed by the thread that owns them.
            QMetaObject.invokeMethod(self, "_teardown", Qt.ConnectionType.BlockingQueuedConnection)
            stop_worker_thread(thread, timeout_ms)

    # -- direct calls from the GUI thread ----------------------------------------------------
    def cancel(self, request_id: int) -> None:
        """Cancel one chat request, at once, even while the worker reads its stream."""
        with self._lock:
            token = self._tokens.get(request_id)
            if token is None and request_id > self._last_started:
                self._cancelled_early.add(request_id)  # queued but not started yet
        if token is not None:
            token.cancel()

    def cancel_all(self) -> None:
        with self._lock:
            tokens = list(self._tokens.values())
        for token in tokens:
            token.cancel()

    def cancel_load(self, load_id: int | None = None) -> None:
        """Cancel the load in progress, and with `load_id` also those queued up to it."""
        with self._lock:
            if load_id is not None:
                self._loads_cancelled_through = max(self._loads_cancelled_through, load_id)
            event = self._load_cancel
        if event is not None:
            event.set()

    # -- slots (worker thread) --------------------------------------------------------------
    @Slot(int, object)
    def load_model(self, load_id: int, target: EngineTarget) -> None:
        self._stop_engine()
        if self._closing:
            return
        cancel = threading.Event()
        with self._lock:
            cancelled_already = load_id <= self._loads_cancelled_through
            self._load_cancel = None if cancelled_already else cancel
        if cancelled_already:  # cancelled while it waited in the queue
            self.loadCancelled.emit(load_id)
            return
        if isinstance(target, RemoteTarget):
            self._connect_remote(load_id, target, cancel)
            return
        supervisor: EngineSupervisor | None = None
        try:
            # Making the supervisor plans GPU layers and checks the load against the memory
            # free now: a load that would not fit is refused here, with the loads that would.
            supervisor = self._make_supervisor(target)
            endpoint = supervisor.start(cancel)
        except CancelledError:
            self.loadCancelled.emit(load_id)
            return
        except DscoderError as error:
            self.loadFailed.emit(load_id, str(error), error.detail)
            return
        except Exception as exc:  # a bug, not a user error: say so instead of hanging
            log.exception("loading %s failed", target.model_path)
            if supervisor is not None:
                supervisor.stop()
            self.loadFailed.emit(load_id, f"Loading the model failed unexpectedly ({exc}). Try again.", "")
            return
        finally:
            with self._lock:
                self._load_cancel = None
        if cancel.is_set():  # cancelled after the engine became ready
            supervisor.stop()
            self.loadCancelled.emit(load_id)
            return
        from app.llm.client import OpenAIClient

        self._supervisor = supervisor
        self._client = OpenAIClient(endpoint.base_url, endpoint.api_key)
        info = local_engine_info(
            endpoint.info, pid=endpoint.pid, base_url=endpoint.base_url, model_path=target.model_path
        )
        self._death_reported = False
        self._death_timer.start()
        self.loaded.emit(load_id, info, EngineAccess(endpoint.base_url, endpoint.api_key))

    def _connect_remote(self, load_id: int, target: RemoteTarget, cancel: threading.Event) -> None:
        """A remote engine "loads" by answering a probe: its key, its model, how it does FIM."""
        from app.llm.remote_probe import client_for, probe_remote

        result = probe_remote(target.remote, target.api_key)
        with self._lock:
            self._load_cancel = None
            cancelled = cancel.is_set() or load_id <= self._loads_cancelled_through
        if cancelled:
            self.loadCancelled.emit(load_id)
            return
        if not result.ok:
            self.loadFailed.emit(load_id, f"Could not use the engine {target.remote.name}: {result.message}", "")
            return
        self._client = client_for(target.remote, target.api_key)
        model = target.remote.model or (result.models[0] if len(result.models) == 1 else "")
        base_url = self._client.base_url
        info = remote_engine_info(target.remote, model, result.fim, base_url)
        self.loaded.emit(load_id, info, EngineAccess(base_url, target.api_key, target.remote.model or None))

    @Slot()
    def unload(self) -> None:
        self._stop_engine()

    @Slot(int, object, object)
    def start_chat(self, request_id: int, messages: Sequence[dict[str, str]], params: SamplingParams) -> None:
        with self._lock:
            self._last_started = max(self._last_started, request_id)
            if self._closing or request_id in self._cancelled_early:
                self._cancelled_early.discard(request_id)
                return
            self._cancelled_early = {rid for rid in self._cancelled_early if rid > request_id}
            from app.llm.stream import CancelToken

            token = CancelToken()
            self._tokens[request_id] = token
        try:
            self._stream(request_id, messages, params, token)
        finally:
            with self._lock:
                self._tokens.pop(request_id, None)

    @Slot(int, object)
    def count_tokens(self, count_id: int, messages: Sequence[dict[str, str]]) -> None:
        client = self._client
        if client is None or self._closing:
            return
        try:
            tokens, n_ctx = client.count_chat_tokens(messages)
        except DscoderError as error:  # the meter is a convenience; the next send reports failures
            log.debug("counting tokens failed: %s", error)
            return
        self.tokensCounted.emit(count_id, tokens, n_ctx)

    @Slot(object)
    def prefill_chat(self, messages: Sequence[dict[str, str]]) -> None:
        """Ask the local engine to evaluate the next chat prompt's start while it is idle."""
        client = self._client
        if client is None or self._closing or self._supervisor is None:  # a remote has no prefill
            return
        try:
            tokens = client.prefill_chat(messages)
        except DscoderError as error:  # a convenience: the next question just evaluates it all
            log.debug("idle prefill refused: %s", error)
            return
        log.debug("idle prefill scheduled: %d tokens", tokens)

    @Slot()
    def _teardown(self) -> None:
        self._stop_engine()
        # Back to the GUI thread, so the object can be deleted there once the thread ends.
        app = QCoreApplication.instance()
        if app is not None:
            self.moveToThread(app.thread())

    # -- internals ------------------------------------------------------------------------
    def _stream(
        self, request_id: int, messages: Sequence[dict[str, str]], params: SamplingParams, token: CancelToken
    ) -> None:
        from app.llm.stream import StreamStats

        client = self._client
        if client is None:
            self.failed.emit(request_id, "No model is loaded. Open a model file to chat.", False)
            return
        pending: list[str] = []
        last_sent = 0.0
        stats = StreamStats()

        def flush() -> None:
            nonlocal last_sent
            if pending:
                self.delta.emit(request_id, "".join(pending))
                pending.clear()
            last_sent = time.monotonic()

        try:
            for event in client.stream_chat(messages, params, token):
                if event.text:
                    pending.append(event.text)
                    if time.monotonic() - last_sent >= DELTA_BATCH_S:
                        flush()
                if event.note:
                    flush()
                    self.note.emit(request_id, event.note)
                if event.waiting is not None:
                    self.waiting.emit(request_id, event.waiting)
                if event.stats is not None:
                    stats = event.stats
            flush()
            self.finished.emit(request_id, stats)
        except ClientError as error:
            flush()
            if token.cancelled:
                stats.finish_reason = "cancelled"
                self.finished.emit(request_id, stats)
                return
            death = self._death_after_failure() if error.status is None else None
            if death is not None:
                self._death_reported = True
                self._death_timer.stop()
                self.failed.emit(request_id, str(death), True)
                self.engineDied.emit(str(death), death.detail)
            else:
                self.failed.emit(request_id, str(error), False)
        except Exception as exc:
            log.exception("streaming request %d failed", request_id)
            flush()
            self.failed.emit(request_id, f"The answer failed unexpectedly ({exc}). Try again.", False)

    def _death_after_failure(self) -> EngineError | None:
        """Why the engine died, when a broken stream was its death; None if it still runs."""
        supervisor = self._supervisor
        if supervisor is None:
            return None
        deadline = time.monotonic() + DEATH_GRACE_S
        while True:
            death = supervisor.death()
            if death is not None or time.monotonic() > deadline:
                return death
            time.sleep(0.05)

    @Slot()
    def _check_death(self) -> None:
        supervisor = self._supervisor
        if supervisor is None or self._death_reported:
            self._death_timer.stop()
            return
        death = supervisor.death()
        if death is not None:
            self._death_reported = True
            self._death_timer.stop()
            self.engineDied.emit(str(death), death.detail)

    def _stop_engine(self) -> None:
        self._death_timer.stop()
        client, self._client = self._client, None
        supervisor, self._supervisor = self._supervisor, None
        if client is not None:
            client.close()
        if supervisor is not None:
            supervisor.stop()
