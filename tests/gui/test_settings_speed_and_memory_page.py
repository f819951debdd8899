"""The Settings dialog's "Speed and memory" page: threads, prompt cache, prefill, drafting."""

from __future__ import annotations

from app.config.settings import Settings
from app.config.validation import validate_settings
from app.hardware.machine_speed import MachineSpeed
from app.preferences.ui.dialog import SettingsDialog
from app.preferences.ui.machine_speed_row import MachineSpeedRow
from app.protocol.options import load_options_for
from app.utils.secrets import SecretStore
from app.utils.units import MIB


def make_dialog(qtbot, tmp_path, settings=None) -> SettingsDialog:
    dialog = SettingsDialog(settings or Settings(), secrets=SecretStore(None, tmp_path / "secrets.json"))
    qtbot.addWidget(dialog)
    return dialog


def test_defaults_show_as_automatic_and_edits_need_a_restart(qtbot, tmp_path):
    dialog = make_dialog(qtbot, tmp_path)
    page = dialog.speed_and_memory_page
    assert page.threads.text() == "Automatic (the physical performance cores)"
    assert page.disk_cache.value() == 4096 and page.prompt_lookup.isChecked() and page.idle_prefill.isChecked()
    draft = tmp_path / "small.gguf"
    draft.write_bytes(b"GGUF")
    page.threads.setValue(3)
    page.batch_threads.setValue(4)
    page.disk_cache.setValue(0)  # prompt states in RAM only
    page.prompt_lookup.setChecked(False)
    page.idle_prefill.setChecked(False)
    page.draft_model.setText(str(draft))
    dialog.accept()
    new = dialog.new_settings
    assert new is not None
    assert (new.n_threads, new.n_threads_batch, new.prompt_cache_disk_mib) == (3, 4, 0)
    assert (new.prompt_lookup, new.idle_prefill, new.draft_model_path) == (False, False, str(draft))
    assert dialog.restart == [
        "Threads",
        "Prompt threads",
        "Prompt cache on disk",
        "Prompt-lookup drafting",
        "Draft model",
    ]
    options = load_options_for(new, "/m.gguf")
    assert (options.n_threads, options.n_threads_batch, options.prompt_cache_bytes) == (3, 4, -1)
    assert (options.prompt_cache_spill_bytes, options.prompt_lookup, options.draft_model_path) == (
        0,
        False,
        str(draft),
    )


def test_a_missing_draft_model_is_refused_on_this_page(qtbot, tmp_path):
    dialog = make_dialog(qtbot, tmp_path)
    dialog.show_page("Hub")
    dialog.speed_and_memory_page.draft_model.setText(str(tmp_path / "gone.gguf"))
    dialog.accept()
    assert dialog.new_settings is None
    assert dialog.stack.currentIndex() == dialog.pages.index(dialog.speed_and_memory_page)
    assert "draft model" in dialog.message.text() and "does not exist" in dialog.message.text()


def test_the_planners_cache_size_reaches_the_engine_and_bad_values_are_problems():
    assert load_options_for(Settings(), "/m.gguf").prompt_cache_bytes == -1  # automatic
    assert load_options_for(Settings(prompt_cache_bytes=512 * MIB), "/m.gguf").prompt_cache_bytes == 512 * MIB
    problems = validate_settings(Settings(prompt_cache_disk_mib=-1, n_threads_batch=-1))
    assert {p.field for p in problems} == {"prompt_cache_disk_mib", "n_threads_batch"}


def _busy_speed() -> MachineSpeed:
    return MachineSpeed(
        3e9, 20e9, measured_at="2026-12-06T12:00:00+00:00", run_s=21.0, measured_under_load=True, runs=3
    )


def test_a_speed_measured_while_busy_says_so_and_measure_again_replaces_it(qtbot, tmp_path):
    measured: list[bool] = []

    def measure(progress, _control) -> MachineSpeed:
        progress(0.5, "decoding on the CPU")
        measured.append(True)
        return MachineSpeed(11e9, 60e9, measured_at="2026-12-06T12:05:00+00:00", run_s=6.0)

    row = MachineSpeedRow(read=_busy_speed, measure=measure)
    dialog = SettingsDialog(Settings(), secrets=SecretStore(None, tmp_path / "secrets.json"), machine_speed=row)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.page_list.setCurrentRow(dialog.pages.index(dialog.speed_and_memory_page))  # read when first shown
    label = dialog.speed_and_memory_page.machine_speed.label
    qtbot.waitUntil(lambda: "measured while the machine was busy; Measure again" in label.text())
    assert label.text().startswith("CPU 3.0 GB/s decode")
    row.measure_button.click()
    qtbot.waitUntil(lambda: measured == [True] and "11.0 GB/s" in label.text())
    assert "busy" not in label.text() and row.measure_button.isEnabled()
    dialog.reject()
