"""This machine's measured speed on the Speed and memory page, with its Measure again button.

The reading (when the row is first shown) and the measurement run off the GUI thread (reading
the machine asks the GPUs in a child process; measuring runs the benchmark child, under 10 s). A speed measured while
the machine was busy says so (app/hardware/machine_speed.py `under_load_note`), the same
words as the model manager's This machine panel and `dscoder probe`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from app.hardware.machine_speed import MachineSpeed, describe_machine_speed
from app.hardware.machine_speed_benchmark import with_machine_speed
from app.hardware.probe import probe_machine
from app.utils.jobs import JobControl
from app.utils.ui.tasks import BackgroundTasks

ReadSpeed = Callable[[], MachineSpeed | None]
MeasureSpeed = Callable[[Callable[[float, str], None], JobControl], MachineSpeed]


def _read_this_machine() -> MachineSpeed | None:
    """The speed cached for this machine as it is now (probing asks the GPUs in a child process)."""
    return probe_machine(Path(".")).machine_speed


def _measure_this_machine(progress: Callable[[float, str], None], control: JobControl) -> MachineSpeed:
    measured = with_machine_speed(probe_machine(Path(".")), again=True, progress=progress, control=control)
    assert measured.machine_speed is not None
    return measured.machine_speed


class MachineSpeedRow(QWidget):
    """ "CPU 11.5 GB/s decode, ... (measured ...)" and a Measure again button."""

    def __init__(self, read: ReadSpeed = _read_this_machine, measure: MeasureSpeed = _measure_this_machine) -> None:
        super().__init__()
        self._measure = measure
        self._tasks = BackgroundTasks(self, max_workers=1)
        self.label = QLabel("Reading this machine…")
        self.label.setObjectName("machineSpeed")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.measure_button = QPushButton("Measure again")
        self.measure_button.setToolTip("Run the speed benchmark again (under 10 s): llama.cpp on a synthetic model")
        self.measure_button.clicked.connect(self.measure_again)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.label, 1)
        row.addWidget(self.measure_button, 0, Qt.AlignmentFlag.AlignTop)
        self._read = read
        self._read_started = False

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        """Read the speed when the row is first shown: opening Settings on another page asks no GPU."""
        super().showEvent(event)
        if not self._read_started:
            self._read_started = True
            read = self._read
            self._tasks.start(lambda _p, _c: read(), self._show, on_failed=self._failed)

    def measure_again(self) -> None:
        self.measure_button.setEnabled(False)
        self.label.setText("Measuring this machine's speed (under 10 s)…")

        def work(progress: Callable[[int, int], None], control: JobControl) -> object:
            return self._measure(lambda fraction, _step: progress(int(fraction * 1000), 1000), control)

        self._tasks.start(
            work,
            self._show,
            on_failed=self._failed,
            on_progress=lambda done, total: self.label.setText(
                f"Measuring this machine's speed (under 10 s)… {done / max(1, total):.0%}"
            ),
        )

    def _show(self, speed: object) -> None:
        self.label.setText(describe_machine_speed(speed if isinstance(speed, MachineSpeed) else None))
        self.measure_button.setEnabled(True)

    def _failed(self, message: str) -> None:
        self.label.setText(message)
        self.measure_button.setEnabled(True)

    def shutdown(self) -> None:
        self._tasks.shutdown()
