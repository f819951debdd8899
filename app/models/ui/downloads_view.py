"""The Downloads tab: one row per download, with its bar, its bytes, speed and ETA.

Display only: the rows show what `DownloadJobs` gives them and forward Pause,
Resume, Cancel and Remove as signals.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.models.download.job import DownloadProgress
from app.models.ui.manager_data import live_status_text, progress_detail


class DownloadRow(QFrame):
    """One download: name, bar, bytes · speed · ETA, and Pause / Resume / Cancel."""

    def __init__(self, job_id: int, label: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.job_id = job_id
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title = QLabel(f"<b>{label}</b>")
        self.state_label = QLabel("Queued")
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setValue(0)
        self.detail = QLabel()
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.pause_button = QPushButton("Pause")
        self.resume_button = QPushButton("Resume")
        self.cancel_button = QPushButton("Cancel")
        self.remove_button = QPushButton("Remove from list")
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.state_label)
        controls = QHBoxLayout()
        controls.addWidget(self.bar, 1)
        for button in (self.pause_button, self.resume_button, self.cancel_button, self.remove_button):
            controls.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(controls)
        layout.addWidget(self.detail)
        self.set_state("queued")

    def set_progress(self, progress: DownloadProgress) -> None:
        if progress.total_bytes:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(progress.fraction * 1000))
        else:
            self.bar.setRange(0, 0)  # busy: the size is not known yet
        self.state_label.setText(live_status_text(progress).capitalize())
        self.detail.setText(progress_detail(progress))

    def set_state(self, state: str, text: str | None = None) -> None:
        """state: queued, running, paused, done, failed, cancelled."""
        self.pause_button.setVisible(state in ("queued", "running"))
        self.resume_button.setVisible(state in ("paused", "failed", "cancelled"))
        self.resume_button.setText("Retry" if state == "failed" else "Resume")
        self.cancel_button.setVisible(state in ("queued", "running", "paused", "failed"))
        self.remove_button.setVisible(state in ("done", "failed", "cancelled"))
        if state != "running":
            self.state_label.setText(
                {
                    "queued": "Queued",
                    "paused": "Paused",
                    "done": "Installed",
                    "failed": "Failed",
                    "cancelled": "Cancelled",
                }.get(state, state)
            )
        if state == "done":
            self.bar.setRange(0, 1000)
            self.bar.setValue(1000)
        elif state in ("paused", "failed", "cancelled") and self.bar.maximum() == 0:
            self.bar.setRange(0, 1000)
        if text is None and state == "queued":
            text = "Waiting: downloads run one at a time."
        if text is not None:
            self.detail.setText(text)


class DownloadsView(QWidget):
    """A row per download; the buttons forward to the dialog."""

    pauseRequested = Signal(int)  # job id
    resumeRequested = Signal(int)
    cancelRequested = Signal(int)
    removeRequested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.empty_label = QLabel("No downloads. Start one from the Catalog or This machine tab.")
        self._rows: dict[int, DownloadRow] = {}
        self._list = QVBoxLayout()
        self._list.addWidget(self.empty_label)
        self._list.addStretch(1)
        inner = QWidget()
        inner.setLayout(self._list)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(inner)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll)

    def add_row(self, job_id: int, label: str) -> DownloadRow:
        if job_id in self._rows:
            return self._rows[job_id]
        row = DownloadRow(job_id, label)
        row.pause_button.clicked.connect(lambda: self.pauseRequested.emit(job_id))
        row.resume_button.clicked.connect(lambda: self.resumeRequested.emit(job_id))
        row.cancel_button.clicked.connect(lambda: self.cancelRequested.emit(job_id))
        row.remove_button.clicked.connect(lambda: self.removeRequested.emit(job_id))
        self._rows[job_id] = row
        self._list.insertWidget(self._list.count() - 1, row)
        self.empty_label.hide()
        return row

    def row(self, job_id: int) -> DownloadRow:
        return self._rows[job_id]

    def has_row(self, job_id: int) -> bool:
        return job_id in self._rows

    def remove_row(self, job_id: int) -> None:
        row = self._rows.pop(job_id, None)
        if row is not None:
            self._list.removeWidget(row)
            row.deleteLater()
        self.empty_label.setVisible(not self._rows)
