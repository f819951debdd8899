"""The prompt of an edit request: the format rules, then each file with what to do with it.

A small editable file is asked for whole; a large one (over WHOLE_FILE_MAX_LINES) as
SEARCH/REPLACE blocks; read-only files are marked as context only. The messages are
plain chat messages ({"role", "content"}), rendered by the model's chat template like
any other question (by the engine, app.engine.prompts), so they work with the DeepSeek-Coder template,
which has a system turn, and with templates that have none (the rules then go first in
the user's turn).

Qt-free.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from app.edits.formats import DELETE_MARK, DIVIDER_MARK, REPLACE_MARK, SEARCH_MARK, WHOLE_FILE_MAX_LINES
from app.edits.hunks import split_lines
from app.edits.workspace import EditScope, FileSnapshot
from app.languages import language, language_id_for_path

Message = dict[str, str]
FileFormat = Literal["whole", "search_replace"]

EDIT_RULES = f"""You change files in a project. Answer with edits in exactly these formats, and nothing else is needed.

To rewrite a file, write its path on its own line, then a fenced code block with the complete new content of the file:

path/to/file.py
```python
<the complete new content of the file>
```

To change part of a large file, write its path on its own line, then a fenced block of one or more SEARCH/REPLACE sections. The SEARCH part copies lines of the file exactly, enough of them to be unique; the REPLACE part is what goes there:

path/to/file.py
```python
{SEARCH_MARK}
<lines copied exactly from the file>
{DIVIDER_MARK}
<the new lines>
{REPLACE_MARK}
```

To create a file, write it whole under its new path.

Change only the files marked editable. Files marked read-only are context: never edit them."""
# Told only when the instruction asks to delete or remove: Qwen2.5-Coder-0.5B, shown the
# deletion line among the rules, began its answers with it (tried once, by hand).
DELETE_RULE = f"To delete a file, write {DELETE_MARK} followed by its path on a line of its own, and no block for it."
_ASKS_TO_DELETE = re.compile(r"\b(delet|remov)", re.IGNORECASE)


def file_format(snapshot: FileSnapshot) -> FileFormat:
    """Whole file for a small file, SEARCH/REPLACE for a large one."""
    return "whole" if len(split_lines(snapshot.text)) <= WHOLE_FILE_MAX_LINES else "search_replace"


def _fence_for(text: str) -> str:
    """A fence longer than any run of backticks in the text, so the text cannot close it."""
    longest = max((len(run) for run in text.split("\n") if run.strip("`") == "" and run), default=0)
    return "`" * max(3, longest + 1)


def _file_section(snapshot: FileSnapshot, role: str) -> str:
    fence_name = language(language_id_for_path(snapshot.path)).fence
    text = snapshot.text if snapshot.text.endswith("\n") or not snapshot.text else snapshot.text + "\n"
    fence = _fence_for(text)
    return f"{snapshot.path} ({role})\n{fence}{fence_name}\n{text}{fence}"


def _role(snapshot: FileSnapshot) -> str:
    if not snapshot.exists:
        return "editable, does not exist yet: write it whole to create it"
    if file_format(snapshot) == "whole":
        return "editable: answer with the whole file"
    return f"editable, {len(split_lines(snapshot.text))} lines: answer with SEARCH/REPLACE blocks"


def files_prompt(scope: EditScope) -> str:
    """The files of the request, editable ones first, each marked with what to do."""
    sections = [_file_section(f, _role(f)) for f in scope.editable]
    for snapshot in scope.read_only:
        if snapshot.is_text:
            sections.append(_file_section(snapshot, "read-only, context only: do not edit"))
        else:
            sections.append(f"{snapshot.path} (read-only, not text: not shown)")
    return "\n\n".join(sections)


def edit_rules(instruction: str) -> str:
    """The format rules for this instruction (with the deletion line only when it asks to delete)."""
    return f"{EDIT_RULES}\n{DELETE_RULE}" if _ASKS_TO_DELETE.search(instruction) else EDIT_RULES


def edit_messages(
    instruction: str, scope: EditScope, history: Sequence[Message] = (), *, system_turn: bool = True
) -> list[Message]:
    """The messages of an edit request: the rules, the conversation so far, and the files
    with the instruction. `system_turn` False puts the rules into the user's turn (the
    chat's own system prompt stays; also for templates without a system role)."""
    rules = edit_rules(instruction)
    request = f"{files_prompt(scope)}\n\nThe change to make:\n{instruction.strip()}"
    if not system_turn:
        return [*history, {"role": "user", "content": f"{rules}\n\n{request}"}]
    return [{"role": "system", "content": rules}, *history, {"role": "user", "content": request}]


def retry_message(feedback: str) -> Message:
    """The user turn that shows the model its mismatched blocks (ChangeSet.retry_prompt)."""
    return {"role": "user", "content": feedback}
