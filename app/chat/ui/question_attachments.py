"""What the next question carries, kept up to date while the user works, and shown as chips.

`QuestionAttachments` is the one owner of "the next question's attachments". It follows the
editor (the current tab, its cursor and selection), the text typed in the chat input
(its `@` mentions, whether it is a question about the project) and the project map,
and recomputes after a short pause: the editor's text is taken on the GUI thread, the
rest (parsing for a selection's definition, ranking the map) runs on a pool thread, so
the window never waits for it. The panel shows the chips it is given and forwards
clicks on them; the controller asks `prepare` for the attachments when the user sends.

A removed chip stays removed for this message only: sending puts the default back.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from app.chat.attachments import rules
from app.chat.attachments.excerpts import Attachment
from app.chat.attachments.prompt import attachments_prompt
from app.chat.attachments.rules import AttachmentRequest, MentionedFile
from app.chat.editor_access import EditorAccess
from app.chat.ui.panel import ChatPanel
from app.config.settings import Settings
from app.project.ui.service import ProjectMapService
from app.utils.jobs import JobControl, Progress
from app.utils.ui.tasks import BackgroundTasks

log = logging.getLogger(__name__)

REFRESH_MS = 150  # after the last keystroke or cursor move
_Gathered = tuple[list[Attachment], Attachment | None]  # attachments, the editor's suggestion


class QuestionAttachments(QObject):
    changed = Signal()  # the next question's attachments or text changed (the meter counts again)

    def __init__(
        self,
        panel: ChatPanel,
        editor: EditorAccess,
        settings: Settings,
        project: ProjectMapService | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.panel = panel
        self.editor = editor
        self.settings = settings
        self.project = project
        self.tasks = BackgroundTasks(self, max_workers=1, thread_prefix="chat-attachments")
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self._editor_choice: bool | None = None  # None: the setting decides; else the user's click
        self._project_removed = False
        self._n_ctx = 0
        self._computed: tuple[AttachmentRequest, _Gathered] | None = None
        self._refresh_task: int | None = None
        self._names: dict[str, str] = {}  # what @ offers -> its path
        self._announced: tuple[str, list[Attachment]] = ("", [])  # the draft the meter last heard of
        panel.draftChanged.connect(self.schedule)
        panel.attachmentRemoved.connect(self._on_removed)
        panel.attachmentAdded.connect(self._on_added)
        if project is not None:
            project.mapReady.connect(lambda _map: self.files_changed())
            project.filesListed.connect(lambda _files: self.files_changed())

    # -- what the window and the controller call --------------------------------------------
    def schedule(self) -> None:
        """Something the attachments depend on changed: recompute after a short pause."""
        self._timer.start()

    def files_changed(self) -> None:
        """Tabs opened or closed, the folder's listing arrived: what @ offers changes."""
        self._update_names()
        self.schedule()

    def set_context_window(self, n_ctx: int) -> None:
        """The model's context window, which the budgets must leave room in (0: not known)."""
        if n_ctx != self._n_ctx:
            self._n_ctx = n_ctx
            self.schedule()

    def attachments(self) -> list[Attachment]:
        """What the next question carries, as last computed."""
        return list(self._computed[1][0]) if self._computed is not None else []

    def draft_messages(self) -> list[dict[str, str]]:
        """The next question as it would be sent now, for the context-window meter ([] when empty)."""
        text, attached = self.panel.draft_text(), self.attachments()
        if not text.strip() and not attached:
            return []
        return [{"role": "user", "content": attachments_prompt(rules.question_text(text), attached)}]

    def prepare(self, question: str, done: Callable[[list[Attachment]], None]) -> None:
        """Call `done` with the attachments of `question`: at once when what was computed
        while the user typed still holds, else when the pool thread has them."""
        self._timer.stop()
        request = self._request(question)
        if self._computed is not None and self._computed[0] == request:
            done(list(self._computed[1][0]))
            return
        if rules.is_quick(request):
            done(rules.gather(request))
            return

        def gather(_progress: Progress, control: JobControl) -> object:
            return rules.gather(request, control)

        def failed(message: str) -> None:
            log.warning("the question's attachments could not be gathered: %s", message)
            done([])

        self.tasks.start(gather, lambda result: done(result if isinstance(result, list) else []), on_failed=failed)

    def attached_paths(self, question: str) -> list[str]:
        """The saved files `question` would attach (the current file when its chip is on,
        then the @files): the files an edit request may change."""
        request = self._request(question)
        editor = request.editor
        paths = [editor.path] if editor is not None and editor.path and request.attach_editor else []
        return paths + [m.path for m in request.mentions if m.path not in paths]

    def message_sent(self) -> None:
        """The question went: the next one starts from the defaults again."""
        self._editor_choice = None
        self._project_removed = False
        self.schedule()

    def shutdown(self) -> None:
        self._timer.stop()
        self.tasks.shutdown()

    # -- computing -------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Recompute the chips now (on a pool thread when anything changed)."""
        self._timer.stop()
        request = self._request(self.panel.draft_text())
        if self._computed is not None and self._computed[0] == request:
            self._announce()  # the typed text may have changed
            return
        if self._refresh_task is not None:
            self.tasks.cancel(self._refresh_task)
            self._refresh_task = None

        def gather(_progress: Progress | None = None, control: JobControl | None = None) -> object:
            attached = rules.gather(request, control)
            suggestion = None
            if not request.attach_editor and request.editor is not None:
                suggestion = rules.editor_attachment(request.editor, request.budgets.file)
            return attached, suggestion

        if rules.is_quick(request):
            self._on_gathered(request, gather())
        else:
            self._refresh_task = self.tasks.start(gather, lambda result: self._on_gathered(request, result))

    def _on_gathered(self, request: AttachmentRequest, result: object) -> None:
        self._refresh_task = None
        if not isinstance(result, tuple):
            return
        attached, suggestion = result
        self._computed = (request, (attached, suggestion))
        self.panel.show_attachments(rules.chips_for(attached, suggestion))
        self._announce()

    def _announce(self) -> None:
        """Tell the meter, when what the next question would send changed (not for every
        cursor move that leaves the same file attached)."""
        draft = (self.panel.draft_text(), self.attachments())
        if draft != self._announced:
            self._announced = draft
            self.changed.emit()

    def _request(self, question: str) -> AttachmentRequest:
        settings = self.settings
        project = self.project.project_map if self.project is not None else None
        attach_editor = settings.chat_attach_current_file if self._editor_choice is None else self._editor_choice
        removed = self._project_removed or not settings.chat_attach_project_map
        map_wanted = rules.wants_project(question, project is not None, removed)
        return AttachmentRequest(
            editor=self.editor.snapshot(),
            attach_editor=attach_editor,
            mentions=tuple(self._mentioned(question)),
            project=project,
            project_version=self.project.version if self.project is not None else 0,
            map_question=rules.question_text(question) if map_wanted else "",
            budgets=rules.budgets_for(self._n_ctx, settings.chat_file_tokens, settings.chat_project_map_tokens),
        )

    def _mentioned(self, question: str) -> list[MentionedFile]:
        found: list[MentionedFile] = []
        root = self.project.root if self.project is not None else None
        for name in rules.mentions_in(question):
            if name == rules.PROJECT_NAME:
                continue
            path = rules.resolve_mention(name, self._names)
            if path is None and root is not None and (root / name).is_file():
                path = str(root / name)  # a file the listing leaves out (ignored, or new)
            if path is not None:
                found.append(MentionedFile(name, path, self.editor.open_text(path)))
        return found

    def _update_names(self) -> None:
        root = self.project.root if self.project is not None else None
        names: dict[str, str] = {}
        for path in self.editor.open_files():
            names[_relative_name(path, root)] = path
        if root is not None and self.project is not None:
            for relative in self.project.files:
                names.setdefault(relative, str(root / relative))
        self._names = names
        offered = ([rules.PROJECT_NAME] if root is not None else []) + list(names)
        self.panel.set_mention_names(offered)

    # -- the chips' clicks -----------------------------------------------------------------------
    def _on_removed(self, key: str) -> None:
        text = self.panel.draft_text()
        if key == rules.EDITOR_KEY:
            self._editor_choice = False
        elif key == rules.PROJECT_KEY:
            self._project_removed = True
            if rules.PROJECT_NAME in rules.mentions_in(text):
                self.panel.replace_draft(rules.without_mention(text, rules.PROJECT_NAME))
        elif key.startswith(rules.MENTION_PREFIX):
            self.panel.replace_draft(rules.without_mention(text, key[len(rules.MENTION_PREFIX) :]))
        self.refresh()

    def _on_added(self, key: str) -> None:
        if key == rules.EDITOR_KEY:
            self._editor_choice = True
            self.refresh()


def _relative_name(path: str, root: Path | None) -> str:
    """How @ names an open file: its path in the opened folder, else its file name."""
    if root is not None:
        try:
            return Path(path).resolve().relative_to(root).as_posix()
        except ValueError:
            pass
    return os.path.basename(path)
