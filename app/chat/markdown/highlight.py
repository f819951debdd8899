"""Pygments highlighting as coloured runs of a code block's text, produced lazily.

Qt-free. A view that lays code out itself (app.chat.ui.message_browser) gets the
colours of each stretch of the code as offsets into it, instead of HTML spans, and can
pull them a few at a time: Pygments lexes as its tokens are consumed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.styles import get_style_by_name
from pygments.util import ClassNotFound

from app import languages


def lexer_for(language: str) -> Lexer:
    """The Pygments lexer for a fence's language (app.languages maps the app's fence names
    and their aliases); plain text for an unknown one."""
    # Offsets must match the source exactly, so no newline stripping or adding.
    options = {"stripnl": False, "ensurenl": False}
    try:
        return get_lexer_by_name(languages.pygments_alias(language) or "text", **options)
    except ClassNotFound:
        return get_lexer_by_name("text", **options)


@dataclass(frozen=True)
class HighlightRun:
    """A stretch of code in one colour: `start` and `length` count characters of the code."""

    start: int
    length: int
    colour: str  # "#rrggbb", "" for the text colour
    bold: bool
    italic: bool


def iter_highlight_runs(code: str, language: str, style: str) -> Iterator[HighlightRun]:
    """The coloured stretches of `code` in the Pygments style `style`, in order, lazily.

    Pygments lexes as it is iterated, so a GUI can colour a long block a few
    milliseconds per event-loop turn instead of all at once.
    """
    pygments_style = get_style_by_name(style)
    pending: HighlightRun | None = None
    for start, token_type, value in lexer_for(language).get_tokens_unprocessed(code):
        look = pygments_style.style_for_token(token_type)
        colour = f"#{look['color']}" if look["color"] else ""
        bold, italic = bool(look["bold"]), bool(look["italic"])
        if not (colour or bold or italic) or not value:
            continue
        if (
            pending
            and (pending.colour, pending.bold, pending.italic)
            == (
                colour,
                bold,
                italic,
            )
            and (pending.start + pending.length == start)
        ):
            pending = HighlightRun(pending.start, pending.length + len(value), colour, bold, italic)
            continue
        if pending:
            yield pending
        pending = HighlightRun(start, len(value), colour, bold, italic)
    if pending:
        yield pending


def highlight_runs(code: str, language: str, style: str) -> list[HighlightRun]:
    """All of :func:`iter_highlight_runs` at once."""
    return list(iter_highlight_runs(code, language, style))
