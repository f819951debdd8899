"""Idle prefill: while the user reads or types, the engine evaluates what the next question
will start with (the conversation, the system prompt, the attached file, in exactly the
prompt's form), so that the question, when it is sent, only costs its own tokens.

The engine does the work only while it is idle and drops it the moment a real request
arrives, so a prefill never delays a question or a completion; here we only decide when
to ask: a short pause after the next question's attachments last changed, after an answer
ends, and after a model loads; never twice for the same prefix.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer

from app.chat.ui.question_attachments import QuestionAttachments
from app.config.settings import Settings
from app.llm.ui.session import EngineSession

IDLE_PREFILL_DELAY_MS = 1_000  # after the last change: typing or moving around costs nothing


class IdlePrefill(QObject):
    def __init__(
        self,
        session: EngineSession,
        attachments: QuestionAttachments,
        next_prefix: Callable[[], list[dict[str, str]]],
        settings: Settings,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._session = session
        self._next_prefix = next_prefix
        self._settings = settings
        self._sent: list[dict[str, str]] | None = None  # the prefix the engine holds (as far as we know)
        self.requests = 0  # prefills asked for, for tests
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(IDLE_PREFILL_DELAY_MS)
        self._timer.timeout.connect(self._prefill)
        attachments.changed.connect(self._timer.start)
        session.loaded.connect(self._on_loaded)
        session.chatBusyChanged.connect(lambda busy: None if busy else self._timer.start())

    def _on_loaded(self, _info: object) -> None:
        self._sent = None  # a new engine holds nothing
        self._timer.start()

    def _prefill(self) -> None:
        if not self._settings.idle_prefill:
            return
        prefix = self._next_prefix()
        if not prefix or prefix == self._sent:
            return
        if self._session.prefill_chat(prefix):
            self._sent = prefix
            self.requests += 1
