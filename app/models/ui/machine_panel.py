"""The "This machine" panel: probe readings, measured speed, the recommendation and every quant's fit.

Display only: the caller runs the probe, the speed benchmark and the planner off the
GUI thread and hands the results to `show_machine`, `show_measuring` and
`show_speed_error`; "Measure again" is forwarded as `measureRequested`.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.hardware.machine_speed import NOT_MEASURED, describe_machine_speed
from app.hardware.probe import MachineProfile
from app.models.planning.planner import Plan, QuantFit
from app.models.ui.manager_data import FIT_SHORT_TEXT, SPEED_MARK
from app.utils.units import duration, file_size, memory_size, token_rate

COLUMNS = (
    "Model",
    "Quant",
    "Download",
    "Fit",
    "GPU layers",
    "Context",
    "RAM",
    "VRAM",
    "Answers at",
    "2K question",
    "Ghost text",
    "Notes",
)


class MachinePanel(QWidget):
    """Shows a MachineProfile, its measured speed and the Plan made for it."""

    measureRequested = Signal()  # "Measure again"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("machinePanel")
        title = QLabel("This machine")
        font = QFont(title.font())
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        title.setFont(font)

        self.status_label = QLabel("Reading this machine…")
        self.readings = QFormLayout()
        self.speed_label = QLabel(f"Speed: {NOT_MEASURED}")
        self.speed_label.setObjectName("machineSpeed")
        self.speed_label.setWordWrap(True)
        self.speed_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.measure_button = QPushButton("Measure again")
        self.measure_button.setToolTip("Run the speed benchmark again (under 10 s): llama.cpp on a synthetic model")
        self.measure_button.clicked.connect(self.measureRequested.emit)
        speed_row = QHBoxLayout()
        speed_row.addWidget(self.speed_label, 1)
        speed_row.addWidget(self.measure_button, 0, Qt.AlignmentFlag.AlignTop)
        self.recommendation_label = QLabel()
        self.recommendation_label.setObjectName("recommendation")
        self.recommendation_label.setWordWrap(True)
        self.recommendation_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notes_label = QLabel()
        self.notes_label.setWordWrap(True)

        self.fit_table = QTableWidget(0, len(COLUMNS))
        self.fit_table.setObjectName("fitTable")
        self.fit_table.setHorizontalHeaderLabels(COLUMNS)
        self.fit_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.fit_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.fit_table.verticalHeader().setVisible(False)
        self.fit_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.fit_table.horizontalHeader().setStretchLastSection(True)

        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(self.status_label)
        layout.addLayout(self.readings)
        layout.addLayout(speed_row)
        layout.addWidget(self.recommendation_label)
        layout.addWidget(self.fit_table, 1)
        layout.addWidget(self.notes_label)

    def show_probing(self) -> None:
        self.status_label.setText("Reading this machine…")
        self.status_label.show()

    def show_error(self, text: str) -> None:
        self.status_label.setText(text)
        self.status_label.show()

    def show_measuring(self, fraction: float) -> None:
        self.speed_label.setText(f"Measuring this machine's speed (under 10 s)… {fraction:.0%}")
        self.measure_button.setEnabled(False)

    def show_speed_error(self, text: str) -> None:
        self.speed_label.setText(f"Speed: {text}")
        self.measure_button.setEnabled(True)

    def show_machine(self, machine: MachineProfile, plan: Plan, measuring: bool = False) -> None:
        self.status_label.hide()
        self._fill_readings(machine)
        if not measuring:
            self.speed_label.setText(f"Speed: {describe_machine_speed(machine.machine_speed)}")
            self.measure_button.setEnabled(True)
        text = f"<b>Recommended:</b> {_escape(plan.reason)}"
        if plan.alternative_reason:
            text += f"<br><i>Also possible:</i> {_escape(plan.alternative_reason)}"
        self.recommendation_label.setText(text)
        self._fill_table(plan)
        self.notes_label.setText("<br>".join(_escape(n) for n in plan.notes))
        self.notes_label.setVisible(bool(plan.notes))

    def reading_rows(self) -> list[tuple[str, str]]:
        """The readings as shown (label, value), for tests and accessibility."""
        rows = []
        for row in range(self.readings.rowCount()):
            label = self.readings.itemAt(row, QFormLayout.ItemRole.LabelRole)
            field = self.readings.itemAt(row, QFormLayout.ItemRole.FieldRole)
            label_widget = label.widget() if label else None
            field_widget = field.widget() if field else None
            if isinstance(label_widget, QLabel) and isinstance(field_widget, QLabel):
                rows.append((label_widget.text(), field_widget.text()))
        return rows

    def _fill_readings(self, machine: MachineProfile) -> None:
        while self.readings.rowCount():
            self.readings.removeRow(0)
        cpu, mem = machine.cpu, machine.memory
        self._add_reading(
            "CPU",
            f"{cpu.name} — {cpu.physical_cores} cores, {cpu.logical_cores} threads"
            + (f" ({', '.join(cpu.flags)})" if cpu.flags else ""),
        )
        self._add_reading(
            "RAM",
            f"{memory_size(mem.ram_total_bytes)} total, {memory_size(mem.ram_available_bytes)} available"
            + (f"; swap {memory_size(mem.swap_total_bytes)}" if mem.swap_total_bytes else ""),
        )
        if not machine.gpus:
            self._add_reading("GPU", "None found")
        for gpu in machine.gpus:
            state = f"used through {gpu.backend}" if gpu.backend_usable else f"not usable: {gpu.unusable_reason}"
            if gpu.backend_usable and not gpu.backend:
                state = "usable"
            memory = "unified memory, " if gpu.unified_memory else ""
            self._add_reading(
                "GPU",
                f"{gpu.name} — {memory}{memory_size(gpu.vram_total_bytes)} total, {memory_size(gpu.vram_free_bytes)} free; {state}",
            )
        self._add_reading("Disk", f"{file_size(machine.disk_free_bytes)} free for models")

    def _add_reading(self, label: str, value: str) -> None:
        field = QLabel(value)
        field.setWordWrap(True)
        field.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.readings.addRow(QLabel(label + ":"), field)

    def _fill_table(self, plan: Plan) -> None:
        self.fit_table.setRowCount(len(plan.fits))
        for row, fit in enumerate(plan.fits):
            for column, text in enumerate(_row_texts(fit)):
                item = QTableWidgetItem(text)
                if fit in (plan.recommendation, plan.completion):
                    item.setFont(_bold(item.font()))
                    item.setBackground(QBrush(QColor(80, 160, 80, 60)))
                elif not fit.fits:
                    item.setForeground(QBrush(QColor(128, 128, 128)))
                self.fit_table.setItem(row, column, item)
        if plan.recommendation is not None:
            first_cell = self.fit_table.item(plan.fits.index(plan.recommendation), 0)
            if first_cell is not None:
                self.fit_table.scrollToItem(first_cell)


def _row_texts(fit: QuantFit) -> tuple[str, ...]:
    entry, est, speed = fit.entry, fit.estimate, fit.speed
    layers = f"{fit.gpu_layers}/{entry.hyperparameters.n_layer + 1}" if fit.fits else "–"
    mark = SPEED_MARK.get(speed.source, "") if speed else ""
    return (
        entry.variant,
        entry.quant,
        file_size(entry.size),
        FIT_SHORT_TEXT.get(fit.fit, fit.fit),
        layers,
        str(fit.ctx) if fit.fits else "–",
        memory_size(est.ram_bytes) + (" (measured)" if est.measured else "") if est else "–",
        memory_size(est.vram_bytes) if est and est.vram_bytes else "–",
        f"{token_rate(speed.decode_tokens_per_s)} tok/s{mark}" if speed else "–",
        duration(speed.first_token_s) if speed else "–",
        duration(speed.completion_s) if speed else "–",
        fit.why,
    )


def _bold(font: QFont) -> QFont:
    font = QFont(font)
    font.setBold(True)
    return font


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
