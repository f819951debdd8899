"""The DeepSeek-Coder model catalog: every variant and quantization the app offers.

The data lives in `resources/catalog.json` (one entry per variant and quant, with
the hub repository, pinned revision, files, sizes, hashes, the hyperparameters the
memory estimator needs before a download, purpose, FIM support and published
scores). This module loads it once into frozen dataclasses.
"""

from __future__ import annotations

import difflib
import json
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from app.utils.errors import DscoderError
from app.utils.resources import resource

log = logging.getLogger(__name__)

CATALOG_PATH = resource("catalog.json")

# Quantizations from smallest (lowest quality) to largest (highest quality).
QUANT_ORDER: tuple[str, ...] = ("Q2_K", "Q3_K_M", "Q4_K_M", "Q5_K_M", "Q6_K", "Q8_0")


@dataclass(frozen=True)
class CatalogFile:
    name: str  # path inside the repository
    size: int  # bytes (approximate when the entry's size_exact is False)
    sha256: str | None  # LFS sha256 at the pinned revision; None when not yet verified


@dataclass(frozen=True)
class Hyperparameters:
    """What the estimator needs from a model before its GGUF is on disk."""

    arch: str  # "llama" or "deepseek2"
    n_layer: int
    n_embd: int
    n_head: int
    n_head_kv: int
    key_length: int
    value_length: int
    vocab: int
    n_ctx_train: int
    kv_lora_rank: int | None = None
    rope_dim: int | None = None
    key_length_mla: int | None = None  # set only for files in llama.cpp's MLA layout
    value_length_mla: int | None = None
    expert_count: int | None = None
    expert_shared_count: int | None = None
    expert_used_count: int | None = None
    active_params: float | None = None  # MoE: parameters used per token
    total_params: float | None = None

    @property
    def is_mla(self) -> bool:
        return bool(self.key_length_mla and self.value_length_mla)


@dataclass(frozen=True)
class CatalogEntry:
    id: str  # "<variant>:<QUANT>", e.g. "deepseek-coder-6.7b-instruct:Q4_K_M"
    variant: str
    family: str  # "1.3b", "6.7b", "33b", "7b-v1.5", "v2-lite", "v2"
    quant: str
    repo: str
    revision: str  # a commit hash, or "main" when unpinned (see comment)
    files: tuple[CatalogFile, ...]
    join: str | None  # None: one file; "split": llama.cpp shards (load the first); "concat": byte-split parts
    size_exact: bool
    hyperparameters: Hyperparameters
    parameters: int | None
    purpose: tuple[str, ...]  # ("chat",), ("completion",) or both
    fim: bool | str  # True, "unofficial" or False
    context_length: int
    license: str
    scores: dict[str, float]  # published pass@1 scores in percent, as the family's tables print them
    quality: dict[str, float]  # planner ranking per purpose; 0: unsuitable
    remote_only: bool  # too large to run locally (the 236B): only through a remote engine
    note: str = ""
    comment: str = ""
    score_sources: dict[str, str] = field(default_factory=dict)  # benchmark -> paper or model card and table

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def local_file_name(self) -> str:
        """The file name llama.cpp loads: the first shard, or the joined name for byte-split parts."""
        first = self.files[0].name.rsplit("/", 1)[-1]
        if self.join == "concat":
            return first.rsplit(".part", 1)[0]
        return first

    @property
    def serves_chat(self) -> bool:
        return "chat" in self.purpose

    @property
    def serves_completion(self) -> bool:
        return "completion" in self.purpose or self.fim is not False

    @property
    def is_pinned(self) -> bool:
        return self.revision != "main"


@dataclass(frozen=True)
class PublishedScore:
    """One published pass@1 figure: the benchmark, its name in the family's own table,
    the score in percent and where it was published."""

    benchmark: str  # "humaneval_python", "mbpp", "humaneval_fim", ...
    label: str  # "HumanEval (Python)"
    percent: float
    source: str

    @property
    def fraction(self) -> float:
        return self.percent / 100


@dataclass(frozen=True)
class KnownModel:
    """A model outside the catalog whose published scores the quality check knows (the
    real test model): recognised by `match` in its GGUF name or file name."""

    name: str
    match: str
    scores: dict[str, float]
    score_sources: dict[str, str]


