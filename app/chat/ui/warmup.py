"""Prepares Pygments' lexers on a background thread once per process.

The first code block in a language costs Pygments an import and the compilation of
the lexer's regular expressions: about 250 ms for Python on a slow CPU. Done on the
GUI thread when an answer finishes, that is a visible freeze. Done here, right after
the window appears, it costs the GUI thread only the interpreter's short lock hand-offs,
and the compiled lexers are cached on their classes for the chat's renderer.
"""

from __future__ import annotations

import logging
import threading

from app import languages

log = logging.getLogger(__name__)

_started = False
_lock = threading.Lock()


def warm_highlighting(styles: tuple[str, ...]) -> list[str]:
    """Highlight a line in every fence of app.languages, once per Pygments style; the
    fences that had a lexer, in order."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    warmed: dict[str, None] = {}
    for style in styles:
        formatter = HtmlFormatter(noclasses=True, nowrap=True, style=style)
        for name in languages.highlighted_fences():
            try:
                highlight("x = 1\n", get_lexer_by_name(name), formatter)
            except ClassNotFound:
                continue
            warmed[name] = None
    log.debug("code highlighting warmed up for %d languages", len(warmed))
    return list(warmed)


def start_highlighting_warmup() -> None:
    """Start the warm-up thread (only the first call in a process does anything)."""
    global _started
    with _lock:
        if _started:
            return
        _started = True
    from app.chat.markdown.render import DARK_THEME, LIGHT_THEME

    styles = tuple(dict.fromkeys((LIGHT_THEME.pygments_style, DARK_THEME.pygments_style)))
    threading.Thread(target=warm_highlighting, args=(styles,), name="highlight-warmup", daemon=True).start()
