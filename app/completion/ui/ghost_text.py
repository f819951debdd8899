"""Ghost text: a suggestion drawn in the editor, in grey italics, without being in the
document.

Scintilla cannot show text that is not in its document at an arbitrary position: EOL
annotations start one character after the end of the line and annotation lines start
at the left margin. So the suggestion is painted by a transparent widget laid over the
editor's viewport, at the caret, in the editor's own font:

- the first line starts at the caret; when the caret is mid-line, the rest of that
  line is painted again after the suggestion (in its own colours) over a patch of the
  line's background, so the line reads as it will after Tab, as in VS Code;
- the other lines need vertical room: a blank annotation under the caret's line makes
  Scintilla push the following lines down, and the overlay paints into that space.

Annotations live outside the undo history and never change `text()`.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPaintEvent
from PySide6.QtWidgets import QWidget
from pyside6_scintilla import Scintilla, ScintillaEdit

S = Scintilla
STYLE_DEFAULT = int(S.StylesCommon.Default)
GHOST_ALPHA = 0.45  # the ghost's colour: this far from the background toward the text colour


def _bgr_colour(value: int) -> QColor:
    value &= 0xFFFFFF
    return QColor(value & 0xFF, (value >> 8) & 0xFF, (value >> 16) & 0xFF)


def _abgr_colour(value: int) -> QColor:
    value &= 0xFFFFFFFF
    return QColor(value & 0xFF, (value >> 8) & 0xFF, (value >> 16) & 0xFF, (value >> 24) & 0xFF)


def _mix(a: QColor, b: QColor, t: float) -> QColor:
    return QColor(
        round(a.red() + (b.red() - a.red()) * t),
        round(a.green() + (b.green() - a.green()) * t),
        round(a.blue() + (b.blue() - a.blue()) * t),
    )


class GhostText(QObject):
    """Shows one suggestion at a Scintilla byte position of one ScintillaEdit."""

    def __init__(self, sci: ScintillaEdit) -> None:
        super().__init__(sci)
        self.sci = sci
        self.anchor = -1  # byte position the suggestion is drawn at; -1: nothing shown
        self.text = ""
        self._annotated_line = -1
        self._overlay = _GhostOverlay(self)
        sci.installEventFilter(self)
        sci.viewport().installEventFilter(self)  # scroll bars appearing resize only the viewport
        sci.updateUi.connect(self._on_update_ui)

    @property
    def shown(self) -> bool:
        return bool(self.text) and self.anchor >= 0

    def show(self, anchor: int, text: str) -> None:
        """Draw `text` (with "\\n" line breaks) at byte position `anchor`."""
        if not text:
            self.clear()
            return
        self.anchor, self.text = anchor, text
        line = self.sci.lineFromPosition(anchor)
        extra_lines = text.count("\n")
        if self._annotated_line >= 0 and self._annotated_line != line:
            self._clear_annotation()
        if extra_lines:
            # Blank annotation lines reserve the room the overlay paints the rest into.
            self.sci.annotationSetText(line, "\n".join(" " for _ in range(extra_lines)))
            self.sci.annotationSetStyle(line, STYLE_DEFAULT)
            self.sci.annotationSetVisible(int(S.AnnotationVisible.Standard))
            self._annotated_line = line
        elif self._annotated_line >= 0:
            self._clear_annotation()
        self._overlay.follow()
        self._overlay.update()

    def clear(self) -> None:
        if not self.shown and self._annotated_line < 0:
            return
        self.anchor, self.text = -1, ""
        self._clear_annotation()
        self._overlay.update()

    def _clear_annotation(self) -> None:
        if self._annotated_line >= 0:
            # The editor uses no other annotations; clearing all also drops one whose line
            # number moved with an edit above it.
            self.sci.annotationClearAll()
            self._annotated_line = -1

    def _on_update_ui(self, updated: int) -> None:
        if self.shown and updated & (int(S.Update.VScroll) | int(S.Update.HScroll)):
            self._overlay.update()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.Resize, QEvent.Type.Show, QEvent.Type.LayoutRequest):
            self._overlay.follow()
        return False

    # --- painting -------------------------------------------------------------------

    def font_for(self, style: int, italic: bool | None = None) -> QFont:
        sci = self.sci
        font = QFont(bytes(sci.styleFont(style).data()).decode("utf-8", errors="replace"))
        font.setPointSizeF(max(2.0, sci.styleSizeFractional(style) / 100 + sci.zoom()))
        font.setWeight(QFont.Weight(min(900, max(100, sci.styleWeight(style)))))
        font.setItalic(sci.styleItalic(style) if italic is None else italic)
        font.setStyleStrategy(QFont.StyleStrategy.PreferAntialias)
        return font

    def ghost_colour(self) -> QColor:
        back = _bgr_colour(self.sci.styleBack(STYLE_DEFAULT))
        fore = _bgr_colour(self.sci.styleFore(STYLE_DEFAULT))
        return _mix(back, fore, GHOST_ALPHA)

    def paint(self, painter: QPainter) -> None:
        sci = self.sci
        if not self.shown or self.anchor > sci.length():
            return
        line = sci.lineFromPosition(self.anchor)
        x0 = sci.pointXFromPosition(self.anchor)
        y0 = sci.pointYFromPosition(self.anchor)
        height = sci.textHeight(line)
        font = self.font_for(STYLE_DEFAULT, italic=True)
        metrics = QFontMetricsF(font)
        baseline = metrics.ascent() + sci.extraAscent()
        tab = max(1, sci.tabWidth())
        lines = self.text.split("\n")
        column = sci.column(self.anchor)
        first = (" " * column + lines[0]).expandtabs(tab)[column:]
        painter.setFont(font)
        line_end = sci.lineEndPosition(line)
        if line_end > self.anchor:
            self._paint_rest_of_line(painter, line, x0, y0, height, baseline, metrics.horizontalAdvance(first))
        painter.setFont(font)
        painter.setPen(self.ghost_colour())
        painter.drawText(QPointF(x0, y0 + baseline), first)
        if len(lines) > 1:
            left = sci.pointXFromPosition(sci.positionFromLine(line))
            below = sci.pointYFromPosition(line_end) + height
            for n, text in enumerate(lines[1:]):
                painter.drawText(QPointF(left, below + n * height + baseline), text.expandtabs(tab))

    def _paint_rest_of_line(
        self, painter: QPainter, line: int, x0: float, y0: float, height: float, baseline: float, shift: float
    ) -> None:
        """Paint the text after the caret again, moved right by the suggestion's width."""
        sci = self.sci
        end = sci.lineEndPosition(line)
        end_x = sci.pointXFromPosition(end)
        back = _bgr_colour(sci.styleBack(STYLE_DEFAULT))
        caret_line = sci.lineFromPosition(sci.currentPos()) == line
        if caret_line and sci.caretLineVisible():
            tint = _abgr_colour(sci.elementColour(int(S.Element.CaretLineBack)))
            back = _mix(back, QColor(tint.red(), tint.green(), tint.blue()), tint.alphaF())
        painter.fillRect(QRectF(x0 + 1, y0, end_x - x0 + shift + 2, height), back)
        x = x0 + shift
        pos = self.anchor
        tab = max(1, sci.tabWidth())
        while pos < end:
            style = sci.styleAt(pos)
            run_end = pos
            while run_end < end and sci.styleAt(run_end) == style:
                run_end = sci.positionAfter(run_end)
            text = bytes(sci.textRange(pos, run_end).data()).decode("utf-8", errors="replace").expandtabs(tab)
            font = self.font_for(style)
            painter.setFont(font)
            painter.setPen(_bgr_colour(sci.styleFore(style)))
            painter.drawText(QPointF(x, y0 + baseline), text)
            x += QFontMetricsF(font).horizontalAdvance(text)
            pos = run_end


class _GhostOverlay(QWidget):
    """A transparent, click-through widget over the viewport that paints the ghost."""

    def __init__(self, ghost: GhostText) -> None:
        super().__init__(ghost.sci)
        self._ghost = ghost
        self.setObjectName("ghostTextOverlay")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.follow()
        self.show()

    def follow(self) -> None:
        self.setGeometry(self._ghost.sci.viewport().geometry())
        self.raise_()

    def paintEvent(self, event: QPaintEvent) -> None:
        if not self._ghost.shown:
            return
        painter = QPainter(self)
        try:
            painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
            self._ghost.paint(painter)
        finally:
            painter.end()
