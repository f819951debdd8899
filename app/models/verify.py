"""File checks shared by downloads and the library: sha256, free disk space, sizes.

Hashing runs in whatever thread calls it (a download or verify worker, never the
GUI thread), reports progress and stops when its control is cancelled.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from pathlib import Path

from app.utils.errors import DscoderError
from app.utils.jobs import JobControl, Progress
from app.utils.units import file_size

HASH_BLOCK = 4 * 1024 * 1024  # large reads keep hashlib (which releases the GIL) busy


def sha256_file(
    path: Path,
    *,
    progress: Progress | None = None,
    control: JobControl | None = None,
    progress_interval: float = 0.2,
) -> str:
    total = path.stat().st_size
    digest = hashlib.sha256()
    done = 0
    last_report = 0.0
    with path.open("rb", buffering=0) as handle:
        while block := handle.read(HASH_BLOCK):
            digest.update(block)
            done += len(block)
            if control is not None:
                control.raise_if_stopped()
            now = time.monotonic()
            if progress is not None and now - last_report >= progress_interval:
                last_report = now
                progress(done, total)
    if progress is not None:
        progress(done, total)
    return digest.hexdigest()


def free_disk_bytes(folder: Path) -> int:
    """Free bytes on the filesystem that holds `folder` (tests replace this one reading)."""
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return shutil.disk_usage(probe).free


def require_free_space(folder: Path, needed: int, what: str) -> None:
    """Refuse before anything is written when `needed` bytes will not fit."""
    free = free_disk_bytes(folder)
    if free < needed:
        missing = needed - free
        raise DscoderError(
            f"Not enough free disk space for {what}: it needs {file_size(needed)} in {folder}, "
            f"{file_size(free)} is free, {file_size(missing)} is missing",
            f"Free at least {file_size(missing)} there, or choose another models folder in Settings "
            "(or set DSCODER_MODELS_DIR)",
        )


def copy_with_progress(
    source: Path,
    target: Path,
    *,
    progress: Progress | None = None,
    control: JobControl | None = None,
) -> None:
    """Copy a file block by block, reporting progress; a stopped copy leaves no half file."""
    total = source.stat().st_size
    done = 0
    try:
        with source.open("rb", buffering=0) as reader, target.open("wb") as writer:
            while block := reader.read(HASH_BLOCK):
                if control is not None:
                    control.raise_if_stopped()
                writer.write(block)
                done += len(block)
                if progress is not None:
                    progress(done, total)
        shutil.copystat(source, target)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
