"""Control of long jobs (downloads, hashing, copying, probing): pause and cancel from any
thread, checked by the worker; and the progress callback such jobs report through."""

from __future__ import annotations

import threading
from collections.abc import Callable

from app.utils.errors import CancelledError

# (units done so far, total units): bytes for a download or a hash
Progress = Callable[[int, int], None]


class JobControl:
    """Pause and cancel requests, set from any thread, checked by the worker.

    One `threading.Event` wakes the worker from back-off sleeps at once; the reason
    says whether to keep the partial file (pause) or stop for good (cancel).
    """

    def __init__(self) -> None:
        self._stop = threading.Event()
        self.reason: str | None = None  # "pause" or "cancel"
        self.remove_partial = False

    def pause(self) -> None:
        self.reason = "pause"
        self._stop.set()

    def cancel(self, remove_partial: bool = False) -> None:
        self.reason = "cancel"
        self.remove_partial = remove_partial
        self._stop.set()

    def reset(self) -> None:
        self.reason = None
        self.remove_partial = False
        self._stop.clear()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def raise_if_stopped(self) -> None:
        if self._stop.is_set():
            if self.reason == "pause":
                raise PausedError()
            raise CancelledError()

    def sleep(self, seconds: float) -> None:
        """Wait, but wake and raise as soon as a pause or cancel arrives."""
        self._stop.wait(seconds)
        self.raise_if_stopped()


class PausedError(CancelledError):
    """The user paused; the partial file stays and a later run resumes from it."""

    def __init__(self) -> None:
        super().__init__("Paused")
