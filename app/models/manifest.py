"""What the app knows about each model file: its hashes, where it came from.

A small JSON file in the models folder (`.dscoder-manifest.json`), so the record
travels with the models when the folder moves. Writes are atomic and serialised
with a file lock, because the CLI and the GUI may update it at the same time.
A record is trusted only while the file's size and mtime still match it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from filelock import FileLock

from app.utils.atomic import atomic_write_text
from app.utils.json_files import read_json_object

log = logging.getLogger(__name__)

MANIFEST_NAME = ".dscoder-manifest.json"

# Verification states a library entry shows.
VERIFIED = "verified"  # the file's sha256 matches a known reference (hub LFS hash, catalog or user)
UNVERIFIED = "unverified"  # never hashed (for example just imported)
HASHED = "hashed"  # hashed, but no reference hash to compare with
MISMATCH = "mismatch"  # hashed and different from the reference: the file is corrupt
CHANGED = "changed"  # the file changed on disk since it was hashed


@dataclass
class ModelRecord:
    size: int
    mtime_ns: int
    sha256: str | None = None  # what the file on disk hashed to
    expected_sha256: str | None = None  # the reference it must match
    checked_at: str | None = None
    origin: str = "download"  # download, import or reference
    repo: str | None = None
    revision: str | None = None
    source_files: list[str] = field(default_factory=list)  # hub file names it was made from
    catalog_id: str | None = None
    shards: list[str] = field(default_factory=list)  # manifest keys of a split set, first shard first

    def state_for(self, path: Path) -> str:
        try:
            stat = path.stat()
        except OSError:
            return UNVERIFIED
        if stat.st_size != self.size or stat.st_mtime_ns != self.mtime_ns:
            return CHANGED
        if self.sha256 and self.expected_sha256:
            return VERIFIED if self.sha256 == self.expected_sha256 else MISMATCH
        return HASHED if self.sha256 else UNVERIFIED


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def record_for_file(path: Path, **values: Any) -> ModelRecord:
    stat = path.stat()
    return ModelRecord(size=stat.st_size, mtime_ns=stat.st_mtime_ns, checked_at=now_iso(), **values)


class Manifest:
    """The records of one models folder, keyed by path relative to it (absolute for references)."""

    def __init__(self, models_dir: Path) -> None:
        self.models_dir = models_dir
        self.path = models_dir / MANIFEST_NAME
        self._lock = FileLock(str(self.path) + ".lock")

    def key(self, path: Path) -> str:
        path = path.absolute()
        try:
            return path.relative_to(self.models_dir.absolute()).as_posix()
        except ValueError:
            return str(path)

    def path_for(self, key: str) -> Path:
        candidate = Path(key)
        return candidate if candidate.is_absolute() else self.models_dir / candidate

    def records(self) -> dict[str, ModelRecord]:
        with self._lock:
            return self._read()

    def get(self, path: Path) -> ModelRecord | None:
        return self.records().get(self.key(path))

    def put(self, path: Path, record: ModelRecord) -> None:
        with self._lock:
            records = self._read()
            records[self.key(path)] = record
            self._write(records)

    def forget(self, path: Path) -> None:
        with self._lock:
            records = self._read()
            if records.pop(self.key(path), None) is not None:
                self._write(records)

    def _read(self) -> dict[str, ModelRecord]:
        raw = read_json_object(self.path, "model manifest", "starting a new one", log) or {}
        known = {f.name for f in dataclasses.fields(ModelRecord)}
        records: dict[str, ModelRecord] = {}
        for key, value in (raw.get("models") or {}).items():
            if isinstance(value, dict) and "size" in value and "mtime_ns" in value:
                records[key] = ModelRecord(**{k: v for k, v in value.items() if k in known})
        return records

    def _write(self, records: dict[str, ModelRecord]) -> None:
        self.models_dir.mkdir(parents=True, exist_ok=True)
        data = {"version": 1, "models": {key: dataclasses.asdict(rec) for key, rec in sorted(records.items())}}
        atomic_write_text(self.path, json.dumps(data, indent=1))
