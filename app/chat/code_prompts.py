"""Chat prompts about code: the editor's right-click questions on a selection, and the fence
that quotes code in Markdown (the attachments' prompt is app/chat/attachments/prompt.py).

Qt-free: the chat controller builds what it sends with these, and tests read them.
"""

from __future__ import annotations

import re

from app.chat.editor_access import EditorSnapshot
from app.editor import textfile

# The editor's right-click questions (app.editor.ui.code_editor.ASK_ACTIONS) and what
# each asks the model to do.
ASK_INSTRUCTIONS: dict[str, str] = {
    "Explain": "Explain what this code does, step by step.",
    "Find bugs": "Find the bugs in this code. For each one, say what goes wrong and show the corrected code.",
    "Write tests": "Write unit tests for this code{framework}. Cover normal cases, edge cases and errors.",
    "Refactor": (
        "Refactor this code to make it clearer and simpler without changing what it does. "
        "Show the complete refactored code, then list the changes."
    ),
    "Add docstrings": (
        "Add docstrings (or the language's documentation comments) to this code. Show the complete code with them."
    ),
}


def fenced(code: str, info: str) -> str:
    """`code` in a Markdown fence longer than any backtick run inside it."""
    longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
    fence = "`" * max(3, longest + 1)
    body = code if code.endswith("\n") else code + "\n"
    return f"{fence}{info}\n{body}{fence}"


def selection_prompt(action: str, code: str, source: EditorSnapshot | None = None) -> str:
    """An editor action (Explain, Find bugs...) on `code`, selected in `source`'s tab (None:
    the tab is gone; the code is named "selection", as plain text)."""
    name, language_id = (source.name, source.language_id) if source is not None else ("selection", textfile.PLAIN_TEXT)
    language = textfile.language(language_id)
    template = ASK_INSTRUCTIONS.get(action, f"{action}:")
    framework = language.test_framework
    instruction = template.format(framework=f" {framework}" if framework else "")
    return f"{instruction}\n\nThe code is from `{name}` ({language.name}):\n\n{fenced(code, language.fence)}"
