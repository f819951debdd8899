"""Quality checks already run: one record per model file, settings and suite.

A file is known by its size and a hash of its first 8 MiB (the GGUF header and the start
of its tensors), so a renamed or moved file keeps its results and a re-downloaded one
with other content does not. The settings are those that change what the model
answers (the context size, the KV cache type, flash attention); sampling is greedy
everywhere. A remote engine is known by its URL and model name instead of a file.

Stored as JSON in the app's data folder (`quality-checks.json`), written atomically
after each check; a newer check of the same file, settings and suite replaces the older.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from app.utils import paths
from app.utils.atomic import atomic_write_text
from app.utils.json_files import read_json_object

log = logging.getLogger(__name__)
RESULTS_FILE = "quality-checks.json"
HEAD_HASH_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class CheckedModel:
    """What was checked: a file (size and head hash) or a remote model (URL and name)."""

    name: str  # file name, or the remote model's name
    size: int = 0
    head_sha256: str = ""
    endpoint: str = ""

    @classmethod
    def of_file(cls, path: str | os.PathLike[str]) -> CheckedModel:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            digest.update(handle.read(HEAD_HASH_BYTES))
        return cls(os.path.basename(path), os.path.getsize(path), digest.hexdigest())

    @classmethod
    def of_endpoint(cls, endpoint: str, model_name: str) -> CheckedModel:
        return cls(model_name, endpoint=endpoint.rstrip("/"))

    def key(self) -> str:
        return f"{self.endpoint}|{self.name}" if self.endpoint else f"{self.size}|{self.head_sha256}"


@dataclass(frozen=True)
class QualityRecord:
    """One finished check. Scores are fractions from 0 to 1; None: that part was not run
    (no FIM tokens, or no problem had a hole of that kind)."""

    model: CheckedModel
    settings: dict[str, Any]
    suite: str
    problems: int
    chat_pass_at_1: float | None
    fim_pass_at_1: float | None
    fim_multi_line_pass_at_1: float | None
    seconds: float
    measured_at: str  # ISO 8601, local time with its offset
    variant: str | None = None
    quant: str | None = None
    label: str = ""
    published: dict[str, float] = field(default_factory=dict)  # benchmark -> fraction
    fim_multi_line_problems: int = 0
    network_isolated: bool = False
    busy: bool = False  # the machine was busy with other work while it ran (load above its cores)

    def key(self) -> str:
        return record_key(self.model, self.settings, self.suite)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> QualityRecord:
        raw = dict(data)
        raw["model"] = CheckedModel(**raw["model"])
        return cls(**raw)


def record_key(model: CheckedModel, settings: dict[str, Any], suite: str) -> str:
    return f"{model.key()}|{json.dumps(settings, sort_keys=True)}|{suite}"


class QualityResults:
    """The records in the data folder; every change is written at once (atomically)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or paths.data_dir() / RESULTS_FILE
        self._records: dict[str, QualityRecord] = {}
        self._read()

    def _read(self) -> None:
        data = read_json_object(self.path, "the quality results file", "starting afresh", log) or {}
        for raw in data.get("checks", []):
            try:
                record = QualityRecord.from_json(raw)
            except (KeyError, TypeError, ValueError) as exc:
                log.warning("a quality record in %s is damaged (%s); it is dropped", self.path, exc)
                continue
            self._records[record.key()] = record

    def save(self) -> None:
        checks = [record.to_json() for record in self.records()]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.path, json.dumps({"schema": 1, "checks": checks}, indent=1, sort_keys=True))

    def put(self, record: QualityRecord) -> None:
        self._records[record.key()] = record
        self.save()

    def records(self) -> list[QualityRecord]:
        """All records, oldest first."""
        return sorted(self._records.values(), key=lambda r: r.measured_at)

    def for_model(self, model: CheckedModel) -> list[QualityRecord]:
        return [r for r in self.records() if r.model.key() == model.key()]

    def best_for_model(self, model: CheckedModel) -> QualityRecord | None:
        """The record to judge a file by: the one on the most problems, then the newest."""
        found = self.for_model(model)
        return max(found, key=lambda r: (r.problems, r.measured_at)) if found else None
