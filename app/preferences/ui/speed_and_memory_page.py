"""The "Speed and memory" page: threads, the prompt-state cache, idle prefill and drafting."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QCheckBox, QFileDialog, QHBoxLayout, QLineEdit, QPushButton, QWidget

from app.config.settings import Settings
from app.preferences.ui.pages import SettingsPage, hint, setting_spin

ChooseFile = Callable[[QWidget, str], str]


def _choose_gguf(parent: QWidget, start: str) -> str:
    return QFileDialog.getOpenFileName(parent, "Draft model", start, "GGUF models (*.gguf)")[0]


class SpeedAndMemoryPage(SettingsPage):
    title = "Speed and memory"
    fields = (
        "n_threads",
        "n_threads_batch",
        "prompt_cache_disk_mib",
        "idle_prefill",
        "prompt_lookup",
        "draft_model_path",
    )

    def __init__(self, choose_file: ChooseFile | None = None) -> None:
        super().__init__()
        self.choose_file = choose_file or _choose_gguf
        self.threads = setting_spin("n_threads", "Automatic (the physical performance cores)")
        self.form.addRow("Threads for answers:", self.threads)
        self.batch_threads = setting_spin("n_threads_batch", "Automatic (every logical core)")
        self.form.addRow("Threads for prompts:", self.batch_threads)
        self.disk_cache = setting_spin("prompt_cache_disk_mib", "Off", " MiB", 1024)
        self.form.addRow("Prompt cache on disk:", self.disk_cache)
        self.form.addRow(
            "",
            hint(
                "The prompt cache keeps recent conversations evaluated, so going back to one answers at once "
                "instead of reading it again; its size in RAM is set on the Planner page, which counts it. "
                "On disk, entries that no longer fit in RAM move to the cache folder instead of being dropped."
            ),
        )
        self.idle_prefill = QCheckBox("Prepare the open file for the chat while the engine is idle")
        self.form.addRow("", self.idle_prefill)
        self.prompt_lookup = QCheckBox("Speed up rewrites by drafting from the prompt (same answers, faster)")
        self.form.addRow("", self.prompt_lookup)
        self.draft_model = QLineEdit()
        self.draft_model.setPlaceholderText("None")
        self.draft_model.setClearButtonEnabled(True)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.draft_model, 1)
        row.addWidget(browse)
        self.form.addRow("Draft model:", row)
        self.form.addRow(
            "",
            hint(
                "A small model of the same family guesses the next tokens and the loaded model checks them "
                "(for example DeepSeek-Coder 1.3B for 6.7B or 33B). It takes its own memory. "
                "Changes on this page take effect when the engine restarts."
            ),
        )

    def _browse(self) -> None:
        chosen = self.choose_file(self, self.draft_model.text())
        if chosen:
            self.draft_model.setText(chosen)

    def load(self, settings: Settings) -> None:
        self.threads.setValue(settings.n_threads)
        self.batch_threads.setValue(settings.n_threads_batch)
        self.disk_cache.setValue(settings.prompt_cache_disk_mib)
        self.idle_prefill.setChecked(settings.idle_prefill)
        self.prompt_lookup.setChecked(settings.prompt_lookup)
        self.draft_model.setText(settings.draft_model_path)

    def write(self, settings: Settings) -> None:
        settings.n_threads = self.threads.value()
        settings.n_threads_batch = self.batch_threads.value()
        settings.prompt_cache_disk_mib = self.disk_cache.value()
        settings.idle_prefill = self.idle_prefill.isChecked()
        settings.prompt_lookup = self.prompt_lookup.isChecked()
        settings.draft_model_path = self.draft_model.text().strip()
