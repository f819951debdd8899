"""What real loads measured, per model file and load settings, kept in the data folder.

After every load the app records what llama.cpp reported (its model, KV and compute
buffers per device), the engine process's resident memory at load and at the
largest context it served, and the speed of its real requests (app/models/
load_recorder.py writes these). Estimates then use them:

- for the same file (path, size and modification time) and the same settings, the
  memory and speed are "measured";
- for every other model on the same hardware, the speed predictions are corrected by
  how far they were off for the measured loads of the same placement (CPU only, all on
  the GPU, split): "calibrated". The correction belongs to the machine, not to a file:
  the predictions already scale with each model's shape, and what is left is how the
  machine's real speed differs from its benchmark's. Decode is compared per forward
  pass, so answers that drafting sped up do not make the machine look faster.
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from app.models.planning.estimator import MemoryEstimate, pad_ctx
from app.protocol.options import LoadOptions
from app.utils import paths
from app.utils.atomic import atomic_write_text
from app.utils.json_files import read_json_object

log = logging.getLogger(__name__)

MEASURED_FILE = "measured_loads.json"
MAX_SAMPLES = 24  # the latest requests per kind that speed ratios are taken from
FULL_CONTEXT_SHARE = 0.9  # a request this full counts as "at full context" for the peak RSS
BUFFER_KINDS = ("model", "kv", "compute", "output")
# Loads whose decoded token streams fewer weight bytes than this do not correct the machine:
# a tiny model's time is mostly fixed costs (sampling, the graph), which a 7B's is not.
MIN_CORRECTING_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class ModelFileId:
    """A model file as it is now: a rewritten or replaced file is a new one."""

    path: str
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: str | os.PathLike[str]) -> ModelFileId | None:
        try:
            resolved = Path(path).expanduser().resolve()
            stat = resolved.stat()
        except OSError:
            return None
        return cls(str(resolved), stat.st_size, stat.st_mtime_ns)

    def key(self) -> str:
        return f"{self.path}|{self.size}|{self.mtime_ns}"


@dataclass(frozen=True)
class LoadSettings:
    """The load options that change memory and speed (not the seed, not the path)."""

    n_ctx: int
    n_gpu_layers: int  # effective: 0 .. n_layer + 1
    kv_cache_type: str = "f16"
    flash_attn: bool = False
    n_batch: int = 512
    n_ubatch: int = 512

    @classmethod
    def of(cls, options: LoadOptions, n_layer: int, n_ctx: int | None = None) -> LoadSettings:
        layers = n_layer + 1 if options.n_gpu_layers < 0 else min(options.n_gpu_layers, n_layer + 1)
        return cls(
            pad_ctx(n_ctx or options.n_ctx),
            layers,
            options.kv_cache_type,
            options.flash_attn,
            options.n_batch,
            options.n_ubatch,
        )

    def key(self) -> str:
        return (
            f"ctx={self.n_ctx},gpu={self.n_gpu_layers},kv={self.kv_cache_type},fa={int(self.flash_attn)},"
            f"b={self.n_batch},ub={self.n_ubatch}"
        )


@dataclass(frozen=True)
class SpeedCorrection:
    """measured / predicted speed on this machine, from real answers of the loads it lists."""

    decode: float
    prompt: float
    loads: int  # how many measured loads (files and settings) it comes from

    def describe(self) -> str:
        """ "decode ×0.85, prompt ×1.10 from 2 measured models" """
        models = "1 measured model" if self.loads == 1 else f"{self.loads} measured models"
        return f"decode ×{self.decode:.2f}, prompt ×{self.prompt:.2f} from {models}"


@dataclass(frozen=True)
class SpeedSample:
    kind: str  # "decode" or "prompt"
    tokens: int  # prompt tokens read, or decode forward passes (a drafted pass yields several tokens)
    seconds: float
    n_past: int  # tokens already in the context when the sample began
    predicted_s: float  # what the estimate said these tokens would take (0: no prediction)


@dataclass
class LoadRecord:
    file: ModelFileId
    settings: LoadSettings
    n_layer: int
    hardware: str = ""
    placement: str = "cpu"  # "cpu", "split" or "gpu"
    streamed_bytes: int = 0  # weight bytes a decoded token reads: loads of similar shapes correct each other
    buffers: dict[str, dict[str, int]] = field(default_factory=dict)  # kind -> device -> bytes
    rss_at_load: int = 0
    rss_peak: int = 0  # the process's peak resident memory at the largest context served
    peak_context: int = 0  # tokens in the context of that request
    samples: list[SpeedSample] = field(default_factory=list)
    recorded_at: str = ""

    def key(self) -> str:
        return record_key(self.file, self.settings)

    def buffer_bytes(self, kind: str, host: bool) -> int:
        return sum(n for device, n in self.buffers.get(kind, {}).items() if is_host_device(device) == host)

    @property
    def full_context_seen(self) -> bool:
        return self.peak_context >= self.settings.n_ctx * FULL_CONTEXT_SHARE

    def speed_ratio(self, kind: str) -> float | None:
        """Measured speed / predicted speed over the recent samples of one kind; None without any."""
        chosen = [s for s in self.samples if s.kind == kind and s.predicted_s > 0 and s.seconds > 0]
        if not chosen:
            return None
        return sum(s.predicted_s for s in chosen) / sum(s.seconds for s in chosen)

    def add_sample(self, sample: SpeedSample) -> None:
        same = [s for s in self.samples if s.kind == sample.kind][-(MAX_SAMPLES - 1) :]
        self.samples = [s for s in self.samples if s.kind != sample.kind] + same + [sample]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LoadRecord:
        return cls(
            file=ModelFileId(**data["file"]),
            settings=LoadSettings(**data["settings"]),
            n_layer=int(data["n_layer"]),
            hardware=str(data.get("hardware", "")),
            placement=str(data.get("placement", "cpu")),
            streamed_bytes=int(data.get("streamed_bytes", 0)),
            buffers={str(k): {str(d): int(n) for d, n in v.items()} for k, v in data.get("buffers", {}).items()},
            rss_at_load=int(data.get("rss_at_load", 0)),
            rss_peak=int(data.get("rss_peak", 0)),
            peak_context=int(data.get("peak_context", 0)),
            samples=[SpeedSample(**s) for s in data.get("samples", [])],
            recorded_at=str(data.get("recorded_at", "")),
        )


def record_key(file: ModelFileId, settings: LoadSettings) -> str:
    return f"{file.key()}|{settings.key()}"


def placement_of(settings: LoadSettings, n_layer: int) -> str:
    """ "cpu", "split" or "gpu": predictions are off by similar factors within one kind."""
    if settings.n_gpu_layers == 0:
        return "cpu"
    return "gpu" if settings.n_gpu_layers >= n_layer + 1 else "split"


def is_host_device(device: str) -> bool:
    """Buffers in system RAM: the CPU's (mapped, repacked) and the GPU runtime's pinned host memory."""
    return "CPU" in device.upper() or device.endswith("_Host")


class MeasuredLoads:
    """The records in the data folder; every change is written at once (atomically)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or paths.data_dir() / MEASURED_FILE
        self._records: dict[str, LoadRecord] = {}
        self._read()

    def _read(self) -> None:
        data = read_json_object(self.path, "the measured-loads file", "starting afresh", log) or {}
        for key, raw in (data.get("loads") or {}).items():
            try:
                self._records[key] = LoadRecord.from_json(raw)
            except (KeyError, TypeError, ValueError) as exc:
                log.warning("a measured load in %s is damaged (%s); it is dropped", self.path, exc)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        loads = {key: record.to_json() for key, record in self._records.items()}
        atomic_write_text(self.path, json.dumps({"schema": 1, "loads": loads}, indent=1, sort_keys=True))

    def get(self, file: ModelFileId, settings: LoadSettings) -> LoadRecord | None:
        return self._records.get(record_key(file, settings))

    def for_file(self, file: ModelFileId) -> list[LoadRecord]:
        return [r for r in self._records.values() if r.file == file]

    def put(self, record: LoadRecord) -> None:
        self._records[record.key()] = record
        self.save()

    def machine_correction(self, hardware: str, placement: str) -> SpeedCorrection | None:
        """How far predictions were off on this hardware for loads of this placement kind, every
        model together (the geometric mean of their measured/predicted ratios, tiny models left
        out); None when no real answer was measured."""
        ratios: dict[str, list[float]] = {"decode": [], "prompt": []}
        loads = 0
        for record in self._records.values():
            if record.hardware != hardware or record.placement != placement:
                continue
            if record.streamed_bytes < MIN_CORRECTING_BYTES:
                continue
            found_any = False
            for kind, found in ratios.items():
                ratio = record.speed_ratio(kind)
                if ratio:
                    found.append(ratio)
                    found_any = True
            loads += found_any
        if not loads:
            return None
        decode, prompt = (math.exp(sum(map(math.log, r)) / len(r)) if r else 1.0 for r in ratios.values())
        return SpeedCorrection(decode, prompt, loads)


