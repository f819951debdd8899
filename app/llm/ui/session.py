"""The engine's one owner in the window: what runs, in which state, and how to reach it.

`EngineSession` owns the engine worker and its thread, the engine's state
(`EngineState`, emitted as the enum), the `EngineInfo` of the engine that is ready,
the target it loads (a local model's LoadOptions or a remote server), and the access to
it (address and key, which never leave this object: completion gets a client made here).
Everything that starts, stops or chooses an engine goes through it: the window's menus,
the chat's "Restart engine" buttons, the model manager's choice and the settings.

It watches the SettingsStore: a change to a field that only takes effect when the engine
starts again (config.validation's RESTART_FIELDS), or to the chosen remote engine's
record, restarts it; code that changes such a field on purpose and starts the engine
itself (`load_model`, `choose_engine`) does so without triggering that reaction.

The chat streams through here too (`start_chat`, `cancel_chat`, `count_tokens`), so the
session knows when a chat answer occupies the engine (`chatBusyChanged`), and the
worker's per-request signals are forwarded unchanged: dropping the stale ones is the
chat controller's business, since it knows which request it has moved past.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from app.config.ui.store import SettingsStore
from app.config.validation import RESTART_FIELDS
from app.llm.info import EngineAccess, EngineInfo, EngineState
from app.llm.targets import EngineTarget, GpuLayerPlanner, RemoteTarget, completion_client, remote_target
from app.llm.targets import supervisor_factory as make_supervisor_factory
from app.llm.ui.worker import EngineWorker, engine_log_path
from app.protocol.options import LoadOptions, SamplingParams, load_options_for

if TYPE_CHECKING:
    from app.llm.client import OpenAIClient
    from app.llm.stream import StreamStats

log = logging.getLogger(__name__)

REMOTE_RECORD_LABEL = "Remote engine address or model"
REMOTE_GONE_MESSAGE = "The chosen remote engine is gone from the settings; choose another in Model ▸ Engine"

__all__ = ["EngineSession", "EngineState"]


class EngineSession(QObject):
    stateChanged = Signal(object)  # EngineState
    loadStarted = Signal(str)  # the name of what loads (a model file's name, a remote's model)
    loaded = Signal(object)  # EngineInfo of the engine now ready
    loadFailed = Signal(str, str)  # message, detail (the engine log's tail)
    died = Signal(str, str)  # message, detail: the engine died while no answer streamed
    message = Signal(str)  # one line for the status bar (why the engine restarts, what is missing)
    chatBusyChanged = Signal(bool)  # a chat answer occupies the engine
    # The worker's chat stream, forwarded on the GUI thread.
    delta = Signal(int, str)  # request id, text
    note = Signal(int, str)  # request id, note
    finished = Signal(int, object)  # request id, StreamStats
    failed = Signal(int, str, bool)  # request id, message, the engine died
    tokensCounted = Signal(int, int)  # prompt tokens, context size (the newest count only)

    # Queued into the worker thread.
    _loadRequested = Signal(int, object)
    _chatRequested = Signal(int, object, object)
    _countRequested = Signal(int, object)
    _unloadRequested = Signal()
    _prefillRequested = Signal(object)

    def __init__(
        self,
        store: SettingsStore,
        plan_gpu_layers: GpuLayerPlanner,
        worker: EngineWorker | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.store = store
        self.worker = worker or EngineWorker.on_new_thread(
            make_supervisor_factory(store.settings, engine_log_path, plan_gpu_layers)
        )
        self.state = EngineState.NONE
        self.info: EngineInfo | None = None  # the ready engine's; None in every other state
        self.target: EngineTarget | None = None  # what the last load asked for (Restart loads it again)
        self._access: EngineAccess | None = None
        self._load_id = 0
        self._next_chat_id = 0
        self._chat_active: int | None = None
        self._count_id = 0
        self._completion_client: OpenAIClient | None = None
        self._completion_for: EngineInfo | None = None
        self._own_change = False  # the session itself is changing the settings
        self._restart_reasons: list[str] | None = None  # collected inside restart_once()
        w = self.worker
        self._loadRequested.connect(w.load_model)
        self._chatRequested.connect(w.start_chat)
        self._countRequested.connect(w.count_tokens)
        self._unloadRequested.connect(w.unload)
        self._prefillRequested.connect(w.prefill_chat)
        w.loaded.connect(self._on_loaded)
        w.loadFailed.connect(self._on_load_failed)
        w.loadCancelled.connect(self._on_load_cancelled)
        w.engineDied.connect(self._on_engine_died)
        w.delta.connect(self.delta)
        w.note.connect(self.note)
        w.waiting.connect(self._on_waiting)
        w.finished.connect(self._on_chat_finished)
        w.failed.connect(self._on_chat_failed)
        w.tokensCounted.connect(self._on_tokens_counted)
        store.changed.connect(self._on_settings_changed)

    # -- loading ---------------------------------------------------------------------------
    def load(self, target: EngineTarget) -> None:
        """Start an engine for `target` in the background, replacing any running one."""
        self._cancel_chat()
        self.worker.cancel_load(self._load_id)  # any load before this one
        self.target = target
        self._load_id += 1
        self._set_info(None, None)
        self._set_state(EngineState.LOADING)
        self.loadStarted.emit(os.path.basename(target.model_path))
        self._loadRequested.emit(self._load_id, target)

    def load_model(self, path: str) -> None:
        """Chat with the model file at `path`, on this computer; remembered in the settings."""
        with self._changing_settings():
            self.store.update(chat_model_path=path, active_engine="")
        self.load(load_options_for(self.store.settings, path))

    def choose_engine(self, engine_id: str) -> None:
        """Model ▸ Engine: chat with the local engine ("") or a remote one; remembered."""
        if engine_id == self.store.settings.active_engine:
            return
        with self._changing_settings():
            self.store.update(active_engine=engine_id)
        self.load_from_settings()

    def load_from_settings(self) -> bool:
        """Start (or connect to) the engine the settings choose now; False when they choose none."""
        settings = self.store.settings
        target = remote_target(settings)
        if target is not None:
            self.load(target)
            return True
        if settings.active_engine:
            self.unload()
            self.message.emit(REMOTE_GONE_MESSAGE)
            return False
        if settings.chat_model_path:
            self.load(load_options_for(settings))
            return True
        self.unload()
        return False

    def restart(self) -> bool:
        """Load what was loaded last, or what the settings choose; False when there is nothing."""
        if self.target is not None:
            self.load(self.target)
            return True
        return self.load_from_settings()

    def request_restart(self, reasons: Iterable[str]) -> None:
        """Restart (from the settings) for these reasons, or collect them inside `restart_once`."""
        reasons = [r for r in reasons if r]
        if not reasons:
            return
        if self._restart_reasons is not None:
            self._restart_reasons += [r for r in reasons if r not in self._restart_reasons]
            return
        self.message.emit("Restarting the engine for: " + ", ".join(reasons))
        self.load_from_settings()

    @contextlib.contextmanager
    def restart_once(self) -> Iterator[None]:
        """Restarts requested inside the block (settings changes included) become one, at its end."""
        outer, self._restart_reasons = self._restart_reasons, []
        try:
            yield
        finally:
            reasons, self._restart_reasons = self._restart_reasons, outer
        self.request_restart(reasons)

    def cancel_load(self) -> None:
        if self.state is EngineState.LOADING:
            self.worker.cancel_load(self._load_id)

    def unload(self) -> None:
        self._cancel_chat()
        self.worker.cancel_load(self._load_id)
        self._load_id += 1  # a load still finishing is stale now
        self._set_info(None, None)
        self._set_state(EngineState.NONE)
        self._unloadRequested.emit()

    def forget_model(self, path: str) -> None:
        """The model file at `path` is gone: unload it if it is what the engine runs."""
        if isinstance(self.target, LoadOptions) and self.target.model_path == path:
            self.target = None
            self.unload()

    def shutdown(self) -> None:
        """Stop the answer and the engine, and end the worker thread (the window closing)."""
        self._cancel_chat()
        self._set_info(None, None)
        self._close_completion_client()
        self.worker.shutdown()

    # -- what the engine offers --------------------------------------------------------------
    def has_model(self) -> bool:
        """Something to load: a target loaded before, or a model or remote in the settings."""
        settings = self.store.settings
        return self.target is not None or bool(settings.chat_model_path or settings.active_engine)

    def local_server_url(self) -> str | None:
        """Where the local engine serves other programs ("Serve the loaded model"), or None."""
        info = self.info
        if self.store.settings.local_server_enabled and info is not None and not info.is_remote and info.base_url:
            return info.base_url
        return None

    def completion_client(self) -> OpenAIClient | None:
        """A client of completion's own on the ready engine; None while a chat answer streams
        (the engine serves one request at a time), while no engine is ready, or where the
        engine takes no fill-in-the-middle."""
        info, access = self.info, self._access
        if self.state is not EngineState.READY or self._chat_active is not None or info is None or access is None:
            return None
        if self._completion_for is not info:
            self._close_completion_client()
            self._completion_for, self._completion_client = info, completion_client(info, access)
        return self._completion_client

    # -- chat --------------------------------------------------------------------------------
    def start_chat(self, messages: Sequence[dict[str, str]], params: SamplingParams) -> int:
        """Stream an answer to `messages`; returns the request id its signals carry."""
        self._next_chat_id += 1
        self._chat_active = self._next_chat_id
        self.chatBusyChanged.emit(True)
        self._chatRequested.emit(self._chat_active, list(messages), params)
        return self._chat_active

    def cancel_chat(self, request_id: int) -> None:
        """Stop that answer now (a direct call: the worker closes the stream it is reading)."""
        self.worker.cancel(request_id)
        if request_id == self._chat_active:
            self._chat_active = None
            self.chatBusyChanged.emit(False)

    def prefill_chat(self, messages: Sequence[dict[str, str]]) -> bool:
        """Let the local engine evaluate the start of the next chat prompt while nothing else
        runs (idle prefill); False when it can't now (no ready local engine, or busy)."""
        info = self.info
        if self.state is not EngineState.READY or info is None or info.is_remote or self.is_chat_busy():
            return False
        self._prefillRequested.emit(list(messages))
        return True

    def count_tokens(self, messages: Sequence[dict[str, str]]) -> None:
        """Count the prompt's tokens in the background; `tokensCounted` reports the newest."""
        self._count_id += 1
        self._countRequested.emit(self._count_id, list(messages))

    def is_chat_busy(self) -> bool:
        return self._chat_active is not None

    # -- worker signals ------------------------------------------------------------------------
    def _on_loaded(self, load_id: int, info: EngineInfo, access: EngineAccess) -> None:
        if load_id != self._load_id:
            return
        self._set_info(info, access)
        self._set_state(EngineState.READY)
        self.loaded.emit(info)

    def _on_load_failed(self, load_id: int, message: str, detail: str) -> None:
        if load_id == self._load_id:
            self._set_state(EngineState.FAILED)
            self.loadFailed.emit(message, detail)

    def _on_load_cancelled(self, load_id: int) -> None:
        if load_id == self._load_id:
            self._set_info(None, None)
            self._set_state(EngineState.NONE)

    def _on_engine_died(self, message: str, detail: str) -> None:
        if self.state is not EngineState.READY:
            return  # already reported with the answer it broke
        self._set_state(EngineState.DEAD)
        self.died.emit(message, detail)

    def _on_chat_finished(self, request_id: int, stats: StreamStats) -> None:
        self._chat_ended(request_id)
        self.finished.emit(request_id, stats)

    def _on_chat_failed(self, request_id: int, message: str, engine_dead: bool) -> None:
        was_active = request_id == self._chat_active
        self._chat_ended(request_id)
        self.failed.emit(request_id, message, engine_dead)  # the chat shows it before the state moves on
        if engine_dead and was_active and self.state is EngineState.READY:
            self._set_state(EngineState.DEAD)

    def _on_waiting(self, request_id: int, ahead: int) -> None:
        # Another client of "Serve the loaded model" holds the engine: say why nothing streams yet.
        if self.is_chat_busy() and ahead > 0:
            plural = "s" if ahead > 1 else ""
            self.message.emit(f"Another program is using the engine: this answer waits ({ahead} request{plural} ahead)")

    def _on_tokens_counted(self, count_id: int, tokens: int, n_ctx: int) -> None:
        if count_id == self._count_id:
            self.tokensCounted.emit(tokens, n_ctx)

    # -- settings ------------------------------------------------------------------------------
    def _on_settings_changed(self, names: frozenset[str]) -> None:
        if self._own_change:
            return
        reasons = [label for name, label in RESTART_FIELDS.items() if name in names]
        if "remote_engines" in names and self._remote_record_changed():
            reasons.append(REMOTE_RECORD_LABEL)
        self.request_restart(reasons)

    def _remote_record_changed(self) -> bool:
        settings = self.store.settings
        if not settings.active_engine or not isinstance(self.target, RemoteTarget):
            return False
        now = remote_target(settings)
        return now is None or now.remote != self.target.remote

    @contextlib.contextmanager
    def _changing_settings(self) -> Iterator[None]:
        self._own_change = True
        try:
            yield
        finally:
            self._own_change = False

    # -- internals -----------------------------------------------------------------------------
    def _set_state(self, state: EngineState) -> None:
        if state is not self.state:
            self.state = state
            self.stateChanged.emit(state)

    def _set_info(self, info: EngineInfo | None, access: EngineAccess | None) -> None:
        self.info, self._access = info, access
        # The completion client is made again for the next engine, even one reporting the
        # same info; the old one stays open until then (or shutdown): a support check may
        # still be using it on completion's thread.
        self._completion_for = None

    def _cancel_chat(self) -> None:
        if self._chat_active is not None:
            self.cancel_chat(self._chat_active)

    def _chat_ended(self, request_id: int) -> None:
        if request_id == self._chat_active:
            self._chat_active = None
            self.chatBusyChanged.emit(False)

    def _close_completion_client(self) -> None:
        client, self._completion_client, self._completion_for = self._completion_client, None, None
        if client is not None:
            client.close()