@dataclass(frozen=True)
class Catalog:
    entries: tuple[CatalogEntry, ...]
    benchmarks: dict[str, str] = field(default_factory=dict)  # benchmark -> its label in the family's tables
    known_models: tuple[KnownModel, ...] = ()

    def published_scores(self, scores: dict[str, float], sources: dict[str, str]) -> tuple[PublishedScore, ...]:
        """Published figures in the catalog's benchmark order (the order of `benchmarks`)."""
        order = list(self.benchmarks) + [b for b in scores if b not in self.benchmarks]
        return tuple(
            PublishedScore(b, self.benchmarks.get(b, b), scores[b], sources.get(b, "")) for b in order if b in scores
        )

    def published_for_variant(self, variant: str) -> tuple[PublishedScore, ...]:
        entries = self.for_variant(variant)
        return self.published_scores(entries[0].scores, entries[0].score_sources) if entries else ()

    def get(self, entry_id: str) -> CatalogEntry:
        for entry in self.entries:
            if entry.id == entry_id:
                return entry
        close = difflib.get_close_matches(entry_id, [e.id for e in self.entries], n=4, cutoff=0.5)
        if not close:
            variant = entry_id.split(":", 1)[0]
            close = [e.id for e in self.entries if e.variant == variant][:6]
        todo = ("Did you mean " + ", ".join(close)) if close else "Run `dscoder models` to list the catalog"
        raise DscoderError(f"There is no catalog model {entry_id!r}", todo)

    def variants(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for entry in self.entries:
            seen.setdefault(entry.variant, None)
        return tuple(seen)

    def for_variant(self, variant: str) -> tuple[CatalogEntry, ...]:
        return tuple(e for e in self.entries if e.variant == variant)

    def find_by_file_name(self, file_name: str) -> CatalogEntry | None:
        """The entry whose (first) file is named `file_name`, e.g. for a file already on disk."""
        for entry in self.entries:
            if entry.local_file_name == file_name or any(f.name.rsplit("/", 1)[-1] == file_name for f in entry.files):
                return entry
        return None


def _entry(raw: dict[str, Any], sources: dict[str, str]) -> CatalogEntry:
    hp = dict(raw["hyperparameters"])
    files = tuple(CatalogFile(f["name"], int(f["size"]), f.get("sha256")) for f in raw["files"])
    return CatalogEntry(
        id=raw["id"],
        variant=raw["variant"],
        family=raw["family"],
        quant=raw["quant"],
        repo=raw["repo"],
        revision=raw["revision"],
        files=files,
        join=raw.get("join"),
        size_exact=bool(raw.get("size_exact")),
        hyperparameters=Hyperparameters(**hp),
        parameters=raw.get("parameters"),
        purpose=tuple(raw["purpose"]),
        fim=raw["fim"],
        context_length=int(raw["context_length"]),
        license=raw["license"],
        scores=dict(raw.get("scores", {})),
        quality=dict(raw.get("quality", {})),
        remote_only=bool(raw.get("remote_only", False)),
        note=raw.get("note", ""),
        comment=raw.get("comment", ""),
        score_sources=dict(sources),
    )


def parse_catalog(data: dict[str, Any]) -> Catalog:
    try:
        sources = data.get("score_sources", {})
        entries = tuple(_entry(raw, sources.get(raw["variant"], {})) for raw in data["entries"])
        known = tuple(
            KnownModel(k["name"], k["match"], dict(k["scores"]), dict(k.get("score_sources", {})))
            for k in data.get("known_models", [])
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise DscoderError(f"The model catalog is damaged ({exc})", "Reinstall the app") from exc
    return Catalog(entries, dict(data.get("benchmarks", {})), known)


@lru_cache(maxsize=1)
def load_catalog(path: Path | None = None) -> Catalog:
    """The catalog shipped in resources/catalog.json (cached)."""
    source = path or CATALOG_PATH
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DscoderError(f"Cannot read the model catalog at {source} ({exc})", "Reinstall the app") from exc
    return parse_catalog(data)