def measured_memory(est: MemoryEstimate, record: LoadRecord) -> MemoryEstimate:
    """The estimate with what llama.cpp allocated for this file and these settings.

    RAM is the peak the engine reached at full context when one was seen; before that,
    the buffers llama.cpp reported plus the estimate's resident compute and overhead
    (a CPU compute buffer is reserved whole but only partly touched)."""
    weights_ram, weights_vram = record.buffer_bytes("model", True), record.buffer_bytes("model", False)
    kv_ram, kv_vram = record.buffer_bytes("kv", True), record.buffer_bytes("kv", False)
    compute_vram = record.buffer_bytes("compute", False) + record.buffer_bytes("output", False)
    ram = weights_ram + kv_ram + est.compute_ram_bytes + est.overhead_ram_bytes
    if record.full_context_seen:
        ram = record.rss_peak
    vram = weights_vram + kv_vram + compute_vram + est.overhead_vram_bytes if est.n_gpu_layers else 0
    return replace(
        est,
        weights_bytes=weights_ram + weights_vram,
        weights_ram_bytes=weights_ram,
        weights_vram_bytes=weights_vram,
        kv_bytes=kv_ram + kv_vram,
        kv_ram_bytes=kv_ram,
        kv_vram_bytes=kv_vram,
        compute_vram_bytes=compute_vram,
        compute_bytes=est.compute_ram_bytes + compute_vram,
        ram_bytes=max(ram, record.rss_at_load),
        vram_bytes=vram,
        measured=True,
    )
