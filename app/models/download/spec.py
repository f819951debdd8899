"""What a download is and what it reports: specs, progress, options, results.

Plain data shared by `job` (one download), `queue` and the UI workers.
"""

from __future__ import annotations

import enum
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.models.download.transfer import RetryPolicy
from app.utils.errors import DscoderError

SPLIT_SHARD = re.compile(r"^(?P<stem>.*)-(?P<index>\d{5})-of-(?P<count>\d{5})\.gguf$")
CONCAT_PIECE = re.compile(r"^(?P<stem>.*)\.part(?P<index>\d+)of(?P<count>\d+)$")


@dataclass(frozen=True)
class SpecFile:
    name: str  # path inside the repo
    size: int | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class DownloadSpec:
    """What to download: files of one repo at one revision, and how they form a model."""

    repo: str
    revision: str
    files: tuple[SpecFile, ...]
    join: str | None = None  # None, "split" (llama.cpp shards) or "concat" (.partXofY)
    catalog_id: str | None = None

    @property
    def label(self) -> str:
        return self.catalog_id or f"{self.repo}/{self.files[0].name}"

    @classmethod
    def from_catalog_entry(cls, entry: Any) -> DownloadSpec:
        # An approximate catalog size is no check at all: the hub's metadata gives the real one.
        exact = bool(getattr(entry, "size_exact", True))
        files = tuple(SpecFile(f.name, f.size if exact else None, f.sha256) for f in entry.files)
        return cls(repo=entry.repo, revision=entry.revision, files=files, join=entry.join, catalog_id=entry.id)

    @classmethod
    def for_repo_file(cls, repo: str, filename: str, revision: str = "main", sha256: str | None = None) -> DownloadSpec:
        """One named file; a shard or piece name brings in the rest of its set."""
        names, join = shard_set_names(filename)
        if sha256 is not None and len(names) > 1:
            raise DscoderError(
                f"--sha256 names one hash but {filename} is one of {len(names)} pieces",
                "Leave out --sha256: each piece is checked against the hub's own sha256",
            )
        files = tuple(SpecFile(name, None, sha256.lower() if sha256 else None) for name in names)
        return cls(repo=repo, revision=revision, files=files, join=join)


def shard_set_names(filename: str) -> tuple[list[str], str | None]:
    """All names of the set that `filename` belongs to, and how the set joins."""
    folder, _, base = filename.rpartition("/")
    prefix = f"{folder}/" if folder else ""
    if match := SPLIT_SHARD.match(base):
        count = int(match["count"])
        return [f"{prefix}{match['stem']}-{i:05d}-of-{count:05d}.gguf" for i in range(1, count + 1)], "split"
    if match := CONCAT_PIECE.match(base):
        count = int(match["count"])
        return [f"{prefix}{match['stem']}.part{i}of{count}" for i in range(1, count + 1)], "concat"
    return [filename], None


class JobState(enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class DownloadProgress:
    phase: str  # checking, downloading, verifying, installing, done
    filename: str
    done_bytes: int
    total_bytes: int
    speed_bps: float | None = None  # bytes per second over the last few seconds
    eta_seconds: float | None = None

    @property
    def fraction(self) -> float:
        return self.done_bytes / self.total_bytes if self.total_bytes else 0.0


ProgressCallback = Callable[[DownloadProgress], None]


@dataclass(frozen=True)
class DownloadOptions:
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    disk_margin_bytes: int = 512 * 1024 * 1024  # room left free after the download
    progress_interval: float = 0.1  # seconds between progress callbacks


@dataclass(frozen=True)
class InstallResult:
    path: Path  # the file to load (the first shard of a split set)
    files: tuple[Path, ...]
    sha256: dict[str, str]  # hub file name -> verified sha256
    already_installed: bool = False
    catalog_id: str | None = None


class SpeedMeter:
    """Bytes per second over a sliding window, for speed and ETA."""

    def __init__(self, window: float = 5.0) -> None:
        self.window = window
        self._samples: deque[tuple[float, int]] = deque()

    def add(self, done: int) -> float | None:
        now = time.monotonic()
        self._samples.append((now, done))
        while len(self._samples) > 2 and now - self._samples[0][0] > self.window:
            self._samples.popleft()
        first_time, first_done = self._samples[0]
        elapsed = now - first_time
        return (done - first_done) / elapsed if elapsed > 0.2 else None
