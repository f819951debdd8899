"""The status bar: cursor, model, where it runs, context use, speed, and loading with Cancel."""

from __future__ import annotations

import time

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QStatusBar, QWidget

from app.llm.info import EngineInfo
from app.protocol.options import ALL_GPU_LAYERS
from app.utils.units import memory_size, token_rate


def device_text(info: EngineInfo) -> str:
    """Where the model runs: "CPU", "GPU (all layers)", "GPU: 20 layers" or "Remote: name"."""
    if info.is_remote:
        return f"Remote: {info.remote}"
    layers = info.n_gpu_layers
    threads = f" · {info.decode_threads} threads" if info.decode_threads else ""
    if layers <= 0 or not info.gpu_offload_supported:
        return "CPU" + threads
    return ("GPU (all layers)" if layers >= ALL_GPU_LAYERS else f"GPU: {layers} layers") + threads


def device_tooltip(info: EngineInfo) -> str:
    """How the engine runs: its threads and the RAM its prompt cache may hold."""
    lines = ["Where the model runs"]
    if info.decode_threads:
        lines.append(f"{info.decode_threads} threads decode, {info.batch_threads} evaluate prompts")
    if info.prompt_cache_bytes:
        lines.append(f"Prompt cache: up to {memory_size(info.prompt_cache_bytes)} of RAM keeps recent prompts warm")
    return "\n".join(lines)


class EngineStatusBar(QStatusBar):
    cancelLoadRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("EngineStatusBar")
        self.cursor_label = QLabel()
        self.model_label = QLabel()
        self.model_label.setObjectName("ModelLabel")
        self.device_label = QLabel()
        self.device_label.setObjectName("DeviceLabel")
        self.context_label = QLabel()
        self.context_label.setObjectName("ContextStatus")
        self.speed_label = QLabel()
        self.speed_label.setObjectName("SpeedLabel")
        self.serving_label = QLabel()  # filled by mainwindow/serving.py while the engine serves other programs
        self.load_label = QLabel()
        self.load_bar = QProgressBar()
        self.load_bar.setObjectName("LoadProgress")
        self.load_bar.setRange(0, 0)  # the engine reports no fraction: a busy indicator
        self.load_bar.setFixedWidth(110)
        self.load_bar.setMaximumHeight(14)
        self.load_bar.setTextVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("CancelLoad")
        self.cancel_button.setToolTip("Stop loading the model")
        self.cancel_button.clicked.connect(self.cancelLoadRequested)
        for widget in (self.load_label, self.load_bar, self.cancel_button):
            self.addWidget(widget)
        fields = (self.cursor_label, self.model_label, self.device_label, self.context_label, self.speed_label)
        for widget in (*fields, self.serving_label):
            widget.setProperty("statusField", True)
            self.addPermanentWidget(widget)
        self.refresh_style()
        self._load_started = 0.0
        self._load_name = ""
        self._elapsed_timer = QTimer(self)
        self._elapsed_timer.setInterval(1000)
        self._elapsed_timer.timeout.connect(self._show_elapsed)
        self.set_cursor(1, 1)
        self.show_no_model()

    # -- what the window calls -------------------------------------------------------------
    def refresh_style(self) -> None:
        """(Re)apply the style sheet: widgets under one keep the palette they were polished
        with, so a theme change must polish them again."""
        # Fields read as separate: a little room and a faint rule between them.
        self.setStyleSheet(
            "QStatusBar::item { border: none; }"
            'QLabel[statusField="true"] { padding: 0 8px; border-left: 1px solid rgba(128, 128, 128, 90); }'
        )

    def show_no_model(self, text: str = "No model loaded") -> None:
        self._set_loading(False)
        self.model_label.setText(text)
        self.model_label.setToolTip("Model ▸ Open Model File… chooses a GGUF model")
        self.device_label.hide()
        self.context_label.hide()
        self.speed_label.hide()

    def show_loading(self, model_name: str) -> None:
        self._load_name = model_name
        self._load_started = time.monotonic()
        self.model_label.setText("")
        self.device_label.hide()
        self.context_label.hide()
        self.speed_label.hide()
        self._set_loading(True)
        self._show_elapsed()

    def show_model(self, info: EngineInfo) -> None:
        self._set_loading(False)
        self.model_label.setText(info.display_name)
        self.model_label.setToolTip(info.model_path)
        self.device_label.setText(device_text(info))
        self.device_label.setToolTip(device_tooltip(info))
        self.device_label.show()
        self.set_context(0, info.n_ctx)

    def show_problem(self, text: str) -> None:
        """The model failed to load, or its engine died."""
        self._set_loading(False)
        self.model_label.setText(text)
        for label in (self.device_label, self.context_label, self.speed_label):
            label.hide()

    def set_context(self, used: int, size: int) -> None:
        if not size:
            self.context_label.hide()
            return
        self.context_label.setText(f"Context {used:,} / {size:,}")
        self.context_label.setToolTip(f"The conversation uses {used / size:.0%} of the model's context")
        self.context_label.show()

    def set_speed(self, tokens_per_s: float | None) -> None:
        if not tokens_per_s:
            self.speed_label.hide()
            return
        self.speed_label.setText(f"{token_rate(tokens_per_s)} tokens/s")
        self.speed_label.setToolTip("Generation speed of the last answer")
        self.speed_label.show()

    def set_cursor(self, line: int, column: int) -> None:
        self.cursor_label.setText(f"Ln {line}, Col {column}")

    def is_loading(self) -> bool:
        return self.load_bar.isVisibleTo(self)

    # -- internals ---------------------------------------------------------------------------
    def _set_loading(self, loading: bool) -> None:
        for widget in (self.load_label, self.load_bar, self.cancel_button):
            widget.setVisible(loading)
        if loading:
            self._elapsed_timer.start()
        else:
            self._elapsed_timer.stop()

    def _show_elapsed(self) -> None:
        seconds = int(time.monotonic() - self._load_started)
        suffix = f" {seconds} s" if seconds else ""
        self.load_label.setText(f"Loading {self._load_name}…{suffix}")
