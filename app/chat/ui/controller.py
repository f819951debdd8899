"""The chat's controller: what the user's intent and each chat request mean for the conversation.

It owns the `Conversation` (app/chat/conversation.py): it adds questions, streams answers
into it and cuts it back for Regenerate and Edit; the panel shows it and the binding
saves it by observing it. The controller drops signals from requests it has moved past
(a stopped answer). The engine is not its own: the EngineSession owns the engine's
state, its info, loading and the worker; the controller streams through it and reacts
to what it reports (ready, failed, died). It talks to the chat panel only through the
panel's own methods, for what is not a turn: notes, errors, busy, the context-window meter.

Stop is shown at once: the answer is marked stopped and the panel is idle again before
the worker has even seen the cancel, which is a direct call that closes the stream.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from app.chat.attachments.excerpts import Attachment
from app.chat.attachments.prompt import attachments_line, attachments_prompt
from app.chat.attachments.rules import question_text, request_prefix
from app.chat.code_prompts import selection_prompt
from app.chat.conversation import ASSISTANT, USER, Conversation, SavedTurn, Turn
from app.chat.editor_access import EditorAccess
from app.chat.footer import stats_text
from app.chat.ui.panel import ConversationDisplay
from app.config.settings import Settings
from app.llm.info import EngineInfo, EngineState
from app.llm.ui.session import EngineSession
from app.llm.ui.worker import engine_log_path
from app.loop.rounds import feedback_sampling
from app.protocol.options import sampling_for

if TYPE_CHECKING:
    from app.chat.ui.panel import ChatPanel
    from app.chat.ui.question_attachments import QuestionAttachments
    from app.llm.stream import StreamStats

log = logging.getLogger(__name__)

CONTEXT_WARNING_FRACTION = 0.85  # the same point where the meter turns to the warning colour
DETAIL_LINES = 4  # lines of the engine log shown under an error
DETAIL_LINE_CHARS = 160  # llama.cpp logs whole metadata dicts on one line


def _log_excerpt(detail: str) -> str:
    """The last few lines of the engine's log, shortened, and where the whole log is."""
    lines = [line.strip() for line in detail.splitlines() if line.strip()][-DETAIL_LINES:]
    if not lines:
        return ""
    short = [line if len(line) <= DETAIL_LINE_CHARS else line[: DETAIL_LINE_CHARS - 1] + "…" for line in lines]
    return f"The end of the engine's log ({engine_log_path()}):\n" + "\n".join(short)


