"""DeepSeek-Coder's repository-level format for fill-in-the-middle: other files go before
the current one, each introduced by a comment line with its path (`# utils.py`,
`// main.rs`, `<!-- index.html -->`).

Shared by both processes: the window's completion lays out its ring buffer's chunks with
it (app.completion.ring, app.completion.fim_window), the engine lays out an editor's
`input_extra` chunks with it for models without repository tokens (app.engine.infill).
"""

from __future__ import annotations

from app import languages


def path_comment(display_path: str, language: str) -> str:
    """The line that introduces a file: `# utils.py`, `// main.rs`, `<!-- index.html -->`."""
    lang = languages.language(language)
    if lang.line_comment:
        return f"{lang.line_comment} {display_path}"
    if lang.block_comment:
        return f"{lang.block_comment[0]} {display_path} {lang.block_comment[1]}"
    return f"# {display_path}"


def repository_part(display_path: str, text: str, language: str) -> str:
    """One other file's text in the format: its path line, the text, a blank line."""
    body = text if text.endswith("\n") else text + "\n"
    return f"{path_comment(display_path, language)}\n{body}\n"
