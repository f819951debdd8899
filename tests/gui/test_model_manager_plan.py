"""The model manager's machine tab and catalog: the plan, the speeds, "Measure again"."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import pytest

from app.hardware.probe import MachineProfile
from app.models.catalog import load_catalog
from app.models.synthetic import tiny
from tests.helpers import model_manager
from tests.helpers.fake_hub import FakeHub
from tests.helpers.model_manager import (
    TIMEOUT_MS,
    click,
    hub_entry,
    machine,
    refreshed,
)

# The shared fixtures, by name (pytest finds fixtures among a module's attributes).
models_dir = model_manager.models_dir
make_dialog = model_manager.make_dialog


# -- the machine and the plan -------------------------------------------------------------------
def test_fit_and_recommendation_come_from_the_planner_off_the_gui_thread(qtbot, make_dialog) -> None:  # type: ignore[no-untyped-def]
    catalog = load_catalog()
    entries = [catalog.get("deepseek-coder-1.3b-instruct:Q4_K_M"), catalog.get("deepseek-coder-33b-instruct:Q8_0")]
    threads: list[str] = []

    def prober(models_dir: Path) -> MachineProfile:
        threads.append(threading.current_thread().name)
        return machine("laptop_8gb")(models_dir)

    dialog = make_dialog(entries, prober=prober)

    assert threads and threads[0].startswith("machine-plan") and threads[0] != threading.main_thread().name
    fit = dialog.catalog_view.fit(entries[0].id)
    assert fit.startswith("CPU only, ") and fit.endswith(" context  ★ recommended")
    assert dialog.catalog_view.recommendation_label.text() == f"Recommended for chat: {dialog.plan.reason}"
    assert dialog.catalog_view.fit(entries[1].id).startswith("does not fit: needs ")
    assert "GB of RAM" in dialog.catalog_view.fit(entries[1].id)
    assert dialog.plan is not None and dialog.plan.reason in dialog.machine_panel.recommendation_label.text()
    assert dialog.recommend_button.text() == f"Download recommended: {entries[0].id}"
    dialog.catalog_view.filter_edit.setText("33b q8")
    assert dialog.catalog_view.visible_ids() == [entries[1].id]


def test_download_recommended_starts_the_recommended_entry(qtbot, hub: FakeHub, tmp_path: Path, make_dialog) -> None:  # type: ignore[no-untyped-def]
    entry = hub_entry(hub, "tiny-rec.gguf", tiny.write_tiny_gguf(tmp_path / "r.gguf").read_bytes())
    dialog = make_dialog([entry])
    assert dialog.plan is not None and dialog.plan.recommendation is not None
    with qtbot.waitSignal(dialog.downloads.worker.finished, timeout=TIMEOUT_MS):
        click(qtbot, dialog.recommend_button)
    refreshed(qtbot, dialog, lambda: dialog.recommend_button.text().endswith("(installed)"))
    assert not dialog.recommend_button.isEnabled()


def test_every_catalog_row_shows_its_speed_on_this_machine(qtbot, make_dialog) -> None:  # type: ignore[no-untyped-def]
    entries = list(load_catalog().entries)
    dialog = make_dialog(entries, profile="unusable_gpu_32gb")
    speeds = {entry.id: dialog.catalog_view.speed(entry.id) for entry in entries}
    fits = {f.entry.id: f for f in dialog.plan.fits}
    for entry in entries:
        if fits[entry.id].fits:
            expected = "tok/s · 2K question" if entry.serves_chat else "ghost text"
            assert expected in speeds[entry.id], entry.id
        else:
            assert speeds[entry.id] == "–"
    rec = dialog.plan.recommendation
    assert speeds[rec.entry.id].startswith(f"{rec.speed.decode_tokens_per_s:.0f} tok/s")
    label = dialog.catalog_view.recommendation_label.text()
    assert dialog.plan.alternative_reason and dialog.plan.alternative_reason in label  # the bigger, slower one


@pytest.mark.slow
def test_an_unmeasured_machine_is_measured_once_and_planned_again(qtbot, make_dialog) -> None:  # type: ignore[no-untyped-def]
    unmeasured = lambda models_dir: dataclasses.replace(machine("laptop_16gb")(models_dir), machine_speed=None)  # noqa: E731
    entry = load_catalog().get("deepseek-coder-1.3b-instruct:Q4_K_M")
    dialog = make_dialog([entry], prober=unmeasured)
    panel = dialog.machine_panel
    if dialog.machine.machine.machine_speed is None:  # the first plan, with typical speeds
        assert dialog.plan.recommendation.speed.source == "assumed"
        with qtbot.waitSignal(dialog.planReady, timeout=TIMEOUT_MS * 3):
            pass
    speed = dialog.machine.machine.machine_speed
    assert speed is not None and speed.measured_at and speed.cpu_decode_bytes_per_s > 0
    assert dialog.plan.recommendation.speed.source == "predicted"
    assert panel.speed_label.text().startswith("Speed: CPU ") and "measured " in panel.speed_label.text()
    assert panel.measure_button.isEnabled()

    fractions: list[float] = []
    dialog.machine.measuring.connect(fractions.append)
    with qtbot.waitSignal(dialog.planReady, timeout=TIMEOUT_MS * 3):
        click(qtbot, panel.measure_button)  # "Measure again"
        assert not panel.measure_button.isEnabled() and "Measuring this machine" in panel.speed_label.text()
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert dialog.machine.machine.machine_speed != speed  # a new measurement (a new time, new figures)
