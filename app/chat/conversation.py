"""The conversation: one ordered list of turns with stable ids, and the news of its changes.

`Conversation` is the one owner of what was said. The chat controller changes it (a
question sent, an answer streaming in and finishing, Regenerate and Edit cutting it
back, New chat, a saved conversation opened); everything else observes it: the chat
panel shows it, the conversation binding saves it. Observers learn exactly what changed
through the small `ConversationObserver` protocol, in order, on the thread that made the
change (the GUI thread), so no one keeps a list of their own in step by index arithmetic:
a turn carries its own id, and what each observer attaches to it (a view row, a
database row) is found by that id.

Qt-free; the ui adapters live in app/chat/ui and app/conversations/ui.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

USER, ASSISTANT = "user", "assistant"


@dataclass(eq=False)
class Turn:
    """One message of the conversation. Compared by identity: ids are unique per Conversation."""

    id: int  # stable for the conversation's life; observers key what they attach by it
    role: str  # USER or ASSISTANT
    content: str  # what the model sees (for a question: with the attached file or selection)
    shown: str = ""  # a question as the chat shows it (the typed text and an attachment line)
    typed: str = ""  # what the user typed (Edit puts it back in the input)
    model: str = ""  # the model that wrote an answer
    footer: str = ""  # an answer's line under it: its figures, "Stopped", "Interrupted"
    finished: bool = True  # False while an answer streams in
    # The row in the conversation store. The binding's writer thread sets it when the row
    # exists, and the writer thread is the one that reads it (its work runs in order).
    db_id: int | None = None

    @property
    def display_text(self) -> str:
        return self.shown or self.content


@dataclass(frozen=True)
class SavedTurn:
    """A finished turn read back from the conversation store, to `load` into a conversation."""

    role: str
    content: str
    shown: str = ""
    typed: str = ""
    model: str = ""
    footer: str = ""
    db_id: int | None = None


class ConversationObserver(Protocol):
    """What changed, as it happens. Every method receives turns that are in the conversation
    (or, for the removals, were until now)."""

    def turn_added(self, turn: Turn) -> None: ...

    def text_appended(self, turn: Turn, text: str) -> None: ...

    def turn_finished(self, turn: Turn) -> None: ...

    def turn_removed(self, turn: Turn) -> None: ...  # the last turn only: an answer that brought nothing

    def truncated(self, after: Turn | None, removed: list[Turn]) -> None: ...  # None: from the start

    def cleared(self) -> None: ...  # a new, empty conversation


class Conversation:
    def __init__(self) -> None:
        self._turns: list[Turn] = []
        self._ids = itertools.count(1)
        self._observers: list[ConversationObserver] = []

    # -- observers ---------------------------------------------------------------------------
    def subscribe(self, observer: ConversationObserver) -> None:
        self._observers.append(observer)

    def unsubscribe(self, observer: ConversationObserver) -> None:
        self._observers.remove(observer)

    # -- reading ---------------------------------------------------------------------------
    @property
    def turns(self) -> list[Turn]:
        """The turns in order (a copy: change them through the methods here)."""
        return list(self._turns)

    def __len__(self) -> int:
        return len(self._turns)

    def __iter__(self) -> Iterator[Turn]:
        return iter(list(self._turns))

    def get(self, turn_id: int) -> Turn | None:
        return next((t for t in self._turns if t.id == turn_id), None)

    def last(self, role: str | None = None) -> Turn | None:
        return next((t for t in reversed(self._turns) if role is None or t.role == role), None)

    def before(self, turn: Turn) -> Turn | None:
        """The turn just before `turn`, or None when it is the first."""
        index = self._turns.index(turn)
        return self._turns[index - 1] if index else None

    def model_messages(self, system_prompt: str = "") -> list[dict[str, str]]:
        """What the model is sent: the system prompt, then every finished turn."""
        system = [{"role": "system", "content": system_prompt}] if system_prompt else []
        return system + [{"role": t.role, "content": t.content} for t in self._turns if t.finished]

    # -- changing --------------------------------------------------------------------------
    def add(
        self,
        role: str,
        content: str,
        *,
        shown: str = "",
        typed: str = "",
        model: str = "",
        footer: str = "",
        finished: bool = True,
        db_id: int | None = None,
    ) -> Turn:
        turn = Turn(next(self._ids), role, content, shown, typed, model, footer, finished, db_id)
        self._turns.append(turn)
        for observer in list(self._observers):
            observer.turn_added(turn)
        return turn

    def append(self, turn: Turn, text: str) -> None:
        """More of a streaming answer."""
        if turn.finished or not text:
            return
        turn.content += text
        for observer in list(self._observers):
            observer.text_appended(turn, text)

    def finish(self, turn: Turn, footer: str = "") -> None:
        """The answer is complete (or was stopped): what arrived is kept, `footer` under it."""
        if turn.finished:
            return
        turn.finished, turn.footer = True, footer
        for observer in list(self._observers):
            observer.turn_finished(turn)

    def remove_last(self, turn: Turn) -> None:
        """Drop the last turn (an answer that ended before any text arrived)."""
        if not self._turns or self._turns[-1] is not turn:
            raise ValueError("only the last turn can be removed on its own")
        self._turns.pop()
        turn.finished = True
        for observer in list(self._observers):
            observer.turn_removed(turn)

    def truncate_after(self, turn: Turn | None) -> list[Turn]:
        """Keep the turns up to `turn` (None: none), for Regenerate and Edit; returns what went."""
        keep = 0 if turn is None else self._turns.index(turn) + 1
        removed, self._turns = self._turns[keep:], self._turns[:keep]
        for observer in list(self._observers):
            observer.truncated(turn, removed)
        return removed

    def clear(self) -> None:
        """A new, empty conversation (New chat)."""
        self._turns = []
        for observer in list(self._observers):
            observer.cleared()

    def load(self, turns: Iterable[SavedTurn]) -> None:
        """Start over with saved turns (a conversation opened from history)."""
        self.clear()
        for t in turns:
            self.add(
                t.role,
                t.content,
                shown=t.shown,
                typed=t.typed,
                model=t.model,
                footer=t.footer,
                finished=True,
                db_id=t.db_id,
            )
