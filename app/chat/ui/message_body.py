"""The body of one message: its prose and its code blocks, stacked, never wider than the pane.

A message's top-level segments are split into pieces: each run of prose (HTML) is one
MessageBrowser, each top-level code block another, made `code_only`, whose long lines
scroll sideways inside the block instead of making the message wider. While an answer
streams only its last piece or two change, and each piece re-lays out only from its own
first changed segment (see MessageBrowser.show_segments), so the cost of a paint stays
the size of what changed.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QSizePolicy, QVBoxLayout, QWidget

from app.chat.markdown.render import LIGHT_THEME, CodeBlock, RenderTheme
from app.chat.ui.message_browser import MessageBrowser


@dataclass(eq=False)
class _Piece:
    browser: MessageBrowser
    keys: list[object] | None  # what it shows (None: redraw on the next show)


def _groups(codes: list[CodeBlock | None]) -> list[list[int]]:
    """Segment indices grouped into pieces: a run of prose, or one code block."""
    groups: list[list[int]] = []
    for index, code in enumerate(codes):
        if code is None and groups and codes[groups[-1][0]] is None:
            groups[-1].append(index)
        else:
            groups.append([index])
    return groups


class MessageBody(QWidget):
    """Prose and code blocks of a message, as a column of MessageBrowsers."""

    linkClicked = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("MessageBody")
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(0)
        self._pieces: list[_Piece] = []
        self._theme: RenderTheme = LIGHT_THEME
        self._code_actions = True

    # -- what the message widget calls ------------------------------------------------
    def set_code_style(self, theme: RenderTheme, *, code_actions: bool) -> None:
        """How code blocks look and whether they get action links; redraws on the next show."""
        self._theme, self._code_actions = theme, code_actions
        for piece in self._pieces:
            piece.browser.set_code_style(theme, code_actions=code_actions)
            piece.keys = None

    def show_segments(self, segments: list[str], segment_code: list[CodeBlock | None] | None = None) -> None:
        codes: list[CodeBlock | None] = list(segment_code) if segment_code is not None else [None] * len(segments)
        groups = _groups(codes)
        for number, indices in enumerate(groups):
            piece_segments = [segments[i] for i in indices]
            piece_codes = [codes[i] for i in indices]
            keys: list[object] = [s if c is None else c for s, c in zip(piece_segments, piece_codes, strict=True)]
            is_code = piece_codes[0] is not None
            piece = self._pieces[number] if number < len(self._pieces) else None
            if piece is not None and piece.browser.code_only != is_code:
                self._remove_from(number)
                piece = None
            if piece is None:
                piece = self._add_piece(is_code)
            last = number == len(groups) - 1
            if piece.keys != keys or last:  # the last prose segment may have been incomplete
                piece.browser.show_segments(piece_segments, piece_codes)
                piece.keys = keys
        self._remove_from(len(groups))

    # -- reading (tests, and the view's colour check) -----------------------------------
    def browsers(self) -> list[MessageBrowser]:
        return [piece.browser for piece in self._pieces]

    def toPlainText(self) -> str:  # noqa: N802 - reads like the browsers it stands for
        return "\n".join(browser.toPlainText() for browser in self.browsers())

    def toHtml(self) -> str:  # noqa: N802
        return "\n".join(browser.toHtml() for browser in self.browsers())

    def is_colouring(self) -> bool:
        return any(browser.is_colouring() for browser in self.browsers())

    # -- internals ----------------------------------------------------------------------
    def _add_piece(self, code_only: bool) -> _Piece:
        browser = MessageBrowser(code_only=code_only)
        browser.set_code_style(self._theme, code_actions=self._code_actions)
        browser.linkClicked.connect(self.linkClicked)
        piece = _Piece(browser, None)
        self._pieces.append(piece)
        self._layout.addWidget(browser)
        return piece

    def _remove_from(self, number: int) -> None:
        for piece in self._pieces[number:]:
            self._layout.removeWidget(piece.browser)
            piece.browser.hide()
            piece.browser.deleteLater()
        del self._pieces[number:]
