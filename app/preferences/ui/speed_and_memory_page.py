"""The "Speed and memory" page: this machine's measured speed, threads, the prompt-state cache,
idle prefill and drafting."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QFileDialog, QLineEdit, QWidget

from app.preferences.ui.machine_speed_row import MachineSpeedRow
from app.preferences.ui.page_base import ChoosePath, SettingsPage, hint, path_row, setting_spin


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

    def __init__(self, choose_file: ChoosePath | None = None, machine_speed: MachineSpeedRow | None = None) -> None:
        super().__init__()
        self.machine_speed = machine_speed or MachineSpeedRow()
        self.form.addRow("This machine:", self.machine_speed)
        self.threads = self.bind("n_threads", setting_spin("n_threads", "Automatic (the physical performance cores)"))
        self.form.addRow("Threads for answers:", self.threads)
        self.batch_threads = self.bind(
            "n_threads_batch", setting_spin("n_threads_batch", "Automatic (every logical core)")
        )
        self.form.addRow("Threads for prompts:", self.batch_threads)
        self.disk_cache = self.bind("prompt_cache_disk_mib", setting_spin("prompt_cache_disk_mib", "Off", " MiB", 1024))
        self.form.addRow("Prompt cache on disk:", self.disk_cache)
        self.form.addRow(
            "",
            hint(
                "The prompt cache keeps recent conversations evaluated, so going back to one answers at once "
                "instead of reading it again; its size in RAM is set on the Planner page, which counts it. "
                "On disk, entries that no longer fit in RAM move to the cache folder instead of being dropped, "
                "and the states are kept there across restarts (all models share this cap)."
            ),
        )
        self.idle_prefill = self.bind(
            "idle_prefill", QCheckBox("Prepare the open file for the chat while the engine is idle")
        )
        self.form.addRow("", self.idle_prefill)
        self.prompt_lookup = self.bind(
            "prompt_lookup", QCheckBox("Speed up rewrites by drafting from the prompt (same answers, faster)")
        )
        self.form.addRow("", self.prompt_lookup)
        self.draft_model = self.bind("draft_model_path", QLineEdit())
        self.draft_model.setPlaceholderText("None")
        self.draft_model.setClearButtonEnabled(True)
        self.form.addRow("Draft model:", path_row(self.draft_model, choose_file or _choose_gguf, self))
        self.form.addRow(
            "",
            hint(
                "A small model of the same family guesses the next tokens and the loaded model checks them "
                "(for example DeepSeek-Coder 1.3B for 6.7B or 33B). It takes its own memory. "
                "Changes on this page take effect when the engine restarts."
            ),
        )
