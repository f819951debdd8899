"""The completion worker: a QObject on its own named thread that asks the engine for a
middle and reports back with the request's id.

It never touches a widget. One request runs at a time; a request superseded before
it starts is skipped, and one superseded while it streams is cancelled by the GUI
thread through its CancelToken, which closes the connection so the engine stops too.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal, Slot

from app.completion.fim import complete_middle
from app.completion.fim_window import CompletionPrompt
from app.completion.support import CompletionSupport, completion_support
from app.config.sampling import INLINE_LINE_MAX_TOKENS
from app.llm.stream import CancelToken, StreamStats
from app.protocol.options import SamplingParams

if TYPE_CHECKING:  # the client brings httpx; the worker only holds what it is given
    from app.llm.client import OpenAIClient
from app.utils.errors import ClientError, DscoderError
from app.utils.ui.worker_thread import start_worker_thread, stop_worker_thread

THREAD_NAME = "completion"


@dataclass
class CompletionJob:
    request_id: int
    client: OpenAIClient
    prompt: CompletionPrompt | None  # None: only check what the model supports
    language: str = "text"
    params: SamplingParams = field(default_factory=lambda: SamplingParams(max_tokens=INLINE_LINE_MAX_TOKENS))
    cancel: CancelToken = field(default_factory=CancelToken)
    check_support: bool = False
    submitted_at: float = field(default_factory=time.monotonic)
    superseded: threading.Event = field(default_factory=threading.Event)

    def supersede(self) -> None:
        """Drop this request (from any thread): the engine stops working on it."""
        self.superseded.set()
        self.cancel.cancel()


@dataclass(frozen=True)
class CompletionResult:
    request_id: int
    middle: str = ""
    stats: StreamStats | None = None
    error: str | None = None
    skipped: bool = False  # cancelled before it reached the engine
    cancelled: bool = False  # superseded while the engine worked on it
    latency_s: float = 0.0  # from submit to the finished middle
    first_text_s: float | None = None  # from submit to the first text that could be shown


class CompletionWorker(QObject):
    started = Signal(int)  # request id: the request goes to the engine now
    partial = Signal(int, str)  # request id, the middle so far (it grows a line at a time)
    finished = Signal(object)  # CompletionResult (every job ends with exactly one)
    supportChecked = Signal(object, object)  # client, CompletionSupport

    @Slot(object)
    def run(self, job: CompletionJob) -> None:
        if job.cancel.cancelled:
            self.finished.emit(CompletionResult(job.request_id, skipped=True))
            return
        try:
            if job.check_support:
                support = self._check(job.client)
                self.supportChecked.emit(job.client, support)
                if not support.enabled or job.prompt is None:
                    self.finished.emit(CompletionResult(job.request_id, skipped=True))
                    return
            if job.prompt is None or job.cancel.cancelled:
                self.finished.emit(CompletionResult(job.request_id, skipped=True))
                return
            self.started.emit(job.request_id)
            first_text: list[float] = []

            def show(middle: str) -> None:
                if job.superseded.is_set():
                    return
                if not first_text and middle.strip():
                    first_text.append(time.monotonic() - job.submitted_at)
                self.partial.emit(job.request_id, middle)

            middle, stats = complete_middle(
                job.client, job.prompt.prefix, job.prompt.suffix, job.language, job.params, job.cancel, show
            )
        except DscoderError as exc:
            self.finished.emit(
                CompletionResult(job.request_id, error=str(exc), latency_s=time.monotonic() - job.submitted_at)
            )
            return
        # complete_middle also cancels the stream itself once the middle is complete, so
        # only the superseded flag tells a dropped request from a finished one.
        self.finished.emit(
            CompletionResult(
                job.request_id,
                middle,
                stats,
                cancelled=job.superseded.is_set(),
                latency_s=time.monotonic() - job.submitted_at,
                first_text_s=first_text[0] if first_text else None,
            )
        )

    @staticmethod
    def _check(client: OpenAIClient) -> CompletionSupport:
        try:
            info = client.engine_info()
        except ClientError as exc:
            if exc.status == 404:  # a remote server: no model details to decide on
                return completion_support(None)
            raise
        return completion_support(info)


class CompletionThread(QObject):
    """Owns the worker and its thread; `submit` is safe from the GUI thread."""

    _submit = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.worker = CompletionWorker()
        self.qthread = start_worker_thread(self.worker, THREAD_NAME)
        self._submit.connect(self.worker.run)
        self.qthread.finished.connect(self.worker.deleteLater)
        self._current: CompletionJob | None = None

    def submit(self, job: CompletionJob) -> None:
        """Run `job` next; the job before it is cancelled (in the engine, if it started)."""
        if self._current is not None:
            self._current.supersede()
        self._current = job
        self._submit.emit(job)

    def cancel_current(self) -> None:
        if self._current is not None:
            self._current.supersede()

    def stop(self, timeout_ms: int = 5000) -> None:
        self.cancel_current()
        stop_worker_thread(self.qthread, timeout_ms)
