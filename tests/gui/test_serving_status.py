"""The status bar counts the programs the engine serves, from the engine's own count."""

from __future__ import annotations

import httpx
import pytest
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QLabel

from app.mainwindow.serving import ServingMonitor
from tests.helpers.served import serving

pytestmark = pytest.mark.slow  # it runs `dscoder serve`


class ServingSession(QObject):
    """The part of EngineSession the monitor reads: its state signal and where it serves."""

    stateChanged = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.url: str | None = None

    def local_server_url(self) -> str | None:
        return self.url


def test_the_status_bar_shows_how_many_programs_are_served(qtbot, tiny_models):
    session, label = ServingSession(), QLabel()
    qtbot.addWidget(label)
    monitor = ServingMonitor(session, label)  # type: ignore[arg-type]
    try:
        assert label.isHidden()  # nothing is served yet
        with serving(tiny_models["v1"], "--ctx", "512") as server:
            httpx.get(f"{server.base}/api/tags", headers={"User-Agent": "curl/8"}, timeout=10)
            httpx.post(f"{server.base}/infill", json={"n_predict": 0}, headers={"User-Agent": "vim"}, timeout=10)
            session.url = f"{server.base}/v1"
            session.stateChanged.emit("ready")
            qtbot.waitUntil(lambda: label.text() == "Serving 2 clients", timeout=10000)
            assert "Ollama: 0" in label.toolTip() and not label.isHidden()
            session.url = None  # the engine stopped serving
            session.stateChanged.emit("none")
            assert label.isHidden()
    finally:
        monitor.shutdown()
