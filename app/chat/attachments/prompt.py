"""How a question's attachments are written into the user's message: each with its file
name, language and lines, in a fenced block, the project map first and the selection last.

Qt-free: the chat controller builds what it sends with these, and tests read them.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.chat.attachments.excerpts import Attachment
from app.chat.code_prompts import fenced
from app.editor import textfile


def _attachment_text(attachment: Attachment) -> str:
    language = textfile.language(attachment.language_id)
    described = f"`{attachment.name}` ({language.name})"
    if attachment.kind == "project":
        return f"Here is a map of the project (its files and their definitions):\n\n{fenced(attachment.code, 'text')}"
    if attachment.kind == "file":
        return f"Here is the file {described}:\n\n{fenced(attachment.code, language.fence)}"
    lines = f"lines {attachment.first_line}–{attachment.last_line}"
    if attachment.kind == "part":
        return (
            f"Here are {lines} of the file {described}, around the cursor:\n\n{fenced(attachment.code, language.fence)}"
        )
    text = f"The selected code is {lines} of {described}"
    if attachment.enclosing:
        first, last = attachment.enclosing_lines
        text += (
            f", inside `{attachment.enclosing_name}` (lines {first}–{last}):\n\n"
            f"{fenced(attachment.enclosing, language.fence)}\n\nThe selection:"
        )
    else:
        text += ":"
    return f"{text}\n\n{fenced(attachment.code, language.fence)}"


_ORDER = {"project": 0, "file": 1, "part": 1, "selection": 2}


def attachments_prompt_prefix(attachments: Sequence[Attachment]) -> str:
    """What the user's message starts with, before the question: the attachments (the
    project map first, the selection last), each followed by a blank line; "" without any."""
    parts = [_attachment_text(a) for a in sorted(attachments, key=lambda a: _ORDER[a.kind])]
    return "".join(f"{part}\n\n" for part in parts)


def attachments_prompt(question: str, attachments: Sequence[Attachment]) -> str:
    """The user's message with what is attached before it (the project map first, the selection last)."""
    return attachments_prompt_prefix(attachments) + question.strip()


def attachments_line(attachments: Sequence[Attachment]) -> str:
    """What the chat shows under a question that carried attachments."""
    names = " · ".join(f"`{a.label}`" for a in attachments)
    return f"*Attached: {names}*" if attachments else ""
