"""How much of the model's context window the conversation uses, and a warning before it overflows."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QWidget

from app.chat.ui.style import ChatPalette, palette_for

WARNING_FRACTION = 0.85


class ContextWindowMeter(QWidget):
    """A thin bar and "1,234 / 16,384 tokens"; the bar turns to the warning colour past 85%."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ContextWindowMeter")
        self._used = 0
        self._size = 0
        self._palette = palette_for("light")
        self.bar = QProgressBar()
        self.bar.setObjectName("ContextBar")
        self.bar.setTextVisible(False)
        self.bar.setFixedSize(90, 6)
        self.bar.setRange(0, 1000)
        self.label = QLabel()
        self.label.setObjectName("ContextLabel")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.bar)
        layout.addWidget(self.label)
        self._refresh()

    def set_usage(self, used_tokens: int, context_size: int) -> None:
        """Tokens the next prompt will take, out of the loaded context (0: no model)."""
        self._used = max(0, used_tokens)
        self._size = max(0, context_size)
        self._refresh()

    def usage(self) -> tuple[int, int]:
        return self._used, self._size

    def fraction(self) -> float:
        return self._used / self._size if self._size else 0.0

    def is_warning(self) -> bool:
        return self._size > 0 and self.fraction() >= WARNING_FRACTION

    def apply_palette(self, palette: ChatPalette) -> None:
        self._palette = palette
        self._refresh()

    def _refresh(self) -> None:
        p = self._palette
        if not self._size:
            self.bar.setValue(0)
            self.label.setText("no model")
            self.setToolTip("Context use appears here once a model is loaded.")
        else:
            fraction = self.fraction()
            self.bar.setValue(min(1000, round(fraction * 1000)))
            self.label.setText(f"{self._used:,} / {self._size:,} tokens")
            percent = f"{fraction:.0%}"
            if self.is_warning():
                self.setToolTip(
                    f"The conversation fills {percent} of the model's context. When it is "
                    "full, the oldest turns are dropped from what the model sees. "
                    "Start a New chat to begin with an empty context."
                )
            else:
                self.setToolTip(
                    f"The conversation uses {percent} of the model's {self._size:,}-token "
                    "context. When it fills up, the oldest turns are dropped."
                )
        colour = p.warning if self.is_warning() else p.accent
        self.label.setStyleSheet(f"color: {p.warning if self.is_warning() else p.muted};")
        self.bar.setStyleSheet(
            f"QProgressBar {{ background: {p.border}; border: none; border-radius: 3px; }}"
            f"QProgressBar::chunk {{ background: {colour}; border-radius: 3px; }}"
        )
