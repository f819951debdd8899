"""Inline completion in the editor: ghost text after a pause in typing, or on Ctrl+Space.

`CompletionService` is the one object a window makes: it owns the worker thread, knows
whether the loaded model can complete, keeps the status indicator, and gives every
editor an `InlineCompletion`, which watches that editor's keys and edits. It follows
the engine session (`follow`: a new engine, an answer that occupies it) and the settings
store (switched on or off, per language, the delay) by itself.

Keys while a suggestion shows: Tab accepts it all (one undo step), Ctrl+Right accepts
the next word, Esc dismisses it; typing the suggestion's next character consumes it,
any other edit or caret move dismisses it. A newer request cancels the one before it
in the engine, and a result that comes back for an older request, or for a document
or caret that has changed since, is dropped.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, Signal
from PySide6.QtGui import QGuiApplication

from app.completion.debounce import AdaptiveDebounce
from app.completion.fim_window import OpenFile, build_completion_prompt, max_tokens_for
from app.completion.ring import RingBuffer, ring_prefix
from app.completion.support import NO_MODEL, CompletionSupport, language_enabled
from app.completion.ui.inline import InlineCompletion, clean_suggestion
from app.completion.ui.status import CompletionState, CompletionStatus
from app.completion.ui.worker import CompletionJob, CompletionResult, CompletionThread
from app.config.ui.store import SettingsStore
from app.editor.ui.code_editor import CodeEditor
from app.editor.ui.tabs import EditorTabs
from app.llm.info import FIM_OFF, EngineState
from app.llm.ui.session import EngineSession
from app.protocol.options import SamplingParams

if TYPE_CHECKING:  # httpx comes with the client: the engine session makes it when a model is ready
    from app.llm.client import OpenAIClient

__all__ = ["CompletionService", "InlineCompletion", "clean_suggestion"]

ClientProvider = Callable[[], "OpenAIClient | None"]
SETTINGS_FIELDS = frozenset({"completion_enabled", "completion_disabled_languages", "completion_delay_ms"})


class CompletionService(QObject):
    """Inline completion for a window: one worker thread, one status indicator, one
    InlineCompletion per editor. `client_provider()` returns the engine's client, or
    None while no model is loaded; `follow(session)` makes that the engine session's and
    checks again whenever its engine changes (tests call `engine_changed()` themselves)."""

    supportChanged = Signal(object)  # CompletionSupport

    def __init__(
        self, client_provider: ClientProvider, store: SettingsStore | None = None, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.client_provider = client_provider
        self.store = store if store is not None else SettingsStore()
        self.settings = self.store.settings
        self.store.changed.connect(self._on_settings_changed)
        self._engine: EngineSession | None = None
        self.debounce = AdaptiveDebounce(self.settings.completion_delay_ms)
        self.auto_trigger = True
        self.support: CompletionSupport | None = None  # None: not checked yet for this client
        self._support_client: OpenAIClient | None = None
        self._next_id = 0
        # Per editor (by id, forgotten when the editor is destroyed): its InlineCompletion.
        self._controllers: weakref.WeakValueDictionary[int, InlineCompletion] = weakref.WeakValueDictionary()
        self._owner_of: dict[int, InlineCompletion] = {}
        self._active: InlineCompletion | None = None
        self._tabs: EditorTabs | None = None
        self._texts: dict[int, tuple[int, str]] = {}
        # Chunks of files opened, edited or copied from: completion sees the rest of the project.
        self.ring = RingBuffer()
        self._ring_editor: CodeEditor | None = None
        clipboard = QGuiApplication.clipboard() if QGuiApplication.instance() is not None else None
        if clipboard is not None:
            clipboard.dataChanged.connect(self._on_copied)
        self.indicator = CompletionStatus()
        self.indicator.enabledToggled.connect(self.set_enabled)
        self.indicator.languageToggled.connect(self.set_language_enabled)
        self.runner = CompletionThread(self)
        self.runner.worker.finished.connect(self._on_finished)
        self.runner.worker.partial.connect(self._on_partial)
        self.runner.worker.supportChecked.connect(self._on_support)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)
        self.engine_changed()

    # --- editors --------------------------------------------------------------------

    def attach(self, editor: CodeEditor) -> InlineCompletion:
        """The editor's InlineCompletion, made on first use."""
        key = id(editor)
        existing = self._controllers.get(key)
        if existing is not None and shiboken6.isValid(existing) and existing.editor is editor:
            return existing
        controller = InlineCompletion(editor, self)
        self._controllers[key] = controller
        if editor.path:
            self.ring.add_file(editor.path, editor.text(), editor.language)
        editor.loadFinished.connect(
            lambda e=editor: self.ring.add_file(e.path, e.text(), e.language) if e.path else None
        )
        editor.destroyed.connect(lambda *_: self._forget(key))
        controller.stateChanged.connect(lambda _state, c=controller: self._on_controller_state(c))
        editor.languageChanged.connect(lambda _lang, c=controller: self._on_controller_state(c))
        self._active = self._active or controller
        return controller

    def inline_for(self, editor: CodeEditor) -> InlineCompletion | None:
        """The editor's InlineCompletion, or None when it has none yet."""
        controller = self._controllers.get(id(editor))
        return controller if controller is not None and controller.editor is editor else None

    def _forget(self, editor_key: int) -> None:
        controller = self._controllers.pop(editor_key, None)
        for request_id, owner in list(self._owner_of.items()):
            if owner is controller:
                del self._owner_of[request_id]
        if self._active is not None and self._active is controller:
            self._active = None

    def watch_tabs(self, tabs: EditorTabs) -> None:
        """Attach to every editor of an EditorTabs, now and as tabs open."""
        self._tabs = tabs
        for editor in tabs.editors():
            self.attach(editor)
        tabs.currentEditorChanged.connect(self._on_current_editor)
        self._on_current_editor(tabs.current_editor())

    def controllers(self) -> list[InlineCompletion]:
        return [c for c in self._controllers.values() if shiboken6.isValid(c)]

    def _on_current_editor(self, editor: CodeEditor | None) -> None:
        self._note_edits(self._ring_editor)
        self._ring_editor = editor
        if self._active is not None and (editor is None or self._active.editor is not editor):
            self._active.dismiss()
        self._active = self.attach(editor) if editor is not None else None
        self._refresh_indicator()

    def _on_controller_state(self, controller: InlineCompletion) -> None:
        if self._tabs is None:
            self._active = controller
        if controller is self._active:
            self._refresh_indicator()

    # --- settings and support -------------------------------------------------------

    def allowed_for(self, editor: CodeEditor) -> bool:
        if not self.settings.completion_enabled:
            return False
        if not language_enabled(editor.language, self.settings.completion_disabled_languages):
            return False
        return self.support is None or self.support.enabled

    def set_enabled(self, on: bool) -> None:
        self.store.update(completion_enabled=on)

    def set_language_enabled(self, language_id: str, on: bool) -> None:
        disabled = [lang for lang in self.settings.completion_disabled_languages if lang != language_id]
        if not on:
            disabled.append(language_id)
        self.store.update(completion_disabled_languages=disabled)

    def _on_settings_changed(self, names: frozenset[str]) -> None:
        if "completion_model_path" in names:
            self._on_engine_changed()  # the loaded engine still completes: check it again
        if not names & SETTINGS_FIELDS:
            return
        self.debounce.set_base_ms(self.settings.completion_delay_ms)
        for controller in self.controllers():
            if not self.allowed_for(controller.editor):
                controller.dismiss()
        self._refresh_indicator()

    # --- the engine -----------------------------------------------------------------

    def follow(self, engine: EngineSession) -> None:
        """Complete with the session's engine, and check it again whenever it changes."""
        self._engine = engine
        self.client_provider = engine.completion_client
        engine.stateChanged.connect(lambda _state: self._on_engine_changed())
        engine.chatBusyChanged.connect(self._on_chat_busy)
        self._on_engine_changed()

    def _on_engine_changed(self) -> None:
        engine = self._engine
        info = engine.info if engine is not None else None
        if engine is not None and engine.state is EngineState.READY and info is not None and info.fim_mode == FIM_OFF:
            self.engine_changed(CompletionSupport(False, reason=info.fim_reason))  # say why, not "no model"
        else:
            self.engine_changed()

    def _on_chat_busy(self, busy: bool) -> None:
        if not busy and self._engine is not None and self._engine.state is EngineState.READY:
            self._on_engine_changed()  # completion was paused for the answer

    def engine_changed(self, known: CompletionSupport | None = None) -> None:
        """The engine or its model changed (loaded, unloaded, remote): check it again, or
        take `known` (a remote that said it takes no fill-in-the-middle)."""
        for controller in self.controllers():
            controller.dismiss()
        self.support, self._support_client = None, None
        client = self.client_provider()
        if known is not None:
            self.support = known
        elif client is None:
            self.support = NO_MODEL
        else:
            self._next_id += 1
            self._support_client = client
            self.runner.submit(CompletionJob(self._next_id, client, None, check_support=True))
        self._refresh_indicator()

    def _on_support(self, client: object, support: CompletionSupport) -> None:
        if client is self._support_client:
            self.support = support
            self.supportChanged.emit(support)
            if not support.enabled:
                for controller in self.controllers():
                    controller.dismiss()
            self._refresh_indicator()

    def _refresh_indicator(self) -> None:
        indicator = self.indicator
        controller = self._active
        language = controller.editor.language if controller is not None else "text"
        indicator.globally_enabled = self.settings.completion_enabled
        indicator.set_language(language, language_enabled(language, self.settings.completion_disabled_languages))
        support = self.support
        if support is not None and not support.enabled:
            indicator.set_state(CompletionState.UNAVAILABLE, support.reason)
        elif not self.settings.completion_enabled:
            indicator.set_state(CompletionState.OFF, "Inline completion is switched off")
        elif not indicator.language_enabled:
            indicator.set_state(CompletionState.OFF, f"Inline completion is switched off for {language}")
        else:
            state = controller.state if controller is not None else CompletionState.IDLE
            label = support.label if support is not None else ""
            indicator.set_state(state, support.reason if support is not None and support.label else "", label)

    # --- requests -------------------------------------------------------------------

    def open_files(self, exclude: InlineCompletion) -> list[OpenFile]:
        editors: Iterable[CodeEditor]
        editors = self._tabs.editors() if self._tabs is not None else [c.editor for c in self.controllers()]
        files = []
        for editor in editors:
            if editor is exclude.editor:
                continue
            controller = self._controllers.get(id(editor))
            version = controller.version if controller is not None else -1
            cached = self._texts.get(id(editor))
            if cached is None or cached[0] != version or version < 0:
                cached = (version, editor.text())
                self._texts[id(editor)] = cached
            last_edit = controller.last_edit if controller is not None else 0.0
            files.append(OpenFile(editor.path or "", cached[1], editor.language, last_edit))
        return files

    def submit_for(self, controller: InlineCompletion) -> CompletionJob | None:
        client = self.client_provider()
        if client is None:
            if self.support is not NO_MODEL:
                self.support = NO_MODEL
                self._refresh_indicator()
            return None
        check = client is not self._support_client or self.support is None
        if client is not self._support_client:
            self._support_client, self.support = client, None
        editor = controller.editor
        self.ring.commit_if_due(time.monotonic())
        repository = ring_prefix(self.ring.chunks(), editor.path or "")
        prompt = build_completion_prompt(
            editor.text(),
            editor.cursor_offset(),
            path=editor.path or "",
            language=editor.language,
            other_files=[f for f in self.open_files(controller) if f.path not in repository.paths],
            repository_prefix=repository.text,
            repository_paths=repository.paths,
        )
        self._next_id += 1
        job = CompletionJob(
            self._next_id,
            client,
            prompt,
            editor.language,
            SamplingParams(max_tokens=max_tokens_for(prompt)),
            check_support=check,
        )
        self._owner_of[job.request_id] = controller
        self.runner.submit(job)
        return job

    def _on_partial(self, request_id: int, middle: str) -> None:
        controller = self._owner_of.get(request_id)
        if controller is not None and shiboken6.isValid(controller):
            controller.on_partial(request_id, middle)

    # --- the ring buffer's sources ----------------------------------------------------

    def _note_edits(self, editor: CodeEditor | None) -> None:
        """The part of a file the user edited, when they leave it for another tab."""
        if editor is None or not shiboken6.isValid(editor) or not editor.path:
            return
        controller = self._controllers.get(id(editor))
        if controller is not None and controller.last_edit:
            line = editor.sci.lineFromPosition(editor.sci.currentPos())
            self.ring.add_around(editor.path, editor.text(), line, editor.language)

    def _on_copied(self) -> None:
        editor = self._active.editor if self._active is not None else None
        if editor is None or not shiboken6.isValid(editor) or not editor.path:
            return
        copied = editor.selected_text()
        if copied.strip():
            self.ring.add_text(editor.path, copied, editor.language)

    def _on_finished(self, result: CompletionResult) -> None:
        controller = self._owner_of.pop(result.request_id, None)
        if result.stats is not None and not (result.error or result.cancelled):
            self.debounce.note_latency(result.latency_s)
            self.indicator.set_timing(result.first_text_s, result.latency_s)
        if controller is not None and shiboken6.isValid(controller):
            controller.on_result(result)

    def shutdown(self) -> None:
        """Cancel what is in flight and stop the worker thread (call before the app quits)."""
        for controller in self.controllers():
            controller._timer.stop()
        self.runner.stop()
