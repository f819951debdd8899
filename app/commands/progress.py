"""Progress bars on stderr for long commands (downloads, hashing), drawn by tqdm.

One bar per phase (downloading, verifying, ...). On a terminal it redraws itself in place;
anywhere else (a log file, a pipe, CI) each phase writes one line when it ends, so logs
hold the outcome without hundreds of carriage-return updates.
"""

from __future__ import annotations

from typing import TextIO

from tqdm import tqdm

from app.models.download.spec import DownloadProgress

# Phases that only mark a moment, never a byte count worth a bar.
NO_BAR_PHASES = frozenset({"checking", "done"})


class PhaseProgress:
    """A callable for `on_progress`: feeds DownloadProgress updates to one tqdm bar per phase."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.terminal = stream.isatty()
        self._phase = ""
        self._bar: tqdm | None = None

    def __call__(self, progress: DownloadProgress) -> None:
        if progress.phase != self._phase:
            self.close()
            self._phase = progress.phase
            if progress.phase not in NO_BAR_PHASES and progress.total_bytes > 0:
                self._bar = self._open(progress)
        bar = self._bar
        if bar is None:
            return
        label = _label(progress)
        if bar.desc != label:
            bar.set_description_str(label, refresh=False)
        bar.update(max(0, progress.done_bytes - bar.n))

    def _open(self, progress: DownloadProgress) -> tqdm:
        return tqdm(
            total=progress.total_bytes,
            desc=_label(progress),
            unit="B",
            unit_scale=True,
            file=self.stream,
            leave=True,
            dynamic_ncols=self.terminal,
            mininterval=0.1 if self.terminal else float("inf"),
            # Off a terminal nothing is drawn until close() (see there).
            delay=0.0 if self.terminal else float("inf"),
        )

    def close(self) -> None:
        """End the current phase's bar: its final state stays on screen (or is the phase's one line)."""
        bar, self._bar = self._bar, None
        if bar is None:
            return
        if not self.terminal:
            bar.delay = 0.0  # tqdm prints the final line at close only once something was "shown"
        bar.close()


def _label(progress: DownloadProgress) -> str:
    return f"{progress.phase} {progress.filename}"
