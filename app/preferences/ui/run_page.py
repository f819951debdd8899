"""The "Run" settings page: how long a run from the Run panel may take, and the edit loop
(the tests after Accept, fixes without a click, the feedback rounds)."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox

from app.preferences.ui.page_base import SettingsPage, hint, setting_spin


class RunPage(SettingsPage):
    title = "Run"
    fields = ("run_timeout_s", "edit_run_tests", "edit_auto_fix", "edit_feedback_rounds")

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
        self.run_tests = self.bind("edit_run_tests", QCheckBox("Run the tests after an edit is accepted"))
        self.form.addRow("Edit Files:", self.run_tests)
        self.auto_fix = self.bind("edit_auto_fix", QCheckBox("Fix failures automatically"))
        self.form.addRow("", self.auto_fix)
        self.rounds = self.bind("edit_feedback_rounds", setting_spin("edit_feedback_rounds"))
        self.form.addRow("Feedback rounds:", self.rounds)
        self.form.addRow(
            "",
            hint(
                "When the tests fail after an accepted edit, Fix with these failures sends them to the model "
                "in the same conversation; automatically, up to this many rounds after the first try. "
                "Every round's change is still reviewed before it is written."
            ),
        )
