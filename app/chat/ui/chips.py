"""The chips above the chat input: what goes with the next question, each with its token
count and a × that leaves it out of this message; a suggestion chip ("+ sample.py")
attaches with one click. The chips wrap onto more lines in a narrow pane.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from PySide6.QtCore import QMargins, QPoint, QRect, QSize, Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLayoutItem,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QWidget,
)

from app.chat.attachments.rules import Chip
from app.utils.units import token_count


class FlowLayout(QLayout):
    """Items left to right, wrapping onto the next line when the width runs out."""

    def __init__(self, parent: QWidget | None = None, spacing: int = 6) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._spacing = spacing
        self.setContentsMargins(QMargins(0, 0, 0, 0))

    def addItem(self, item: QLayoutItem) -> None:
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:  # type: ignore[override]
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:  # type: ignore[override]
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._arrange(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._arrange(rect, move=True)

    def sizeHint(self) -> QSize:
        return self.minimumSize()

    def minimumSize(self) -> QSize:
        # As narrow as its narrowest chip allows (a chip elides its label below that), so
        # the chips never make the chat pane wider than it is.
        size = QSize(0, 0)
        for item in self._items:
            size = size.expandedTo(item.minimumSize())
        return size

    def _arrange(self, rect: QRect, *, move: bool) -> int:
        x, y, line_height = rect.x(), rect.y(), 0
        for item in self._items:
            hint = item.sizeHint()
            width = min(hint.width(), rect.width())
            if x > rect.x() and x + width > rect.right() + 1:
                x, y = rect.x(), y + line_height + self._spacing
                line_height = 0
            if move:
                item.setGeometry(QRect(QPoint(x, y), QSize(width, hint.height())))
            x += width + self._spacing
            line_height = max(line_height, hint.height())
        return y + line_height - rect.y()


class ChipWidget(QFrame):
    """One attached chip: its label and token count, and a × that removes it."""

    removeClicked = Signal(str)

    def __init__(self, chip: Chip, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.chip = chip
        self.setObjectName("AttachmentChip")
        self.setToolTip(chip.tooltip)
        self.label = QLabel(chip.label)
        self.label.setObjectName("ChipLabel")
        self.label.setMinimumWidth(40)
        self.label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.tokens = QLabel(token_count(chip.tokens))
        self.tokens.setObjectName("ChipTokens")
        self.remove_button = QToolButton()
        self.remove_button.setObjectName("ChipRemove")
        self.remove_button.setText("×")
        self.remove_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.remove_button.setToolTip(f"Leave {chip.label} out of this message")
        self.remove_button.clicked.connect(lambda: self.removeClicked.emit(chip.key))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 1, 2, 1)
        layout.setSpacing(6)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.tokens)
        layout.addWidget(self.remove_button)

    def sizeHint(self) -> QSize:
        # Measured now, not when made: the style sheet sets fonts and paddings on polish.
        layout = self.layout()
        margins = layout.contentsMargins() if layout is not None else QMargins()
        frame = 2 * self.frameWidth()
        width = (
            math.ceil(self.label.fontMetrics().horizontalAdvance(self.chip.label))
            + self.tokens.sizeHint().width()
            + self.remove_button.sizeHint().width()
            + margins.left()
            + margins.right()
            + 2 * (layout.spacing() if layout is not None else 0)
            + frame
            + 4
        )
        return QSize(width, super().sizeHint().height())

    def resizeEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        super().resizeEvent(event)
        # A chip narrower than its label elides the file name from the left: the end of a
        # path ("…/utils.py:40–120") is what tells chips apart.
        metrics = self.label.fontMetrics()
        self.label.setText(metrics.elidedText(self.chip.label, Qt.TextElideMode.ElideLeft, self.label.width()))


class ChipBar(QWidget):
    """The chips of the next question; hidden when nothing is attached or suggested."""

    removed = Signal(str)  # a chip's key: leave it out of this message
    added = Signal(str)  # a suggestion chip's key: attach it

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ChipBar")
        self._layout = FlowLayout(self)
        self._chips: list[Chip] = []
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.hide()

    def chips(self) -> list[Chip]:
        return list(self._chips)

    def widget_for(self, key: str) -> QWidget | None:
        """The chip widget of `key` (a ChipWidget, or the suggestion's button)."""
        items = (self._layout.itemAt(i) for i in range(self._layout.count()))
        for item in items:
            widget = item.widget() if item is not None else None
            if widget is not None and widget.property("chipKey") == key:
                return widget
        return None

    def show_chips(self, chips: Sequence[Chip]) -> None:
        if list(chips) == self._chips:
            return
        self._chips = list(chips)
        while (item := self._layout.takeAt(0)) is not None:
            widget = item.widget()
            if widget is not None:
                widget.hide()
                widget.deleteLater()
        for chip in chips:
            widget = self._suggestion(chip) if not chip.attached else self._attached(chip)
            widget.setProperty("chipKey", chip.key)
            self._layout.addWidget(widget)
        self.setVisible(bool(chips))
        self.updateGeometry()

    def _attached(self, chip: Chip) -> QWidget:
        widget = ChipWidget(chip)
        widget.removeClicked.connect(self.removed)
        return widget

    def _suggestion(self, chip: Chip) -> QWidget:
        button = QPushButton(f"+  {chip.label}")
        button.setObjectName("ChipSuggestion")
        button.setToolTip(chip.tooltip)
        button.setCursor(Qt.CursorShape.PointingHandCursor)
        button.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        button.setMinimumWidth(60)
        button.clicked.connect(lambda: self.added.emit(chip.key))
        return button
