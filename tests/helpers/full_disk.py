"""A disk that fills up: a small tmpfs the test mounts (as root, by the mount system call:
no process is started), else writes made to fail at the edge (os.fsync, where a real full
disk also reports ENOSPC for buffered data)."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest


class SmallDisk:
    def __init__(self, folder: Path, mounted: bool, monkeypatch: pytest.MonkeyPatch) -> None:
        self.folder = folder
        self.mounted = mounted  # a real filesystem that fills; else the write fails by a patch
        self._monkeypatch = monkeypatch
        self._filler = folder / ".filler"

    def fill(self) -> None:
        """From now on, writing more data fails with ENOSPC."""
        if self.mounted:
            with contextlib.suppress(OSError), open(self._filler, "wb") as handle:
                while True:
                    handle.write(b"\0" * 4096)
                    handle.flush()
            return

        def no_space(_fd: int) -> None:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        self._monkeypatch.setattr(os, "fsync", no_space)

    def free(self) -> None:
        if self.mounted:
            self._filler.unlink(missing_ok=True)
        else:
            self._monkeypatch.undo()


MNT_DETACH = 2


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux") or os.geteuid() != 0 or os.environ.get("DSCODER_TEST_NO_MOUNT"):
        return None
    return ctypes.CDLL(None, use_errno=True)  # the C library this process runs on (no lookup process)


@pytest.fixture
def small_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SmallDisk]:
    folder = tmp_path / "small-disk"
    folder.mkdir()
    libc = _libc()
    target = os.fsencode(folder)
    mounted = libc is not None and libc.mount(b"tmpfs", target, b"tmpfs", 0, b"size=1m") == 0
    try:
        yield SmallDisk(folder, mounted, monkeypatch)
    finally:
        if mounted and libc is not None:
            libc.umount2(target, MNT_DETACH)
