"""Prepares Pygments' lexers off the GUI thread once per process.

The first code block in a language costs Pygments an import and the compilation of
the lexer's regular expressions: about 250 ms for Python on a slow CPU. Done on the
GUI thread when an answer finishes, that is a visible freeze. Done here, right after
the window appears, it costs the GUI thread only the interpreter's short lock hand-offs,
and the compiled lexers are cached on their classes for the chat's renderer and its
code highlighter.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject

from app import languages
from app.utils.jobs import JobControl
from app.utils.ui.tasks import BackgroundTasks

log = logging.getLogger(__name__)

WARMUP_THREAD_PREFIX = "highlight-warmup"
_started = False  # lexers are cached per process: one warm-up is enough for every window


def warm_highlighting(styles: tuple[str, ...], control: JobControl | None = None) -> list[str]:
    """Highlight a line in every fence of app.languages, once per Pygments style; the
    fences that had a lexer, in order. Stops between lexers once `control` is cancelled."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    warmed: dict[str, None] = {}
    for style in styles:
        formatter = HtmlFormatter(noclasses=True, nowrap=True, style=style)
        for name in languages.highlighted_fences():
            if control is not None:
                control.raise_if_stopped()
            try:
                highlight("x = 1\n", get_lexer_by_name(name), formatter)
            except ClassNotFound:
                continue
            warmed[name] = None
    log.debug("code highlighting warmed up for %d languages", len(warmed))
    return list(warmed)


class HighlightingWarmup(QObject):
    """Runs the warm-up on its own one-thread pool; the window starts it after its first paint."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tasks = BackgroundTasks(self, max_workers=1, thread_prefix=WARMUP_THREAD_PREFIX)

    def start(self) -> None:
        """Start the warm-up (only the first call in a process does anything)."""
        global _started
        if _started:
            return
        _started = True
        from app.chat.markdown.render import DARK_THEME, LIGHT_THEME

        styles = tuple(dict.fromkeys((LIGHT_THEME.pygments_style, DARK_THEME.pygments_style)))
        self._tasks.start(lambda _progress, control: warm_highlighting(styles, control))

    def shutdown(self) -> None:
        """Stop a warm-up still running (at its next lexer)."""
        self._tasks.shutdown()
