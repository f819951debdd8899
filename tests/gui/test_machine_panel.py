"""The "This machine" panel shows a recorded profile's readings and plan."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QAbstractItemView

from app.hardware.probe import probe_machine
from app.models.catalog import load_catalog
from app.models.planning.planner import PlanOptions, plan_for_machine
from app.models.ui.machine_panel import COLUMNS, MachinePanel
from tests.helpers.hardware_profiles import PROFILES, readers_for


def test_panel_shows_the_readings_recommendation_and_fit_table(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    machine = probe_machine(tmp_path, readers_for(PROFILES["rtx3060_32gb"]))
    plan = plan_for_machine(machine, PlanOptions(purpose="chat"))
    panel = MachinePanel()
    qtbot.addWidget(panel)
    assert "Reading this machine" in panel.status_label.text()

    panel.show_machine(machine, plan)

    assert panel.status_label.isHidden()
    readings = dict(panel.reading_rows())
    assert "AMD Ryzen 7 5800X" in readings["CPU:"]
    assert "31.3 GB total" in readings["RAM:"]
    assert "NVIDIA GeForce RTX 3060" in readings["GPU:"] and "used through CUDA" in readings["GPU:"]
    assert plan.reason in panel.recommendation_label.text()

    table = panel.fit_table
    assert table.rowCount() == len(load_catalog().entries)
    assert table.columnCount() == len(COLUMNS)
    row = plan.fits.index(plan.recommendation)
    assert table.item(row, 0).text() == "deepseek-coder-v2-lite-instruct"
    assert table.item(row, 3).text() == "Partial GPU"
    assert table.item(row, 0).font().bold()
    texts = {table.item(r, 3).text() for r in range(table.rowCount())}
    assert {"Full GPU", "Partial GPU", "Remote only"} <= texts
    assert table.editTriggers() == QAbstractItemView.EditTrigger.NoEditTriggers  # display only
    speed = plan.recommendation.speed
    columns = {title: table.item(row, COLUMNS.index(title)).text() for title in COLUMNS}
    assert columns["Answers at"] == f"{speed.decode_tokens_per_s:.0f} tok/s"
    assert columns["2K question"].endswith(" s") and columns["Ghost text"].endswith(" s")
    assert panel.speed_label.text() == (
        "Speed: CPU 36.0 GB/s decode, 670 GFLOP/s prompt; NVIDIA GeForce RTX 3060 230 GB/s, 30.0 TFLOP/s (recorded)"
    )


def test_panel_says_when_the_gpu_cannot_be_used(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    machine = probe_machine(tmp_path, readers_for(PROFILES["unusable_gpu_32gb"]))
    plan = plan_for_machine(machine)
    panel = MachinePanel()
    qtbot.addWidget(panel)
    panel.show_machine(machine, plan)
    assert "not usable" in dict(panel.reading_rows())["GPU:"]
    assert "RTX 3060 is not used" in panel.notes_label.text()
    assert "on the CPU" in panel.recommendation_label.text()
    # The bigger model that fits but reads a 2K-token question too slowly is the second line.
    assert plan.alternative_reason and "<i>Also possible:</i> V2-Lite" in panel.recommendation_label.text()


def test_measure_again_is_forwarded_and_progress_shown(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    machine = probe_machine(tmp_path, readers_for(PROFILES["laptop_8gb"]))
    panel = MachinePanel()
    qtbot.addWidget(panel)
    panel.show_machine(machine, plan_for_machine(machine))
    with qtbot.waitSignal(panel.measureRequested):
        panel.measure_button.click()
    panel.show_measuring(0.4)
    assert panel.speed_label.text() == "Measuring this machine's speed (under 10 s)… 40%"
    assert not panel.measure_button.isEnabled()
    panel.show_speed_error("Could not measure this machine's speed: it ran past its time")
    assert "ran past its time" in panel.speed_label.text() and panel.measure_button.isEnabled()
