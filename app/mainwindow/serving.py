"""How many programs the local engine serves ("Serve the loaded model"), in the status bar.

While the engine serves other programs, its /dscoder/info counts them (open requests per
API, and the distinct programs seen in the last minute; the window's own requests are not
counted). This owner asks every few seconds on a pool thread and shows the answer; it
asks nothing while the engine does not serve.
"""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QLabel

from app.llm.targets import local_server_key
from app.llm.ui.session import EngineSession
from app.utils.jobs import JobControl, Progress
from app.utils.ui.tasks import BackgroundTasks

POLL_MS = 3000
API_NAMES = {"openai": "OpenAI", "ollama": "Ollama", "llama_server": "llama-server"}


def serving_text(clients: Mapping[str, object], url: str) -> tuple[str, str]:
    """(the status bar's text, its tooltip) for the engine's client counts."""
    recent = clients.get("recent_clients")
    count = recent if isinstance(recent, int) else 0
    label = "Serving: no clients" if count == 0 else f"Serving {count} client" + ("s" if count != 1 else "")
    lines = [
        f"Serving the loaded model at {url.removesuffix('/v1')}",
        "Programs seen in the last minute; open requests:",
    ]
    open_requests = clients.get("open")
    if isinstance(open_requests, Mapping):
        lines += [f"  {API_NAMES.get(str(api), api)}: {n}" for api, n in open_requests.items()]
    return label, "\n".join(lines)


def _fetch_clients(url: str) -> object:
    from app.llm.client import OpenAIClient

    client = OpenAIClient(url, local_server_key(), read_timeout=5.0)
    try:
        return client.engine_info().get("clients") or {}
    finally:
        client.close()


class ServingMonitor(QObject):
    """Polls the serving engine's client count into `label` (hidden while not serving)."""

    def __init__(self, engine: EngineSession, label: QLabel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.engine = engine
        self.label = label
        self.label.setObjectName("ServingLabel")
        self.label.hide()
        self.tasks = BackgroundTasks(self, max_workers=1, thread_prefix="serving-poll")
        self._task: int | None = None
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.poll)
        engine.stateChanged.connect(lambda _state: self.follow())
        self.follow()

    def follow(self) -> None:
        """Start or stop polling as the engine starts or stops serving."""
        if self.engine.local_server_url():
            self.timer.start()
            self.poll()
        else:
            self.timer.stop()
            self.label.hide()

    def poll(self) -> None:
        url = self.engine.local_server_url()
        if not url or self.tasks.is_running(self._task):
            return

        def fetch(_progress: Progress, _control: JobControl) -> object:
            return _fetch_clients(url)

        self._task = self.tasks.start(fetch, lambda clients: self._show(clients, url), on_failed=lambda _m: None)

    def _show(self, clients: object, url: str) -> None:
        if not isinstance(clients, Mapping) or not self.engine.local_server_url():
            return
        text, tooltip = serving_text(clients, url)
        self.label.setText(text)
        self.label.setToolTip(tooltip)
        self.label.show()

    def shutdown(self) -> None:
        self.timer.stop()
        self.tasks.shutdown()
