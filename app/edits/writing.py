"""Writing an accepted change to disk, and undoing it as one.

Every file is first checked against what was read (a file changed on disk since is
refused, and nothing is written); then each is written atomically (temporary file and
rename) with its own encoding (UTF-8, with its BOM when it had one) and line endings.
A failure halfway puts back the files already written. The `UndoRecord` keeps every
file's bytes before and after, so one Undo restores them all; it refuses a file that
changed since (an edit or a save after the change) unless told to overwrite.

Undo writes bytes to disk; open editors then reload from disk like after Accept.
Qt-free.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from app.editor.textfile import encode_text
from app.edits.changeset import ChangeSet, FileChange
from app.edits.workspace import StaleFileError, digest
from app.utils.atomic import atomic_write_bytes
from app.utils.errors import DscoderError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FileUndo:
    """One file's bytes before and after the change (None: the file did not exist)."""

    path: str  # relative to the folder
    absolute: Path
    before: bytes | None
    after: bytes | None
    mode: int | None  # the permission bits to restore with `before`

    def current_bytes(self) -> bytes | None:
        try:
            return self.absolute.read_bytes()
        except FileNotFoundError:
            return None

    def changed_since(self) -> bool:
        current = self.current_bytes()
        if current is None or self.after is None:
            return current != self.after
        return digest(current) != digest(self.after)


@dataclass(frozen=True)
class UndoRecord:
    """What one Accept wrote: Undo restores all of it."""

    files: tuple[FileUndo, ...]
    created_folders: tuple[Path, ...] = ()

    @property
    def paths(self) -> list[str]:
        return [f.path for f in self.files]

    def changed_since(self) -> list[str]:
        """The files that no longer hold what the change wrote."""
        return [f.path for f in self.files if f.changed_since()]


class FilesChangedSinceApply(DscoderError):
    def __init__(self, paths: Sequence[str]) -> None:
        self.paths = tuple(paths)
        super().__init__(
            f"{', '.join(self.paths)} changed after the edit was applied; Undo did not touch any file",
            "Undo anyway to put back the text from before the edit (the later changes are lost), or keep the files",
        )


def _mode_of(path: Path) -> int | None:
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        return None


def _new_file_mode() -> int:
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def _write(path: Path, data: bytes | None, mode: int | None) -> None:
    if data is None:
        path.unlink(missing_ok=True)
    else:
        atomic_write_bytes(path, data, mode if mode is not None else _new_file_mode())


def _planned(change: FileChange) -> FileUndo:
    source = change.source
    has_bom = source.text_file.has_bom if source.text_file is not None else False
    after = None if change.kind == "deleted" else encode_text(change.result_text(), has_bom)
    before = source.absolute.read_bytes() if source.exists else None
    return FileUndo(change.path, source.absolute, before, after, _mode_of(source.absolute))


def _restore(written: Sequence[FileUndo], created: Sequence[Path]) -> None:
    for undo in reversed(written):
        try:
            _write(undo.absolute, undo.before, undo.mode)
        except OSError:
            log.exception("could not put back %s", undo.absolute)
    for folder in reversed(created):
        try:
            folder.rmdir()
        except OSError:
            pass  # not empty any more: something else lives there now


def write_changeset(changeset: ChangeSet) -> UndoRecord:
    """Write the accepted part of a change; raises StaleFileError (nothing written) when a
    file changed on disk since it was read, DscoderError when a write fails (the files
    already written are put back)."""
    changes = changeset.to_write
    stale = [c.path for c in changes if c.source.changed_on_disk()]
    if stale:
        raise StaleFileError(stale)
    planned = [_planned(c) for c in changes]
    written: list[FileUndo] = []
    created: list[Path] = []
    try:
        for undo in planned:
            folder = undo.absolute.parent
            missing = [p for p in (folder, *folder.parents) if not p.exists()]
            for path in reversed(missing):
                path.mkdir()
                created.append(path)
            _write(undo.absolute, undo.after, undo.mode)
            written.append(undo)
    except OSError as exc:
        _restore(written, created)
        raise DscoderError(
            f"{undo.path} could not be written ({exc.strerror or exc}); every file was put back as it was",
            "Check the folder's permissions and free disk space, then accept again",
        ) from None
    return UndoRecord(tuple(planned), tuple(created))


def undo_change(record: UndoRecord, *, overwrite: bool = False) -> list[str]:
    """Put every file back as it was before the change; returns the paths restored.

    Raises FilesChangedSinceApply (nothing touched) when a file changed after the change
    was written, unless `overwrite`.
    """
    changed = record.changed_since()
    if changed and not overwrite:
        raise FilesChangedSinceApply(changed)
    try:
        for undo in record.files:
            _write(undo.absolute, undo.before, undo.mode)
    except OSError as exc:
        raise DscoderError(
            f"{undo.path} could not be restored ({exc.strerror or exc})",
            "Check the folder's permissions and free disk space, then undo again",
        ) from None
    _restore((), record.created_folders)
    return record.paths
