"""The window's glue for edits across files: the chat's Edit Files asks, the review
shows the answer's change, and Edit ▸ Undo Change puts all its files back.

`EditSession` (app.edits.ui.session) writes, reloads the open editors and keeps the
undo record; `EditRequests` (app.chat.ui.edit_request) turns an Edit Files question
into a ChangeSet. This owner only connects them to each other and to the status bar.
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QStatusBar, QWidget

from app.chat.ui.controller import ChatController
from app.chat.ui.edit_request import EditRequests
from app.chat.ui.question_attachments import QuestionAttachments
from app.editor.ui.file_tree import FileTree
from app.editor.ui.tabs import EditorTabs
from app.edits.ui.session import EditSession

STATUS_MS = 15_000


class EditFiles(QObject):
    def __init__(
        self,
        tabs: EditorTabs,
        file_tree: FileTree,
        controller: ChatController,
        attachments: QuestionAttachments,
        status: QStatusBar,
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self.session = EditSession(tabs, parent)
        self.requests = EditRequests(controller, attachments, file_tree.root, self.session.save_open_files, self)
        self.requests.changesReady.connect(self.session.review)
        self.session.message.connect(lambda text: status.showMessage(text, STATUS_MS))
        self.undo_action = QAction("Undo &Change to Files", parent)
        self.undo_action.setToolTip("Put back every file the last accepted edit changed")
        self.undo_action.setEnabled(False)
        self.undo_action.triggered.connect(lambda _=False: self.session.undo())
        self.session.undoAvailable.connect(self.undo_action.setEnabled)
