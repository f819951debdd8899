"""The model manager's tables: the catalog and the installed models.

Display only: each view shows what it is given and forwards intent as signals;
`ModelManagerDialog` does the work.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal, SignalInstance
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.models.catalog import CatalogEntry
from app.models.library import InstalledModel
from app.models.planning.planner import QuantFit
from app.models.ui.manager_data import fit_text, model_columns, size_text, speed_cell

CATALOG_COLUMNS = ("Model", "Quant", "Size", "Fit on this machine", "Speed on this machine", "Status", "")
QUANT_COLUMN, FIT_COLUMN, SPEED_COLUMN, STATUS_COLUMN = 1, 3, 4, 5
INSTALLED_COLUMNS = (
    "File",
    "Architecture",
    "Parameters",
    "Quant",
    "Context",
    "Chat template",
    "FIM",
    "Size",
    "Verification",
    "Used for",
)
STATE_COLOURS = {
    "verified": QColor(46, 160, 67),
    "mismatch": QColor(215, 58, 73),
    "changed": QColor(215, 58, 73),
    "missing": QColor(215, 58, 73),
}


def _table(columns: Sequence[str]) -> QTableWidget:
    table = QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(list(columns))
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.verticalHeader().setVisible(False)
    table.setAlternatingRowColors(True)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    return table


def cell(table: QTableWidget, row: int, column: int) -> QTableWidgetItem:
    """A cell the view filled in itself (never empty)."""
    item = table.item(row, column)
    assert item is not None, (row, column)
    return item


def _bold(font: QFont) -> QFont:
    font = QFont(font)
    font.setBold(True)
    return font


class CatalogView(QWidget):
    """Every catalog entry with its fit on this machine, its state and a Download button."""

    downloadRequested = Signal(str)  # catalog id

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter: 6.7b, instruct, Q4_K_M, installed…")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self.apply_filter)
        self.recommendation_label = QLabel("Reading this machine to see what fits…")
        self.recommendation_label.setWordWrap(True)
        self.recommendation_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.table = _table(CATALOG_COLUMNS)
        self.table.setObjectName("catalogTable")
        self.table.horizontalHeader().setSectionResizeMode(FIT_COLUMN, QHeaderView.ResizeMode.Stretch)
        layout = QVBoxLayout(self)
        layout.addWidget(self.recommendation_label)
        layout.addWidget(self.filter_edit)
        layout.addWidget(self.table, 1)
        self._rows: dict[str, int] = {}
        self._buttons: dict[str, QPushButton] = {}

    def set_entries(self, entries: Sequence[CatalogEntry]) -> None:
        self.table.setRowCount(len(entries))
        self._rows.clear()
        self._buttons.clear()
        for row, entry in enumerate(entries):
            self._rows[entry.id] = row
            texts = (entry.variant, entry.quant, size_text(entry), fit_text(None), "…", "…")
            for column, text in enumerate(texts):
                item = QTableWidgetItem(text)
                if column == 0:
                    item.setData(Qt.ItemDataRole.UserRole, entry.id)
                    item.setToolTip(f"{entry.id}\n{entry.repo}\n{entry.license}")
                self.table.setItem(row, column, item)
            button = QPushButton("Download")
            button.setObjectName(f"download:{entry.id}")
            button.clicked.connect(lambda _checked=False, entry_id=entry.id: self.downloadRequested.emit(entry_id))
            self._buttons[entry.id] = button
            self.table.setCellWidget(row, len(CATALOG_COLUMNS) - 1, button)
        self.apply_filter()

    def set_quality(self, entry_id: str, text: str) -> None:
        """What is known of the entry's quality (published, measured here): the quant cell's tooltip."""
        row = self._rows.get(entry_id)
        if row is not None:
            cell(self.table, row, QUANT_COLUMN).setToolTip(text)

    def set_fit(self, entry_id: str, fit: QuantFit | None, recommended: bool = False) -> None:
        row = self._rows.get(entry_id)
        if row is None:
            return
        item = cell(self.table, row, FIT_COLUMN)
        item.setText(fit_text(fit) + ("  ★ recommended" if recommended else ""))
        item.setToolTip(fit.why if fit is not None else "")
        speed, speed_tip = speed_cell(fit)
        cell(self.table, row, SPEED_COLUMN).setText(speed)
        cell(self.table, row, SPEED_COLUMN).setToolTip(speed_tip)
        for column in range(len(CATALOG_COLUMNS) - 1):
            other = cell(self.table, row, column)
            other.setFont(_bold(other.font()) if recommended else QFont(self.table.font()))
            grey = fit is not None and not fit.fits
            other.setForeground(QBrush(QColor(128, 128, 128)) if grey else QBrush())

    def set_recommendation(self, text: str) -> None:
        self.recommendation_label.setText(text)

    def scroll_to(self, entry_id: str) -> None:
        if (row := self._rows.get(entry_id)) is not None:
            self.table.scrollToItem(cell(self.table, row, 0), QAbstractItemView.ScrollHint.PositionAtCenter)

    def set_status(self, entry_id: str, text: str, action: str | None) -> None:
        """Status text, and what the row's button does: "Download", "Resume", "Download again" or None (disabled)."""
        row = self._rows.get(entry_id)
        if row is None:
            return
        cell(self.table, row, STATUS_COLUMN).setText(text)
        button = self._buttons[entry_id]
        busy = "Queued" if text == "queued" else "Downloading…"
        button.setText(action or ("Installed" if text.startswith("installed") else busy))
        button.setEnabled(action is not None)
        self.apply_filter()

    def status(self, entry_id: str) -> str:
        return cell(self.table, self._rows[entry_id], STATUS_COLUMN).text()

    def fit(self, entry_id: str) -> str:
        return cell(self.table, self._rows[entry_id], FIT_COLUMN).text()

    def speed(self, entry_id: str) -> str:
        return cell(self.table, self._rows[entry_id], SPEED_COLUMN).text()

    def download_button(self, entry_id: str) -> QPushButton:
        return self._buttons[entry_id]

    def apply_filter(self) -> None:
        words = self.filter_edit.text().lower().split()
        for row in range(self.table.rowCount()):
            text = " ".join(cell(self.table, row, c).text().lower() for c in range(len(CATALOG_COLUMNS) - 1))
            entry_id = cell(self.table, row, 0).data(Qt.ItemDataRole.UserRole) or ""
            text += " " + str(entry_id).lower()
            self.table.setRowHidden(row, not all(word in text for word in words))

    def visible_ids(self) -> list[str]:
        return [entry_id for entry_id, row in self._rows.items() if not self.table.isRowHidden(row)]


