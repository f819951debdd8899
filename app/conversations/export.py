"""A conversation as a Markdown document (what "Export to Markdown" writes)."""

from __future__ import annotations

import time
from collections.abc import Sequence

from app.conversations.records import ConversationInfo, StoredMessage

ROLE_HEADINGS = {"user": "You", "assistant": "Assistant", "system": "System prompt"}


def _when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))


def _fence_for(text: str) -> str:
    """A code fence longer than any backtick run inside `text`, so it cannot end early."""
    longest, run = 0, 0
    for char in text:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    return "`" * max(3, longest + 1)


def conversation_markdown(conversation: ConversationInfo, messages: Sequence[StoredMessage]) -> str:
    lines = [f"# {conversation.title}", ""]
    facts = [f"Started {_when(conversation.created)}"]
    if conversation.model:
        facts.append(f"model: `{conversation.model}`")
    lines += ["_" + ", ".join(facts) + "_", ""]
    if conversation.system_prompt:
        fence = _fence_for(conversation.system_prompt)
        lines += ["## System prompt", "", f"{fence}text", conversation.system_prompt, fence, ""]
    for message in messages:
        lines += [f"## {ROLE_HEADINGS.get(message.role, message.role.title())}", ""]
        # Answers are Markdown already (code in fences); they go in as they are.
        lines.append(message.content.rstrip() or "_(empty)_")
        if not message.complete:
            lines += ["", "_(this answer was interrupted)_"]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
