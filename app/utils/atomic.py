"""Writing a file so that a crash or a full disk never leaves half of it.

The data goes to a temporary file in the same folder, is flushed to disk, and then
replaces the target in one rename. The temporary file is created 0600 (mkstemp), so a
secret is never readable by others, even for a moment; `mode` sets other permissions.
"""

from __future__ import annotations

import errno
import logging
import os
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)


def atomic_write_bytes(
    path: Path, data: bytes | bytearray | Iterable[bytes | bytearray], mode: int | None = None
) -> None:
    """Replace `path` with `data` (bytes, or parts written one after another) atomically;
    raises OSError and leaves `path` unchanged on failure (a full disk included)."""
    parts = [data] if isinstance(data, bytes | bytearray) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            for part in parts:
                handle.write(part)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str, mode: int | None = None) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), mode)


SQLITE_FULL = 13  # sqlite3.Error.sqlite_errorcode of "database or disk is full"


def is_disk_full(exc: BaseException | None) -> bool:
    """Whether `exc` (or what it was raised from) is a full disk: ENOSPC, a quota, SQLite's FULL."""
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno in {errno.ENOSPC, errno.EDQUOT}:
            return True
        if getattr(exc, "sqlite_errorcode", None) == SQLITE_FULL:
            return True
        exc = exc.__cause__
    return False


class WriteFailures:
    """Says a failing save once, not once per save: the first failure of a run of them is
    logged and returned for showing; the repeats are only counted until a save succeeds."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.count = 0
        self.message: str | None = None
        self._lock = threading.Lock()

    def failed(self, path: Path, exc: BaseException) -> str | None:
        """The message to show for this failure, or None when it was already said."""
        reason = "the disk is full" if is_disk_full(exc) else (getattr(exc, "strerror", None) or str(exc))
        with self._lock:
            self.count += 1
            if self.message is not None:
                return None
            self.message = (
                f"Could not save {self.what} in {path.parent}: {reason}. What was saved before is intact. "
                "Free some space (or fix the folder); later saves go on by themselves"
            )
            message = self.message
        log.warning("%s", message)
        return message

    def succeeded(self) -> None:
        with self._lock:
            if self.message is not None:
                log.info("saving %s works again (after %d failed saves)", self.what, self.count)
            self.count, self.message = 0, None
