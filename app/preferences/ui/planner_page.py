"""The Planner page: what "fast enough" means, and how much RAM a plan leaves free.

The model manager's recommendation is the best model that fits with this headroom
and meets these floors; changing them changes the next plan, never a loaded model.
"""

from __future__ import annotations

from app.config.settings import Settings
from app.preferences.ui.page_base import SPECS, SettingsPage, hint, setting_real_spin, spin
from app.utils.units import MIB


class PlannerPage(SettingsPage):
    title = "Planner"
    fields = (
        "plan_min_tokens_per_s",
        "plan_max_question_s",
        "plan_max_completion_s",
        "plan_headroom_percent",
        "plan_headroom_max_gb",
        "prompt_cache_bytes",
    )

    def __init__(self) -> None:
        super().__init__()
        self._loaded_cache_bytes = 0
        self.min_tokens_per_s = self.bind(
            "plan_min_tokens_per_s", setting_real_spin("plan_min_tokens_per_s", 1.0, 1, " tokens/s")
        )
        self.form.addRow("Answers at least:", self.min_tokens_per_s)
        self.max_question_s = self.bind("plan_max_question_s", setting_real_spin("plan_max_question_s", 1.0, 0, " s"))
        self.form.addRow("A 2K-token question read within:", self.max_question_s)
        self.max_completion_s = self.bind(
            "plan_max_completion_s", setting_real_spin("plan_max_completion_s", 0.1, 2, " s")
        )
        self.form.addRow("Ghost text within:", self.max_completion_s)
        self.headroom_percent = self.bind(
            "plan_headroom_percent", setting_real_spin("plan_headroom_percent", 5.0, 0, " % of RAM")
        )
        self.form.addRow("Keep free for other programs:", self.headroom_percent)
        self.headroom_max_gb = self.bind(
            "plan_headroom_max_gb", setting_real_spin("plan_headroom_max_gb", 0.5, 1, " GB")
        )
        self.form.addRow("… but never more than:", self.headroom_max_gb)
        cache_mib_max = int(SPECS["prompt_cache_bytes"].high or 0) // MIB
        self.prompt_cache_mib = spin(0, cache_mib_max, "Automatic (10% of RAM, at most 2 GB)", " MB", 256)
        self.form.addRow("Prompt cache:", self.prompt_cache_mib)
        self.form.addRow(
            "",
            hint(
                "The model manager recommends the best model that fits in what is left and meets these "
                "speeds on this machine; a model that is better but slower is named too. The prompt cache "
                "keeps recent conversations warm; its RAM is kept free as well."
            ),
        )

    def load(self, settings: Settings) -> None:
        super().load(settings)
        self._loaded_cache_bytes = settings.prompt_cache_bytes
        self.prompt_cache_mib.setValue(settings.prompt_cache_bytes // MIB)

    def write(self, settings: Settings) -> None:
        super().write(settings)
        if self.prompt_cache_mib.value() != self._loaded_cache_bytes // MIB:  # untouched: keep the exact bytes
            settings.prompt_cache_bytes = self.prompt_cache_mib.value() * MIB