class InstalledView(QWidget):
    """The models on disk, their GGUF facts and state, and what can be done with one."""

    useForChat = Signal(str)  # path
    useForCompletion = Signal(str)
    verifyRequested = Signal(str)
    revealRequested = Signal(str)
    deleteRequested = Signal(str)
    importRequested = Signal()
    cancelTaskRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.folder_label = QLabel()
        self.folder_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.table = _table(INSTALLED_COLUMNS)
        self.table.setObjectName("installedTable")
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.empty_label = QLabel("No models yet. Download one from the Catalog tab, or import a GGUF file you have.")
        self.empty_label.setWordWrap(True)

        self.chat_button = QPushButton("Use for chat")
        self.completion_button = QPushButton("Use for completion")
        self.verify_button = QPushButton("Verify again")
        self.reveal_button = QPushButton("Reveal in file manager")
        self.delete_button = QPushButton("Delete…")
        self.import_button = QPushButton("Import GGUF…")
        for button, signal in (
            (self.chat_button, self.useForChat),
            (self.completion_button, self.useForCompletion),
            (self.verify_button, self.verifyRequested),
            (self.reveal_button, self.revealRequested),
            (self.delete_button, self.deleteRequested),
        ):
            button.clicked.connect(lambda _checked=False, s=signal: self._emit_for_selection(s))
        self.import_button.clicked.connect(self.importRequested.emit)
        buttons = QHBoxLayout()
        for button in (
            self.chat_button,
            self.completion_button,
            self.verify_button,
            self.reveal_button,
            self.delete_button,
        ):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.import_button)

        self.task_label = QLabel()
        self.task_bar = QProgressBar()
        self.task_cancel = QPushButton("Cancel")
        self.task_cancel.clicked.connect(self.cancelTaskRequested.emit)
        self.task_row = QWidget()
        task_layout = QHBoxLayout(self.task_row)
        task_layout.setContentsMargins(0, 0, 0, 0)
        task_layout.addWidget(self.task_label)
        task_layout.addWidget(self.task_bar, 1)
        task_layout.addWidget(self.task_cancel)
        self.task_row.hide()

        layout = QVBoxLayout(self)
        layout.addWidget(self.folder_label)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.empty_label)
        layout.addWidget(self.task_row)
        layout.addLayout(buttons)
        self._models: list[InstalledModel] = []
        self._busy = False
        self._update_buttons()

    def set_models(self, models: Sequence[InstalledModel], chat_path: str, completion_path: str) -> None:
        selected = self.selected_path()
        self._models = list(models)
        self.table.setRowCount(len(self._models))
        for row, model in enumerate(self._models):
            roles = [
                name
                for name, path in (("chat", chat_path), ("completion", completion_path))
                if path and path == str(model.path)
            ]
            for column, text in enumerate((*model_columns(model), " + ".join(roles))):
                item = QTableWidgetItem(text)
                if column == 0:
                    item.setData(Qt.ItemDataRole.UserRole, str(model.path))
                    item.setToolTip(str(model.path) + (f"\n{model.info_error}" if model.info_error else ""))
                if column == 8 and model.state in STATE_COLOURS:
                    item.setForeground(QBrush(STATE_COLOURS[model.state]))
                if roles:
                    item.setFont(_bold(item.font()))
                self.table.setItem(row, column, item)
        self.empty_label.setVisible(not self._models)
        if selected:
            self.select_path(selected)
        self._update_buttons()

    def models(self) -> list[InstalledModel]:
        return list(self._models)

    def row_texts(self, path: str) -> dict[str, str]:
        """The row of one model as shown, by column title (for tests and accessibility)."""
        for row in range(self.table.rowCount()):
            if cell(self.table, row, 0).data(Qt.ItemDataRole.UserRole) == path:
                return {title: cell(self.table, row, c).text() for c, title in enumerate(INSTALLED_COLUMNS)}
        raise KeyError(path)

    def selected_path(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return str(cell(self.table, rows[0].row(), 0).data(Qt.ItemDataRole.UserRole))

    def select_path(self, path: str) -> None:
        for row in range(self.table.rowCount()):
            if cell(self.table, row, 0).data(Qt.ItemDataRole.UserRole) == path:
                self.table.selectRow(row)
                return

    def show_task(self, text: str, done: int = 0, total: int = 0) -> None:
        """A library operation is running: show it with its progress and a Cancel button."""
        self._busy = True
        self.task_label.setText(text)
        self.task_bar.setRange(0, 1000 if total else 0)
        if total:
            self.task_bar.setValue(int(done * 1000 / total))
        self.task_row.show()
        self._update_buttons()

    def hide_task(self) -> None:
        self._busy = False
        self.task_row.hide()
        self._update_buttons()

    def _emit_for_selection(self, signal: SignalInstance) -> None:
        path = self.selected_path()
        if path is not None:
            signal.emit(path)

    def _update_buttons(self) -> None:
        chosen = self.selected_path() is not None
        for button in (self.chat_button, self.completion_button, self.reveal_button):
            button.setEnabled(chosen)
        for button in (self.verify_button, self.delete_button):
            button.setEnabled(chosen and not self._busy)
        self.import_button.setEnabled(not self._busy)


class MessageBar(QFrame):
    """One message above the tabs, red for an error, green for news, with Dismiss."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageBar")
        self.label = QLabel()
        self.label.setObjectName("modelManagerMessage")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.dismiss_button = QPushButton("Dismiss")
        self.dismiss_button.clicked.connect(self.clear)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.dismiss_button, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    def show_error(self, text: str) -> None:
        self._show(text, "#f8d7da", "#58151c")

    def show_info(self, text: str) -> None:
        self._show(text, "#d1e7dd", "#0a3622")

    def clear(self) -> None:
        self.label.clear()
        self.hide()

    def _show(self, text: str, background: str, foreground: str) -> None:
        self.label.setText(text)
        self.setStyleSheet(
            f"QFrame#messageBar {{ background: {background}; border-radius: 4px; }}QLabel {{ color: {foreground}; }}"
        )
        self.show()
