"""The "Run" settings page: how long a run from the Run panel may take."""

from __future__ import annotations

from app.preferences.ui.page_base import SettingsPage, hint, setting_spin


class RunPage(SettingsPage):
    title = "Run"
    fields = ("run_timeout_s",)

    def __init__(self) -> None:
        super().__init__()
        self.timeout = self.bind("run_timeout_s", setting_spin("run_timeout_s", "", " s", 30))
        self.form.addRow("Stop a run after:", self.timeout)
        self.form.addRow(
            "",
            hint(
                "Run File (F5) and Run Tests (Ctrl+F5) stop the command, and every process it started, "
                "after this long. The test command each folder uses is kept from the first confirmation; "
                "edit it in the Run panel."
            ),
        )