class ChatController(QObject):
    answerStarted = Signal()
    answerFinished = Signal(object)  # StreamStats of the last answer
    contextUsageChanged = Signal(int, int)  # tokens used, context size
    openModelRequested = Signal()  # the user asked to pick a model file

    def __init__(
        self,
        panel: ChatPanel,
        editor: EditorAccess,
        settings: Settings,
        engine: EngineSession,
        parent: QObject | None = None,
        attachments: QuestionAttachments | None = None,
    ) -> None:
        super().__init__(parent)
        self.panel = panel
        self.editor = editor
        self.settings = settings
        self.engine = engine
        self.attachments = attachments  # what the next question carries; None: nothing but the text
        self.conversation = Conversation()
        self.conversation.subscribe(ConversationDisplay(panel))
        self.last_stats: StreamStats | None = None
        self._active: int | None = None  # the request whose answer is streaming
        self._answer: Turn | None = None  # the turn it streams into
        self._answer_notes: list[str] = []
        self._editing: int | None = None  # the id of the question being edited
        self._waiting_for_model = False  # the last question waits for a model to answer it
        self._feedback_answer = False  # the next answer is a feedback round's (ask(feedback=True))
        self._context_warned = False
        self._model_seen = ""  # the model the conversation talked with since the last unload
        self._counting_draft = False  # the last count sent includes the question being typed

        e = self.engine
        e.stateChanged.connect(self._on_engine_state)
        e.loaded.connect(self._on_loaded)
        e.loadFailed.connect(self._on_load_failed)
        e.died.connect(self._on_engine_died)
        e.delta.connect(self._on_delta)
        e.note.connect(self._on_note)
        e.finished.connect(self._on_finished)
        e.failed.connect(self._on_failed)
        e.tokensCounted.connect(self._on_tokens_counted)

        panel.sendRequested.connect(self._on_send_requested)
        panel.stopRequested.connect(self.stop)
        panel.newChatRequested.connect(self.new_chat)
        panel.regenerateRequested.connect(self.regenerate)
        panel.editRequested.connect(self.edit)
        panel.editCancelled.connect(self._on_edit_cancelled)
        panel.insertRequested.connect(self.insert_code)
        panel.replaceRequested.connect(self.replace_code)
        if attachments is not None:
            attachments.changed.connect(self._update_context_usage)

    # -- conversation ----------------------------------------------------------------------
    @property
    def turns(self) -> list[Turn]:
        return self.conversation.turns

    def model_messages(self) -> list[dict[str, str]]:
        return self.conversation.model_messages(self.settings.system_prompt)

    def is_busy(self) -> bool:
        return self._active is not None

    def next_request_prefix(self) -> list[dict[str, str]]:
        """The messages the next question's request will start with: the conversation so far,
        then the start of the question's message, its attachments in the prompt's exact form
        (what an engine can evaluate ahead, while the user types)."""
        attached = self.attachments.attachments() if self.attachments is not None else []
        return request_prefix(self.model_messages(), attached)

    def send(self, text: str, attachments: Sequence[Attachment] = ()) -> None:
        """Send what the user typed, with what is attached put before it."""
        if not text.strip():
            return
        content, shown = text, text
        if attachments:
            content = attachments_prompt(question_text(text), attachments)
            shown = f"{text}\n\n{attachments_line(attachments)}"
        self._submit(content, shown, text)
        if self.attachments is not None:
            self.attachments.message_sent()

    def _on_send_requested(self, text: str) -> None:
        """The input's Send: with the attachments prepared for it."""
        if self.attachments is None:
            self.send(text)
        else:
            self.attachments.prepare(text, lambda attached: self.send(text, attached))

    def ask(self, prompt: str, shown: str = "", *, feedback: bool = False) -> None:
        """A prompt the app built (Fix This Error, Edit files): sent as it is, ending an edit
        in progress; the conversation shows `shown` instead when given. `feedback`: the
        edit loop's failures, answered with the loop's sampling (as `dscoder edit` does)."""
        self.panel.cancel_edit()
        self._feedback_answer = feedback
        if shown:
            self._submit(prompt, shown, shown)
        else:
            self.send(prompt)

    def ask_about_selection(self, action: str, code: str) -> None:
        """An editor action (Explain, Find bugs...) on selected code."""
        prompt = selection_prompt(action, code, self.editor.snapshot())
        self.panel.cancel_edit()
        self._submit(prompt, prompt, prompt)

    def stop(self) -> None:
        """Stop the streaming answer now; what arrived so far stays in the conversation."""
        rid = self._active
        if rid is None:
            return
        self.engine.cancel_chat(rid)  # direct: closes the stream while the worker reads it
        self._answer_notes.clear()  # about an answer the user cut short: noise now
        self._end_answer("Stopped")
        self._update_context_usage()

    def regenerate(self) -> None:
        """Ask again for the answer to the last question."""
        self.stop()
        question = self.conversation.last(USER)
        if question is None:
            return
        self.conversation.truncate_after(question)
        self._start_answer()

    def edit(self, turn_id: int) -> None:
        """Put an earlier question back in the input; sending it drops what followed."""
        turn = self.conversation.get(turn_id)
        if turn is None or turn.role != USER:
            return
        self.stop()
        self._editing = turn_id
        self.panel.begin_edit(turn.typed)

    def new_chat(self) -> None:
        self._reset()
        self.conversation.clear()
        self._update_context_usage()

    def restore(self, turns: Sequence[SavedTurn]) -> None:
        """Show a saved conversation; it continues from there."""
        self._reset()
        self.conversation.load(turns)
        self._update_context_usage()

    def insert_code(self, code: str) -> None:
        if not self.editor.insert_at_cursor(code):
            self._show_note("Open a file in the editor to insert code into it.")

    def replace_code(self, code: str) -> None:
        if not self.editor.replace_selection(code):
            self._show_note("Open a file in the editor to replace its selection.")

    def restart_engine(self) -> None:
        """The chat's "Restart engine" and "Try again" buttons: load again, or ask for a model."""
        if not self.engine.restart():
            self.openModelRequested.emit()

    # -- requests ----------------------------------------------------------------------------
    def _reset(self) -> None:
        self.stop()
        self._editing = None
        self.panel.cancel_edit()
        self._waiting_for_model = False
        self._context_warned = False

    def _submit(self, content: str, shown: str, typed: str) -> None:
        self.stop()
        if self._editing is not None:
            edited = self.conversation.get(self._editing)
            self._editing = None
            if edited is not None:
                self.conversation.truncate_after(self.conversation.before(edited))
        self.conversation.add(USER, content, shown=shown, typed=typed)
        state = self.engine.state
        if state is EngineState.READY:
            self._start_answer()
            return
        self._waiting_for_model = True
        if state is EngineState.LOADING:
            self._show_note("The model is loading; the answer starts when it is ready.")
        elif state is EngineState.DEAD:
            self._show_error("The engine is not running.", [("Restart engine", self.restart_engine)])
        else:
            self._show_error(
                "No model is loaded, so there is nobody to answer yet. Open a GGUF model file; "
                "the answer starts once it has loaded.",
                [("Open model file…", self.openModelRequested.emit)],
            )

    def _start_answer(self) -> None:
        self._waiting_for_model = False
        self._answer_notes = []
        messages = self.model_messages()
        model = self.engine.info.model_name if self.engine.info is not None else ""
        self._answer = self.conversation.add(ASSISTANT, "", model=model, finished=False)
        params = sampling_for(self.settings)
        if self._feedback_answer:
            params = feedback_sampling(params)
        self._feedback_answer = False
        self._active = self.engine.start_chat(messages, params)
        self.panel.set_busy(True)
        self.answerStarted.emit()

    def _end_answer(self, footer: str) -> None:
        """The streaming answer is over: show it finished and keep what it said."""
        self._active = None
        answer, self._answer = self._answer, None
        if answer is not None:
            if answer.content:
                self.conversation.finish(answer, footer)
            else:
                self.conversation.remove_last(answer)  # nothing arrived: no empty bubble
        for note in self._answer_notes:
            self._show_note(note)
        self.panel.set_busy(False)

    # -- worker signals --------------------------------------------------------------------
    def _on_delta(self, rid: int, text: str) -> None:
        if rid == self._active and self._answer is not None:  # else a stopped or superseded answer
            self.conversation.append(self._answer, text)

    def _on_note(self, rid: int, text: str) -> None:
        if rid == self._active:
            self._answer_notes.append(text)  # shown under the answer when it ends

    def _on_finished(self, rid: int, stats: StreamStats) -> None:
        if rid != self._active:
            return
        self.last_stats = stats
        self._end_answer(stats_text(stats))
        self.answerFinished.emit(stats)
        n_ctx = self.engine.info.n_ctx if self.engine.info is not None else 0
        if stats.prompt_tokens and n_ctx:  # the conversation's own figure (it may warn)
            self._show_context_usage(stats.prompt_tokens + stats.completion_tokens, n_ctx)
        if not (stats.prompt_tokens and n_ctx) or (self.attachments is not None and self.attachments.draft_messages()):
            self._update_context_usage()  # and with what the next question carries, counted

    def _on_failed(self, rid: int, message: str, engine_dead: bool) -> None:
        if rid != self._active:
            return
        self._answer_notes.clear()
        self._end_answer("Interrupted")
        if engine_dead:
            self._show_error(message, [("Restart engine", self.restart_engine)])
        else:
            self._show_error(message, [("Try again", self.regenerate)])

    # -- engine session signals ---------------------------------------------------------------
    def _on_engine_state(self, state: EngineState) -> None:
        if state is EngineState.READY:
            return  # `loaded` follows, with what the conversation needs to know
        self.stop()  # an answer streams only from a ready engine
        if state is EngineState.NONE:  # unloaded: the next model starts a fresh page
            self._model_seen = ""
            self._update_context_usage()

    def _on_engine_died(self, message: str, detail: str) -> None:
        self._show_error(message, [("Restart engine", self.restart_engine)], _log_excerpt(detail))

    def _on_loaded(self, info: EngineInfo) -> None:
        previous_model, self._model_seen = self._model_seen, info.model_path
        self.panel.set_assistant_name(info.model_name or "Assistant")
        if self.attachments is not None:
            self.attachments.set_context_window(info.n_ctx)
        last = self.conversation.last()
        if previous_model and last is not None:
            self._show_note(
                "The engine is running again; the conversation continues."
                if previous_model == info.model_path
                else f"Now chatting with {info.model_name or 'another model'}; the conversation continues."
            )
        if self._waiting_for_model and last is not None and last.role == USER:
            self._start_answer()
        else:
            self._update_context_usage()

    def _on_load_failed(self, message: str, detail: str) -> None:
        self._show_error(
            message,
            [("Open model file…", self.openModelRequested.emit), ("Try again", self.restart_engine)],
            _log_excerpt(detail),
        )

    # -- context-window meter -----------------------------------------------------------------
    def _update_context_usage(self) -> None:
        """Count what the next request would hold: the conversation and the question being
        typed with its attachments."""
        info = self.engine.info
        if self.engine.state is not EngineState.READY or info is None:
            self._show_context_usage(0, 0)
            return
        if self.is_busy():
            return  # the answer's own figures come when it finishes
        draft = self.attachments.draft_messages() if self.attachments is not None else []
        if not len(self.conversation) and not draft:
            self._show_context_usage(0, info.n_ctx)
            return
        self._counting_draft = bool(draft)
        self.engine.count_tokens(self.model_messages() + draft)

    def _on_tokens_counted(self, used: int, size: int) -> None:
        self._show_context_usage(used, size, warn=not self._counting_draft)

    def _show_context_usage(self, used: int, size: int, warn: bool = True) -> None:
        self.panel.set_context_usage(used, size)
        self.contextUsageChanged.emit(used, size)
        if not warn:
            return  # the meter's colour says it; a note about a question not sent yet would be noise
        if size and used >= CONTEXT_WARNING_FRACTION * size and not self._context_warned and not self.is_busy():
            self._context_warned = True
            self._show_note(
                f"The conversation fills {used / size:.0%} of the model's context of {size:,} tokens. "
                "From here on the oldest turns are left out of what the model sees; "
                "start a New chat to begin with an empty context."
            )

    # -- chat rows -----------------------------------------------------------------------------
    def _show_note(self, text: str) -> None:
        self.panel.show_note(text)

    def _show_error(self, text: str, actions: list[tuple[str, Callable[[], object]]], detail: str = "") -> None:
        self.panel.show_error(text, actions, detail)

    def _on_edit_cancelled(self) -> None:
        self._editing = None
