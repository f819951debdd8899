"""The per-editor half of inline completion: keys, edits, the request's lifetime and the
ghost text of one CodeEditor. CompletionService (app/completion/ui/service.py) makes one per
editor and runs the requests.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Protocol

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from pyside6_scintilla import Scintilla

from app.completion.debounce import AdaptiveDebounce
from app.completion.ui.ghost_text import GhostText
from app.completion.ui.status import CompletionState
from app.completion.ui.worker import CompletionJob, CompletionResult
from app.editor.ui.code_editor import CodeEditor

S = Scintilla
_TEXT_CHANGE = int(S.ModificationFlags.InsertText) | int(S.ModificationFlags.DeleteText)
_UNDO_REDO = int(S.ModificationFlags.Undo) | int(S.ModificationFlags.Redo)
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NEXT_WORD = re.compile(r"\s*\w+|\s*[^\w\s]+|\s+")


class CompletionHost(Protocol):
    """What an InlineCompletion asks of the service that made it (CompletionService)."""

    debounce: AdaptiveDebounce
    auto_trigger: bool

    def allowed_for(self, editor: CodeEditor) -> bool: ...
    def submit_for(self, controller: InlineCompletion) -> CompletionJob | None: ...


def clean_suggestion(middle: str, end_of_line: bool = True) -> str:
    """LF line breaks and no control characters (a NUL would cut Scintilla's text short).
    At the end of a line, trailing blanks are dropped; mid-line they may separate the
    suggestion from the rest of the line, so they stay."""
    text = _CONTROL_CHARS.sub("", middle.replace("\r\n", "\n").replace("\r", "\n"))
    return text.rstrip() if end_of_line else text.rstrip("\n")


class InlineCompletion(QObject):
    """Ghost-text completion for one CodeEditor. Made by CompletionService.attach()."""

    stateChanged = Signal(object)  # CompletionState
    suggestionShown = Signal(str)
    requestSent = Signal(int)  # request id

    def __init__(self, editor: CodeEditor, service: CompletionHost) -> None:
        super().__init__(editor)
        self.editor = editor
        self.service = service
        self.sci = editor.sci
        self.ghost = GhostText(editor.sci)
        self.state = CompletionState.IDLE
        self.version = 0  # counts text changes; a result for an older version is stale
        self.last_edit = 0.0
        self._pending: CompletionJob | None = None
        self._pending_version = -1
        self._pending_anchor = -1
        self._consuming: str | None = None
        self._applying = False
        self._key_in_progress = False
        self._edit_caret = -1
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.request_now)
        self.sci.installEventFilter(self)
        self.sci.modified.connect(self._on_modified)
        self.sci.updateUi.connect(self._on_update_ui)

    # --- public ---------------------------------------------------------------------

    @property
    def suggestion(self) -> str:
        return self.ghost.text if self.ghost.shown else ""

    def request_now(self) -> None:
        """Ask for a suggestion at the caret now (what the pause or Ctrl+Space does)."""
        self._timer.stop()
        if not self.service.allowed_for(self.editor) or self.editor.is_loading():
            return
        if self.sci.selections() > 1 or not self.sci.selectionEmpty() or self.sci.readOnly():
            return
        self.dismiss()
        job = self.service.submit_for(self)
        if job is None:
            return
        self._pending = job
        self._pending_version = self.version
        self._pending_anchor = self.sci.currentPos()
        self._set_state(CompletionState.THINKING)
        self.requestSent.emit(job.request_id)

    def dismiss(self) -> None:
        """Hide the suggestion and cancel a request in flight."""
        self._timer.stop()
        if self._pending is not None:
            self._pending.supersede()
            self._pending = None
        self._consuming = None
        self.ghost.clear()
        self._set_state(CompletionState.IDLE)

    def accept_all(self) -> bool:
        return self._accept(self.suggestion)

    def accept_word(self) -> bool:
        match = _NEXT_WORD.match(self.suggestion)
        return self._accept(match.group(0)) if match else False

    # --- internals ------------------------------------------------------------------

    def _set_state(self, state: CompletionState) -> None:
        if state != self.state:
            self.state = state
            self.stateChanged.emit(state)

    def _stop_streaming(self) -> None:
        """Keep the suggestion as shown and stop the request that is still writing it."""
        if self._pending is not None:
            self._pending.supersede()
            self._pending = None

    def _accept(self, part: str) -> bool:
        if not part or not self.ghost.shown:
            return False
        self._stop_streaming()
        rest = self.ghost.text[len(part) :]
        self.ghost.clear()
        self._applying = True
        self.sci.beginUndoAction()
        try:
            self.editor.insert_at_cursor(part)
        finally:
            self.sci.endUndoAction()
            self._applying = False
        self._edit_caret = self.sci.currentPos()
        if rest:
            self.ghost.show(self.sci.currentPos(), rest)
            self._set_state(CompletionState.SHOWN)
        else:
            self._set_state(CompletionState.IDLE)
        return True

    def _showable(self, job: CompletionJob, middle: str) -> str:
        """The suggestion to show for `middle` of the pending request, or "" when it can't be."""
        stale = self.version != self._pending_version or self.sci.currentPos() != self._pending_anchor
        text = clean_suggestion(middle, job.prompt.multiline if job.prompt is not None else True)
        if stale or not text.strip() or not self.sci.selectionEmpty():
            return ""
        return text

    def on_partial(self, request_id: int, middle: str) -> None:
        """The pending request's suggestion so far: show it while the rest is written."""
        job = self._pending
        if job is None or request_id != job.request_id:
            return
        text = self._showable(job, middle)
        if text and text != self.ghost.text:
            self.ghost.show(self._pending_anchor, text)
            self._set_state(CompletionState.SHOWN)

    def on_result(self, result: CompletionResult) -> None:
        job = self._pending
        if job is None or result.request_id != job.request_id:
            return  # superseded: a newer request (or none) is what counts now
        self._pending = None
        text = "" if result.error or result.skipped or result.cancelled else self._showable(job, result.middle)
        if not text:
            self.ghost.clear()
            self._set_state(CompletionState.IDLE)
            return
        if text != self.ghost.text:
            self.ghost.show(self._pending_anchor, text)
        self._set_state(CompletionState.SHOWN)
        self.suggestionShown.emit(text)

    def _on_modified(self, kind: int, position: int, length: int, _lines: int, text: object, *_rest: object) -> None:
        if not kind & _TEXT_CHANGE:
            return
        self.version += 1
        self.last_edit = time.monotonic()
        if self._applying:
            return
        consuming, self._consuming = self._consuming, None
        if (
            consuming is not None
            and kind & int(S.ModificationFlags.InsertText)
            and self.ghost.shown
            and position == self.ghost.anchor
            and bytes(text).decode("utf-8", "replace") == consuming  # type: ignore[call-overload]
        ):
            rest = self.ghost.text[len(consuming) :]
            if rest.strip():
                self._stop_streaming()  # what is shown is the suggestion now
                self.ghost.show(position + length, rest)
                self._edit_caret = position + length
                return
        self.dismiss()
        if self._key_in_progress and not kind & _UNDO_REDO:
            self.service.debounce.note_keystroke(time.monotonic())
            self._edit_caret = position + length if kind & int(S.ModificationFlags.InsertText) else position
            if self.service.auto_trigger and self.service.allowed_for(self.editor):
                self._timer.start(self.service.debounce.delay_ms())

    def _on_update_ui(self, updated: int) -> None:
        if not updated & int(S.Update.Selection) or updated & int(S.Update.Content):
            return
        caret = self.sci.currentPos()
        moved = caret != (self.ghost.anchor if self.ghost.shown else self._edit_caret)
        if moved or not self.sci.selectionEmpty():
            if self.ghost.shown or self._pending is not None or self._timer.isActive():
                self.dismiss()

    def _end_key(self) -> None:
        self._key_in_progress = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind not in (QEvent.Type.KeyPress, QEvent.Type.ShortcutOverride) or watched is not self.sci:
            return False
        assert isinstance(event, QKeyEvent)
        key, mods = event.key(), event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        ctrl = Qt.KeyboardModifier.ControlModifier
        if self.ghost.shown and self.sci.currentPos() != self.ghost.anchor:
            self.dismiss()  # the caret moved and Scintilla has not said so yet (it does on paint)
        handled: Callable[[], object] | None = None
        if key == Qt.Key.Key_Space and mods == ctrl:
            handled = self.request_now
        elif self.ghost.shown and key == Qt.Key.Key_Tab and mods == Qt.KeyboardModifier.NoModifier:
            handled = self.accept_all
        elif self.ghost.shown and key == Qt.Key.Key_Right and mods == ctrl:
            handled = self.accept_word
        elif (
            key == Qt.Key.Key_Escape
            and mods == Qt.KeyboardModifier.NoModifier
            and (self.ghost.shown or self._pending is not None)
        ):
            handled = self.dismiss
        if handled is not None:
            event.accept()
            if kind == QEvent.Type.KeyPress:
                handled()
            return True
        if kind == QEvent.Type.KeyPress:
            # The edit this key makes (if any) comes next, inside Scintilla's key handling:
            # it is typed, not a programmatic insert, so it may trigger a completion.
            self._key_in_progress = True
            QTimer.singleShot(0, self._end_key)
        if kind == QEvent.Type.KeyPress and self.ghost.shown:
            typed = event.text()
            plain = not mods & (ctrl | Qt.KeyboardModifier.AltModifier | Qt.KeyboardModifier.MetaModifier)
            if plain and len(typed) == 1 and typed.isprintable() and self.ghost.text.startswith(typed):
                self._consuming = typed  # _on_modified checks that this very character went in
        return False
