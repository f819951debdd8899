"""The chat's "Edit files": a question asked in the edit format, whose answer opens the review.

The files the question attaches (the current file when its chip is on, the `@file`s)
are editable; they are saved first, so the model edits what the user sees. The question
goes into the conversation like any other (shown as typed, with the files named), and
when its answer ends it becomes a ChangeSet (app.edits). When some SEARCH blocks did
not match, the model is shown the mismatch once, automatically, and the two answers
make one change. The review itself belongs to the window (app.edits.ui.session).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QObject, Signal

from app.chat.conversation import ASSISTANT
from app.edits.changeset import build_changeset, parse_for
from app.edits.formats import ParsedAnswer
from app.edits.prompt import edit_messages
from app.edits.workspace import EditScope
from app.utils.errors import DscoderError

if TYPE_CHECKING:
    from app.chat.ui.controller import ChatController

log = logging.getLogger(__name__)

MISMATCH_RETRIES = 1  # the model is shown its mismatched SEARCH blocks this many times
NO_FILES = (
    "Edit files needs the files to change: keep the current file's chip on, or name files with @. "
    "Save a new file first, so it has a path."
)

NO_CHANGE = "The answer leaves every file as it is: there is nothing to review."


class AttachedFiles(Protocol):
    """Which files a question attaches (the chat's QuestionAttachments)."""

    def attached_paths(self, question: str) -> list[str]: ...


class EditRequests(QObject):
    changesReady = Signal(object)  # a ChangeSet with at least one file to review
    nothingChanged = Signal()  # the answer changes no file: nothing to review

    def __init__(
        self,
        controller: ChatController,
        attachments: AttachedFiles,
        folder: Callable[[], str | None],
        save_files: Callable[[list[str]], bool],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.controller = controller
        self.attachments = attachments
        self.folder = folder
        self.save_files = save_files
        self._scope: EditScope | None = None  # the request whose answer is awaited
        self._earlier: ParsedAnswer | None = None  # the first answer, while the retry is awaited
        self._retries_left = 0
        self._feedback = False  # the awaited answer is a feedback round's
        panel = controller.panel
        panel.editFilesRequested.connect(self.request)
        panel.sendRequested.connect(lambda _text: self._forget())  # an ordinary question ends it
        panel.stopRequested.connect(self._forget)
        controller.answerFinished.connect(lambda _stats: self._on_answer())

    def request(self, text: str) -> None:
        paths = self.attachments.attached_paths(text)
        if not paths:
            self.controller.panel.show_note(NO_FILES)
            return
        if not self.save_files(paths):
            return
        root = self.folder() or os.path.dirname(paths[0])
        try:
            scope = EditScope.read(root, paths)
        except DscoderError as error:
            self.controller.panel.show_note(str(error))
            return
        if not scope.editable:
            self.controller.panel.show_note(" ".join([*scope.notes, "There is no file to edit."]))
            return
        prompt = edit_messages(text, scope, system_turn=False)[-1]["content"]
        shown = f"{text}\n\nEdit files: {', '.join(f.path for f in scope.editable)}"
        self.follow_up(prompt, shown, scope)

    def follow_up(self, prompt: str, shown: str, scope: EditScope, *, feedback: bool = False) -> None:
        """Ask `prompt` in the same conversation, its answer an edit of `scope`'s files.
        `feedback`: the edit loop's feedback round (the failures, not the files again),
        answered with the loop's sampling (as `dscoder edit` does)."""
        self._scope, self._earlier, self._retries_left = scope, None, MISMATCH_RETRIES
        self._feedback = feedback
        self.controller.ask(prompt, shown, feedback=feedback)

    def _forget(self) -> None:
        self._scope = None
        self._earlier = None

    def _on_answer(self) -> None:
        scope = self._scope
        answer = self.controller.conversation.last(ASSISTANT)
        if scope is None or answer is None:
            return
        parsed = parse_for(scope, answer.content)
        changeset = build_changeset(scope, parsed, earlier=self._earlier)
        retry = changeset.retry_prompt()
        if retry and self._retries_left > 0:
            self._retries_left -= 1
            self._earlier = parsed
            self.controller.ask(
                retry,
                "Some SEARCH blocks did not match; the model is shown them and asked again.",
                feedback=self._feedback,
            )
            return
        self._forget()
        if changeset.empty:  # nothing to review: say why under the answer, no file touched
            said = " ".join(f"{p.message.rstrip('.')}." for p in changeset.problems)
            self.controller.panel.show_note(said or NO_CHANGE)
            self.nothingChanged.emit()
            return
        self.changesReady.emit(changeset)
