"""The chat's controller: the conversation and what each chat request means.

It owns the conversation (what is sent to the model) and drops signals from requests it
has moved past (a stopped answer). The engine is not its own: the EngineSession owns the
engine's state, its info, loading and the worker; the controller streams through it and
reacts to what it reports (ready, failed, died). It drives the chat panel through its
public methods and never builds widgets.

Stop is shown at once: the answer is marked stopped and the panel is idle again before
the worker has even seen the cancel, which is a direct call that closes the stream.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QObject, Signal

from app.chat.code_prompts import CodeContext, attachment_line, file_prompt, selection_prompt
from app.config.settings import Settings
from app.llm.info import EngineInfo, EngineState
from app.llm.options import sampling_for
from app.llm.ui.session import EngineSession
from app.llm.ui.worker import engine_log_path

if TYPE_CHECKING:
    from app.chat.ui import ChatPanel
    from app.llm.client import StreamStats

log = logging.getLogger(__name__)

CONTEXT_WARNING_FRACTION = 0.85  # the same point where the meter turns to the warning colour
DETAIL_LINES = 4  # lines of the engine log shown under an error
DETAIL_LINE_CHARS = 160  # llama.cpp logs whole metadata dicts on one line


class EditorAccess(Protocol):
    """What the chat needs from the editor; the main window adapts its tabs to this."""

    def current_code(self) -> CodeContext | None: ...

    def insert_at_cursor(self, code: str) -> bool: ...

    def replace_selection(self, code: str) -> bool: ...


@dataclass
class Turn:
    role: str  # user or assistant
    content: str  # what the model sees
    typed: str = ""  # what the user typed (put back in the input by Edit)


def stats_text(stats: StreamStats) -> str:
    """The footer under a finished answer: tokens, speed, and why it ended early."""
    parts = [f"{stats.completion_tokens:,} tokens"]
    if stats.tokens_per_s:
        parts.append(f"{stats.tokens_per_s:.1f} tokens/s")
    if stats.time_to_first_token_s is not None:
        parts.append(f"first token after {stats.time_to_first_token_s:.1f} s")
    if stats.finish_reason == "length":
        parts.append("stopped at the answer length limit")
    return " · ".join(parts)


def _log_excerpt(detail: str) -> str:
    """The last few lines of the engine's log, shortened, and where the whole log is."""
    lines = [line.strip() for line in detail.splitlines() if line.strip()][-DETAIL_LINES:]
    if not lines:
        return ""
    short = [line if len(line) <= DETAIL_LINE_CHARS else line[: DETAIL_LINE_CHARS - 1] + "…" for line in lines]
    return f"The end of the engine's log ({engine_log_path()}):\n" + "\n".join(short)


