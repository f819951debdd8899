"""The "This machine" panel shows a recorded profile's readings and plan."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QAbstractItemView

from app.hardware.probe import probe_machine
from app.models.catalog import load_catalog
from app.models.planner import PlanOptions, plan_for_machine
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


def test_panel_says_when_the_gpu_cannot_be_used(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    machine = probe_machine(tmp_path, readers_for(PROFILES["unusable_gpu_32gb"]))
    plan = plan_for_machine(machine)
    panel = MachinePanel()
    qtbot.addWidget(panel)
    panel.show_machine(machine, plan)
    assert "not usable" in dict(panel.reading_rows())["GPU:"]
    assert "RTX 3060 is not used" in panel.notes_label.text()
    assert "on the CPU" in panel.recommendation_label.text()
