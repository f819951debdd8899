"""A hunk shown as a small diff (removed lines red, added lines green), shared by Apply's
dialog and the multi-file review."""

from __future__ import annotations

import html

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QTextBrowser, QWidget

from app.edits.hunks import Hunk

REMOVED_BACK = "rgba(255, 80, 80, 0.18)"
ADDED_BACK = "rgba(60, 180, 75, 0.20)"
MAX_VIEW_HEIGHT = 320  # a longer hunk scrolls inside its view


def diff_html(hunk: Hunk) -> str:
    rows = [f'<div style="color: palette(mid);">{html.escape(hunk.header)}</div>']
    for line in hunk.old_lines:
        rows.append(f'<div style="background: {REMOVED_BACK}; white-space: pre;">- {html.escape(line)}</div>')
    for line in hunk.new_lines:
        rows.append(f'<div style="background: {ADDED_BACK}; white-space: pre;">+ {html.escape(line)}</div>')
    return "".join(rows)


def hunk_view(hunk: Hunk, font: QFont, parent: QWidget | None = None) -> QTextBrowser:
    """A read-only view of the hunk, as tall as its lines (up to MAX_VIEW_HEIGHT)."""
    view = QTextBrowser(parent)
    view.setFont(font)
    view.setHtml(diff_html(hunk))
    lines = len(hunk.old_lines) + len(hunk.new_lines) + 1
    view.setFixedHeight(min(MAX_VIEW_HEIGHT, 12 + lines * view.fontMetrics().lineSpacing()))
    return view