class ChatController(QObject):
    busyChanged = Signal(bool)
    answerFinished = Signal(object)  # StreamStats of the last answer
    contextUsageChanged = Signal(int, int)  # tokens used, context size
    openModelRequested = Signal()  # the user asked to pick a model file
    # What happens to the conversation, for the conversation store (conversation_binding.py).
    userTurnAdded = Signal(object, str)  # Turn, the text shown for it
    answerStarted = Signal()
    answerDelta = Signal(str)
    answerEnded = Signal(bool, str)  # something arrived and was kept, the footer shown under it
    turnsTruncated = Signal(int)  # turns kept (regenerate, edit and resend)
    chatCleared = Signal()  # New chat

    def __init__(
        self,
        panel: ChatPanel,
        editor: EditorAccess,
        settings: Settings,
        engine: EngineSession,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.panel = panel
        self.editor = editor
        self.settings = settings
        self.engine = engine
        self.turns: list[Turn] = []
        self.last_stats: StreamStats | None = None
        self._rows: list[int | None] = []  # per chat-view row: the turn it shows, or None
        self._active: int | None = None  # the request whose answer is streaming
        self._answer_row = -1
        self._answer_parts: list[str] = []
        self._answer_notes: list[str] = []
        self._editing: int | None = None  # the turn being edited
        self._waiting_for_model = False  # the last user turn waits for a model to answer it
        self._context_warned = False
        self._model_seen = ""  # the model the conversation talked with since the last unload

        e = self.engine
        e.stateChanged.connect(self._on_engine_state)
        e.loaded.connect(self._on_loaded)
        e.loadFailed.connect(self._on_load_failed)
        e.died.connect(self._on_engine_died)
        e.delta.connect(self._on_delta)
        e.note.connect(self._on_note)
        e.finished.connect(self._on_finished)
        e.failed.connect(self._on_failed)
        e.tokensCounted.connect(self._show_context_usage)

        panel.sendRequested.connect(self.send)
        panel.stopRequested.connect(self.stop)
        panel.newChatRequested.connect(self.new_chat)
        panel.regenerateRequested.connect(self.regenerate)
        panel.editRequested.connect(self.edit)
        panel.editCancelled.connect(self._on_edit_cancelled)
        panel.insertRequested.connect(self.insert_code)
        panel.replaceRequested.connect(self.replace_code)

    def restart_engine(self) -> None:
        """The chat's "Restart engine" and "Try again" buttons: load again, or ask for a model."""
        if not self.engine.restart():
            self.openModelRequested.emit()

    # -- conversation ----------------------------------------------------------------------
    def model_messages(self) -> list[dict[str, str]]:
        system = [{"role": "system", "content": self.settings.system_prompt}] if self.settings.system_prompt else []
        return system + [{"role": t.role, "content": t.content} for t in self.turns]

    def is_busy(self) -> bool:
        return self._active is not None

    def send(self, text: str, include_file: bool = False) -> None:
        """Send what the user typed (with the current file when asked)."""
        if not text.strip():
            return
        content, shown = text, text
        code = self.editor.current_code() if include_file else None
        if code is not None:
            content = file_prompt(text, code)
            shown = f"{text}\n\n{attachment_line(code)}"
        self._submit(Turn("user", content, text), shown)

    def ask(self, prompt: str) -> None:
        """A prompt the app built (Fix This Error): sent as it is, ending an edit in progress."""
        self.panel.input.cancel_edit()
        self.send(prompt)

    def ask_about_selection(self, action: str, code: str) -> None:
        """An editor action (Explain, Find bugs...) on selected code."""
        current = self.editor.current_code()
        name, lang_id, lang_name, fence = (
            ("selection", "text", "Plain text", "text")
            if current is None
            else (current.name, current.language_id, current.language_name, current.fence)
        )
        prompt = selection_prompt(action, CodeContext(name, lang_id, lang_name, fence, code))
        self.panel.input.cancel_edit()
        self._submit(Turn("user", prompt, prompt), prompt)

    def stop(self) -> None:
        """Stop the streaming answer now; what arrived so far stays in the conversation."""
        rid = self._active
        if rid is None:
            return
        self.engine.cancel_chat(rid)  # direct: closes the stream while the worker reads it
        self._answer_notes.clear()  # about an answer the user cut short: noise now
        self._end_answer("Stopped")
        self._update_context()

    def regenerate(self) -> None:
        """Ask again for the answer to the last user message."""
        self.stop()
        last_user = next((i for i in range(len(self.turns) - 1, -1, -1) if self.turns[i].role == "user"), None)
        if last_user is None:
            return
        self._truncate_turns(last_user + 1)
        self._start_answer()

    def edit(self, view_row: int) -> None:
        """Put an earlier user message back in the input; sending it drops what followed."""
        turn_index = self._rows[view_row] if 0 <= view_row < len(self._rows) else None
        if turn_index is None or self.turns[turn_index].role != "user":
            return
        self.stop()
        self._editing = turn_index
        self.panel.input.set_text_for_edit(self.turns[turn_index].typed)

    def new_chat(self) -> None:
        self.stop()
        self._editing = None
        self.panel.input.cancel_edit()
        self.turns.clear()
        self._rows.clear()
        self.panel.view.clear()
        self._waiting_for_model = False
        self._context_warned = False
        self._update_context()
        self.chatCleared.emit()

    def restore(self, turns: list[tuple[Turn, str]]) -> None:
        """Show a saved conversation: (turn, text shown for it) pairs; it continues from there."""
        self.new_chat()
        for turn, shown in turns:
            self.turns.append(turn)
            if turn.role == "user":
                self.panel.view.add_user_message(shown)
            else:
                self.panel.view.add_assistant_message(turn.content, shown)
            self._rows.append(len(self.turns) - 1)
        self._update_context()

    def insert_code(self, code: str) -> None:
        if not self.editor.insert_at_cursor(code):
            self._show_note("Open a file in the editor to insert code into it.")

    def replace_code(self, code: str) -> None:
        if not self.editor.replace_selection(code):
            self._show_note("Open a file in the editor to replace its selection.")

    # -- requests ----------------------------------------------------------------------------
    def _submit(self, turn: Turn, shown: str) -> None:
        self.stop()
        if self._editing is not None:
            self._truncate_turns(self._editing)
            self._editing = None
        self.turns.append(turn)
        self._rows.append(len(self.turns) - 1)
        self.panel.view.add_user_message(shown)
        self.userTurnAdded.emit(turn, shown)
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
        self._answer_parts = []
        self._answer_notes = []
        self._answer_row = self.panel.view.begin_assistant_message()
        self._rows.append(None)
        self._active = self.engine.start_chat(self.model_messages(), sampling_for(self.settings))
        self.panel.set_busy(True)
        self.busyChanged.emit(True)
        self.answerStarted.emit()

    def _end_answer(self, footer: str) -> None:
        """The streaming answer is over: show it finished and keep what it said."""
        self._active = None
        text = "".join(self._answer_parts)
        if text:
            self.panel.view.finish_message(self._answer_row, footer)
            self.turns.append(Turn("assistant", text))
            self._rows[self._answer_row] = len(self.turns) - 1
        else:
            self.panel.view.truncate(self._answer_row)  # nothing arrived: no empty bubble
            del self._rows[self._answer_row :]
        self.answerEnded.emit(bool(text), footer)
        for note in self._answer_notes:
            self._show_note(note)
        self.panel.set_busy(False)
        self.busyChanged.emit(False)

    def _truncate_turns(self, count: int) -> None:
        """Keep the first `count` turns, and the chat rows up to the last one kept."""
        self.turns = self.turns[:count]
        self.turnsTruncated.emit(count)
        cut = 0
        if count:
            cut = max(row for row, turn in enumerate(self._rows) if turn == count - 1) + 1
        self.panel.view.truncate(cut)
        del self._rows[cut:]

    # -- worker signals --------------------------------------------------------------------
    def _on_delta(self, rid: int, text: str) -> None:
        if rid != self._active:
            return  # a stopped or superseded answer
        self._answer_parts.append(text)
        self.panel.view.append_to_message(self._answer_row, text)
        self.answerDelta.emit(text)

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
        if stats.prompt_tokens and n_ctx:
            self._show_context_usage(stats.prompt_tokens + stats.completion_tokens, n_ctx)
        else:
            self._update_context()

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
            self._update_context()

    def _on_engine_died(self, message: str, detail: str) -> None:
        self._show_error(message, [("Restart engine", self.restart_engine)], _log_excerpt(detail))

    def _on_loaded(self, info: EngineInfo) -> None:
        previous_model, self._model_seen = self._model_seen, info.model_path
        self.panel.view.set_assistant_name(info.model_name or "Assistant")
        if previous_model and self.turns:
            self._show_note(
                "The engine is running again; the conversation continues."
                if previous_model == info.model_path
                else f"Now chatting with {info.model_name or 'another model'}; the conversation continues."
            )
        if self._waiting_for_model and self.turns and self.turns[-1].role == "user":
            self._start_answer()
        else:
            self._update_context()

    def _on_load_failed(self, message: str, detail: str) -> None:
        self._show_error(
            message,
            [("Open model file…", self.openModelRequested.emit), ("Try again", self.restart_engine)],
            _log_excerpt(detail),
        )

    # -- context meter ------------------------------------------------------------------------
    def _update_context(self) -> None:
        info = self.engine.info
        if self.engine.state is not EngineState.READY or info is None:
            self._show_context_usage(0, 0)
            return
        if not self.turns:
            self._show_context_usage(0, info.n_ctx)
            return
        self.engine.count_tokens(self.model_messages())

    def _show_context_usage(self, used: int, size: int) -> None:
        self.panel.set_context_usage(used, size)
        self.contextUsageChanged.emit(used, size)
        if size and used >= CONTEXT_WARNING_FRACTION * size and not self._context_warned and not self.is_busy():
            self._context_warned = True
            self._show_note(
                f"The conversation fills {used / size:.0%} of the model's context of {size:,} tokens. "
                "From here on the oldest turns are left out of what the model sees; "
                "start a New chat to begin with an empty context."
            )

    # -- chat rows -----------------------------------------------------------------------------
    def _show_note(self, text: str) -> None:
        self.panel.view.show_note(text)
        self._rows.append(None)

    def _show_error(self, text: str, actions: list[tuple[str, Callable[[], object]]], detail: str = "") -> None:
        self.panel.view.show_error(text, actions, detail)
        self._rows.append(None)

    def _on_edit_cancelled(self) -> None:
        self._editing = None
