"""What the conversation store keeps: a conversation's summary row, its messages, and search hits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ConversationInfo:
    id: int
    title: str
    created: float
    updated: float
    pinned: bool
    model: str  # the model (file path or remote model name) this chat uses; '' = the default
    system_prompt: str | None  # None: the settings' default


@dataclass(frozen=True)
class StoredMessage:
    id: int
    conversation_id: int
    role: str
    content: str
    complete: bool  # False: an answer cut off by a crash (or still streaming)
    created: float
    stats: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SearchHit:
    """One conversation that matches; `snippet` has the matched words between the marks."""

    conversation_id: int
    title: str
    snippet: str
    message_id: int | None  # None when only the title matched
    pinned: bool
    updated: float
