"""The limits of an edit: the opened folder, the files that may change, and what a file
was when it was read.

Every path the model names goes through `Workspace.resolve`: a path that leaves the
folder (`..`, an absolute path elsewhere, a symlink pointing out) is refused. A file is
read once into a `FileSnapshot` that records its bytes' size, modification time and
hash, so writing can refuse a file that changed on disk since the model saw it. A file
that is not text the editor can keep byte for byte (binary, not UTF-8) is read-only.

Qt-free.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from app.editor.textfile import TextFile, decode_text
from app.utils.errors import DscoderError


class EditRefused(DscoderError):
    """An edit the limits do not allow: outside the folder, not editable, not text."""


class StaleFileError(DscoderError):
    """Files changed on disk since they were read; `paths` are the folder-relative names."""

    def __init__(self, paths: Iterable[str]) -> None:
        self.paths = tuple(paths)
        names = ", ".join(self.paths)
        super().__init__(
            f"{names} changed on disk since the model read {'it' if len(self.paths) == 1 else 'them'}; "
            "nothing was written",
            "Reload and ask again, so that the model sees the current text",
        )


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class FileSnapshot:
    """One file as it was read: its bytes' fingerprint and, for text, its decoded text.

    `text_file` is None for a file that is not UTF-8 text; `read_only_reason` says why.
    `exists` is False for a path that names no file yet (a file the model may create).
    """

    path: str  # relative to the folder, with forward slashes: "pkg/util.py"
    absolute: Path
    exists: bool
    size: int = 0
    mtime_ns: int = 0
    sha256: str = ""
    text_file: TextFile | None = None
    read_only_reason: str = ""

    @property
    def text(self) -> str:
        return self.text_file.text if self.text_file is not None else ""

    @property
    def is_text(self) -> bool:
        return self.text_file is not None

    def changed_on_disk(self) -> bool:
        """Whether the file is no longer what was read (created, deleted, or other bytes)."""
        try:
            stat = self.absolute.stat()
        except FileNotFoundError:
            return self.exists
        if not self.exists:
            return True
        if stat.st_size != self.size:
            return True
        # Same size: the hash decides (a touch changes mtime but not the text; a quick
        # rewrite of the same length may keep the mtime on a coarse clock).
        try:
            return digest(self.absolute.read_bytes()) != self.sha256
        except OSError:
            return True


@dataclass(frozen=True)
class Workspace:
    """The opened folder: the only place an edit may write."""

    root: Path
    _resolved: Path = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_resolved", Path(self.root).resolve())

    @property
    def folder(self) -> Path:
        return self._resolved

    def relative_name(self, name: str) -> str:
        """The folder-relative form of a path the model or the user gave, checked.

        Raises EditRefused for a path outside the folder, with `..`, or through a
        symlink that leads out of it.
        """
        cleaned = name.strip().replace("\\", "/")
        if not cleaned:
            raise EditRefused("The answer names an empty path", "Ask again, naming the file to change")
        candidate = Path(cleaned)
        if candidate.is_absolute():
            try:
                candidate = candidate.resolve().relative_to(self._resolved)
            except ValueError:
                raise self._outside(name) from None
        parts = PurePosixPath(candidate.as_posix()).parts
        if ".." in parts:
            raise self._outside(name)
        relative = PurePosixPath(*[p for p in parts if p != "."]) if parts else PurePosixPath()
        if not relative.parts:
            raise self._outside(name)
        target = (self._resolved / relative).resolve()  # follows symlinks, existing or not
        if target != self._resolved and self._resolved not in target.parents:
            raise self._outside(name)
        return relative.as_posix()

    def absolute(self, relative: str) -> Path:
        return self._resolved / relative

    def _outside(self, name: str) -> EditRefused:
        return EditRefused(
            f"{name} is outside the opened folder {self._resolved}, and edits are written only inside it",
            "Open the folder that holds it, or ask for a change inside this one",
        )

    def read(self, name: str) -> FileSnapshot:
        """Read a file (or note that it does not exist yet); raises EditRefused for a bad path."""
        relative = self.relative_name(name)
        absolute = self.absolute(relative)
        try:
            data = absolute.read_bytes()
            stat = absolute.stat()
        except FileNotFoundError:
            return FileSnapshot(relative, absolute, exists=False)
        except IsADirectoryError:
            raise EditRefused(f"{relative} is a folder, not a file", "Name a file inside it") from None
        except OSError as exc:
            raise EditRefused(
                f"{relative} could not be read ({exc.strerror or exc})", "Check its permissions and try again"
            ) from None
        text_file: TextFile | None = None
        reason = ""
        try:
            text_file = decode_text(data, name=relative)
        except DscoderError as exc:
            reason = str(exc)
        return FileSnapshot(
            relative, absolute, True, len(data), stat.st_mtime_ns, digest(data), text_file, read_only_reason=reason
        )


@dataclass(frozen=True)
class EditScope:
    """What one edit request may touch: the editable files (those attached to the
    question) and the read-only context, all read at the same moment.

    An editable file that is not text is moved to `read_only`, with a note saying why.
    """

    workspace: Workspace
    editable: tuple[FileSnapshot, ...]
    read_only: tuple[FileSnapshot, ...] = ()
    notes: tuple[str, ...] = ()

    @classmethod
    def read(cls, root: str | os.PathLike[str], editable: Iterable[str], read_only: Iterable[str] = ()) -> EditScope:
        """Read the files; raises EditRefused for a path outside `root`."""
        workspace = Workspace(Path(root))
        editable_files: list[FileSnapshot] = []
        context: list[FileSnapshot] = []
        notes: list[str] = []
        seen: set[str] = set()
        for name in editable:
            snapshot = workspace.read(name)
            if snapshot.path in seen:
                continue
            seen.add(snapshot.path)
            if snapshot.exists and not snapshot.is_text:
                notes.append(f"{snapshot.path} is read-only: {snapshot.read_only_reason}")
                context.append(snapshot)
            else:
                editable_files.append(snapshot)
        for name in read_only:
            snapshot = workspace.read(name)
            if snapshot.path not in seen and snapshot.exists:
                seen.add(snapshot.path)
                context.append(snapshot)
        return cls(workspace, tuple(editable_files), tuple(context), tuple(notes))

    def editable_file(self, relative: str) -> FileSnapshot | None:
        return next((f for f in self.editable if f.path == relative), None)

    def known_file(self, relative: str) -> FileSnapshot | None:
        return self.editable_file(relative) or next((f for f in self.read_only if f.path == relative), None)

    def match_name(self, name: str) -> str:
        """The folder-relative path a name in the answer means.

        Models often drop the folders ("util.py" for "pkg/util.py") or copy the rules'
        placeholder in front ("path/to/util.py"): a name that is not a known path but
        is the unique tail of one known file, or ends with one, means that file. Raises
        EditRefused for a path outside the folder.
        """
        relative = self.workspace.relative_name(name)
        if self.known_file(relative) is not None:
            return relative
        known = [f.path for f in (*self.editable, *self.read_only)]
        tails = [path for path in known if path.endswith("/" + relative)]
        if not tails and not self.workspace.absolute(relative).exists():
            # "path/to/calc.py": the rules' placeholder folder copied in front of a known name
            tails = [path for path in known if relative.endswith("/" + path)]
        return tails[0] if len(tails) == 1 else relative
