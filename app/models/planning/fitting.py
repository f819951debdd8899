"""How one catalog entry fits this machine: placement, context, memory and speed.

For every catalog entry the planner (app/models/planning/planner.py) asks `fit_entry`, which works out the best placement (all layers on the GPU, some
layers, or CPU only) and the largest context that fits after the weights, keeping
headroom for the rest of the system (min(25% of RAM, 4 GB) by default) and the
prompt-state cache's budget free, and predicts how fast it will feel with this
machine's measured speed (app/models/planning/speed_prediction.py), measured values replacing the
estimates for an installed file that was loaded just so. Whether it is fast enough
is judged against the interactive floors (`SpeedFloors`, adjustable in Settings).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from app.hardware.probe import MachineProfile
from app.models.catalog import CatalogEntry
from app.models.planning.estimator import MemoryEstimate, estimate_memory, pad_ctx, repacked_types
from app.models.planning.measured import LoadSettings, MeasuredLoads, ModelFileId, measured_memory, placement_of
from app.models.planning.shape import model_shape
from app.models.planning.speed_prediction import (
    CALIBRATED,
    MEASURED,
    SpeedEstimate,
    device_rates,
    predict_speed,
)
from app.models.quality.quant_loss import EXPECTED_LOSS_POINTS
from app.models.quality.results import QualityRecord
from app.protocol.options import prompt_cache_budget
from app.utils.units import GIB, file_size, memory_size

VRAM_HEADROOM_BYTES = 512 * 1024 * 1024  # per GPU: the desktop and driver growth
VRAM_HEADROOM_FRACTION = 0.05  # of each GPU's total
MIN_CTX = {"chat": 2048, "completion": 2048, "both": 2048}  # smallest useful context (capped by the model's)
DEFAULT_CTX_CAP = 16384
PARTIAL_OFFLOAD_CTX = 8192  # context tried first when only some layers fit on the GPU
MIN_PLANNED_GPU_VRAM_BYTES = 2 * GIB  # an APU's carve-out is not worth splitting layers onto
CTX_ROUND_ABOVE = 4096  # above this the context is offered in whole K (1024) steps
# Ranking: points off the entry's quality score per quant, the expected loss of pass@1 (its
# sources, llama.cpp's perplexity table and Aider's measurements, are in quant_loss.py).
QUANT_PENALTY = EXPECTED_LOSS_POINTS
CTX_PENALTY_PER_HALVING = 2.0  # points off per halving of the context below the wanted one
UNOFFICIAL_FIM_PENALTY = 10.0  # a v1 instruct model doing FIM for "both"
# When no model meets the floors: those within this factor of the least slow count as
# equally slow, and the best of them is recommended.
NEAR_SHORTFALL = 1.25

FIT_FULL_GPU = "full_gpu"
FIT_PARTIAL_GPU = "partial_gpu"
FIT_CPU_ONLY = "cpu_only"
FIT_NONE = "does_not_fit"
FIT_REMOTE = "remote_only"


@dataclass(frozen=True)
class SpeedFloors:
    """What "interactive" means; the Settings dialog adjusts these."""

    decode_tokens_per_s: float = 8.0  # chat: tokens per second while it answers
    question_s: float = 15.0  # chat: a 2K-token question read and its first token out
    completion_s: float = 0.5  # completion: first ghost text after a keystroke, warm


@dataclass(frozen=True)
class Headroom:
    """RAM kept free: for the rest of the system, and for the engine's prompt-state cache."""

    fraction: float = 0.25  # of total RAM ...
    max_bytes: int = 4 * GIB  # ... or this, whichever is smaller
    prompt_cache_bytes: int = 0  # 0: automatic, 10% of RAM up to 2 GiB

    def prompt_cache(self, ram_total: int) -> int:
        # The engine's own rule (the settings' 0 is its "automatic", -1), so plan and engine agree.
        return prompt_cache_budget(self.prompt_cache_bytes or -1, ram_total)

    def system(self, ram_total: int) -> int:
        return int(min(ram_total * self.fraction, self.max_bytes))


@dataclass(frozen=True)
class PlanOptions:
    purpose: str = "chat"
    ctx_cap: int = DEFAULT_CTX_CAP
    kv_type: str = "f16"
    flash_attn: bool = False
    n_batch: int = 512
    n_ubatch: int = 512
    floors: SpeedFloors = SpeedFloors()
    headroom: Headroom = Headroom()
    installed: Mapping[str, str] = field(default_factory=dict)  # catalog id -> path of its file on disk
    measured: MeasuredLoads | None = None  # real loads: measured and calibrated estimates
    quality: tuple[QualityRecord, ...] = ()  # quality checks run here (app/models/quality/results.py)


@dataclass(frozen=True)
class QuantFit:
    entry: CatalogEntry
    fit: str  # FIT_FULL_GPU, FIT_PARTIAL_GPU, FIT_CPU_ONLY, FIT_NONE, FIT_REMOTE
    gpu_layers: int = 0  # as llama.cpp counts them: n_layer + 1 means all, with the output
    ctx: int = 0
    estimate: MemoryEstimate | None = None
    speed: SpeedEstimate | None = None
    suitable: bool = False  # serves the purpose and downloads within the free disk
    meets_floors: bool = False  # fast enough for the purpose on this machine
    score: float = -math.inf
    why: str = ""  # short text for the table: "all 33 layers on GPU", "needs 21 GB RAM, 14 GB free"

    @property
    def fits(self) -> bool:
        return self.fit in (FIT_FULL_GPU, FIT_PARTIAL_GPU, FIT_CPU_ONLY)


def fit_dict(fit: QuantFit) -> dict[str, object]:
    assert fit.estimate is not None
    speed = fit.speed.cli_dict() if fit.speed else {}
    return {
        "variant": fit.entry.variant,
        "quant": fit.entry.quant,
        "repo": fit.entry.repo,
        "file": fit.entry.local_file_name,
        "gpu_layers": fit.gpu_layers,
        "ctx": fit.ctx,
        "ram_bytes": fit.estimate.ram_bytes,
        "vram_bytes": fit.estimate.vram_bytes,
        **speed,
        "speed_source": fit.speed.source if fit.speed else "",
    }


def ctx_label(ctx: int) -> str:
    return f"{ctx // 1024}K" if ctx % 1024 == 0 else str(ctx)


def purpose_quality(entry: CatalogEntry, purpose: str) -> float | None:
    """The entry's quality for the purpose, or None when it does not serve it."""
    chat = entry.quality.get("chat", 0)
    completion = entry.quality.get("completion", 0)
    if purpose == "chat":
        return chat if entry.serves_chat and chat > 0 else None
    if purpose == "completion":
        return completion if entry.fim is not False and completion > 0 else None
    if not entry.serves_chat or entry.fim is False or chat <= 0:
        return None
    return chat if entry.fim is True else chat - UNOFFICIAL_FIM_PENALTY


class Budget:
    """What a plan may use: RAM and VRAM free now less the headroom, the GPUs, the disk."""

    def __init__(self, machine: MachineProfile, headroom: Headroom | None = None) -> None:
        headroom = headroom or Headroom()
        mem = machine.memory
        self.system_headroom = headroom.system(mem.ram_total_bytes)
        self.prompt_cache = headroom.prompt_cache(mem.ram_total_bytes)
        self.ram = mem.ram_available_bytes - self.system_headroom - self.prompt_cache
        usable = tuple(g for g in machine.usable_gpus if g.vram_total_bytes >= MIN_PLANNED_GPU_VRAM_BYTES)
        vendor = usable[0].vendor if usable else ""
        self.gpus = tuple(g for g in usable if g.vendor == vendor)
        self.vram = sum(
            max(0, g.vram_free_bytes - VRAM_HEADROOM_BYTES - int(g.vram_total_bytes * VRAM_HEADROOM_FRACTION))
            for g in self.gpus
        )
        self.unified = any(g.unified_memory for g in self.gpus)
        self.disk = machine.disk_free_bytes
        self.machine = machine

    def without(self, est: MemoryEstimate) -> Budget:
        """What is left once `est`'s model is loaded (for a second model beside it)."""
        rest = copy.copy(self)
        rest.ram -= est.needed_ram_bytes + (est.vram_bytes if self.unified else 0)
        rest.vram -= est.vram_bytes
        return rest

    def fits(self, *estimates: MemoryEstimate) -> bool:
        ram = sum(e.needed_ram_bytes + (e.vram_bytes if self.unified else 0) for e in estimates)
        return ram <= self.ram and sum(e.vram_bytes for e in estimates) <= max(0, self.vram)


def _estimate(entry: CatalogEntry, gpu_layers: int, ctx: int, opts: PlanOptions, budget: Budget) -> MemoryEstimate:
    n_gpus = len(budget.gpus) if gpu_layers else 0
    return estimate_memory(
        entry,
        n_gpu_layers=gpu_layers if n_gpus else 0,
        n_ctx=ctx,
        kv_type=opts.kv_type,
        n_batch=opts.n_batch,
        n_ubatch=opts.n_ubatch,
        flash_attn=opts.flash_attn,
        n_gpus=n_gpus,
        unified_memory=budget.unified,
        completion_ctx=None,  # the engine's completion context at its default size
        repacked=repacked_types(budget.machine.cpu.flags, budget.machine.cpu.arch),
    )


def _largest_ctx(entry: CatalogEntry, gpu_layers: int, lo: int, hi: int, opts: PlanOptions, budget: Budget) -> int:
    """Largest context (a multiple of 256, between lo and hi) that fits; 0 if lo does not."""
    if not budget.fits(_estimate(entry, gpu_layers, lo, opts, budget)):
        return 0
    lo_steps, hi_steps = lo // 256, hi // 256
    while lo_steps < hi_steps:
        mid = (lo_steps + hi_steps + 1) // 2
        if budget.fits(_estimate(entry, gpu_layers, mid * 256, opts, budget)):
            lo_steps = mid
        else:
            hi_steps = mid - 1
    ctx = lo_steps * 256
    return ctx if ctx <= max(lo, CTX_ROUND_ABOVE) else max(lo, ctx // 1024 * 1024)


def _most_layers(entry: CatalogEntry, ctx: int, opts: PlanOptions, budget: Budget) -> int:
    """Most GPU layers (1..n_layer) whose estimate fits at ctx; 0 if none."""
    lo, hi = 0, entry.hyperparameters.n_layer
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if budget.fits(_estimate(entry, mid, ctx, opts, budget)):
            lo = mid
        else:
            hi = mid - 1
    return lo


def _placement(entry: CatalogEntry, opts: PlanOptions, budget: Budget) -> tuple[str, int, int] | None:
    """(fit, GPU layers, context) for the most GPU and the largest context that fit; None if none."""
    limit = min(entry.context_length, max(256, opts.ctx_cap))
    wanted = (limit // 256) * 256
    lowest = min(pad_ctx(MIN_CTX[opts.purpose]), wanted)
    n_layer = entry.hyperparameters.n_layer
    if budget.gpus and budget.vram > 0:
        ctx = _largest_ctx(entry, n_layer + 1, lowest, wanted, opts, budget)
        if ctx:
            return FIT_FULL_GPU, n_layer + 1, ctx
        first_try = min(wanted, max(lowest, PARTIAL_OFFLOAD_CTX))
        tries = [first_try] + [c for c in (first_try // 2, first_try // 4) if c >= lowest] + [lowest]
        for ctx_try in dict.fromkeys(tries):
            layers = _most_layers(entry, ctx_try, opts, budget)
            if layers >= 1:
                return FIT_PARTIAL_GPU, layers, _largest_ctx(entry, layers, ctx_try, wanted, opts, budget)
    ctx = _largest_ctx(entry, 0, lowest, wanted, opts, budget)
    return (FIT_CPU_ONLY, 0, ctx) if ctx else None


def _measured(
    entry: CatalogEntry, est: MemoryEstimate, speed: SpeedEstimate, opts: PlanOptions, budget: Budget
) -> tuple[MemoryEstimate, SpeedEstimate]:
    """Measured values for an installed file loaded just so; calibrated speed for the rest."""
    store, n_layer = opts.measured, est.n_layer
    if store is None:
        return est, speed
    settings = LoadSettings(est.n_ctx, est.n_gpu_layers, opts.kv_type, opts.flash_attn, opts.n_batch, opts.n_ubatch)
    path = opts.installed.get(entry.id)
    file = ModelFileId.of(path) if path else None
    record = store.get(file, settings) if file else None
    if record is not None:
        decode, prompt = record.speed_ratio("decode"), record.speed_ratio("prompt")
        if decode or prompt:
            speed = speed.scaled(decode or 1.0, prompt or 1.0, MEASURED)
        return measured_memory(est, record), speed
    speed_info = budget.machine.machine_speed
    correction = store.machine_correction(speed_info.hardware, placement_of(settings, n_layer)) if speed_info else None
    return est, speed.scaled(correction.decode, correction.prompt, CALIBRATED) if correction else speed


def meets_floors(speed: SpeedEstimate, floors: SpeedFloors, purpose: str) -> bool:
    return floors_met(speed, floors, purpose) == {"chat": 2, "completion": 1}.get(purpose, 3)


def floors_met(speed: SpeedEstimate, floors: SpeedFloors, purpose: str) -> int:
    """How many of the purpose's floors the speed meets."""
    met = 0
    if purpose in ("chat", "both"):
        met += (speed.decode_tokens_per_s >= floors.decode_tokens_per_s) + (speed.first_token_s <= floors.question_s)
    if purpose in ("completion", "both"):
        met += speed.completion_s <= floors.completion_s
    return met


def shortfall(speed: SpeedEstimate, floors: SpeedFloors, purpose: str) -> float:
    """How many times too slow for the purpose's floors, all missed floors multiplied
    (1: fast enough); the least slow model is the one with the smallest."""
    ratios = []
    if purpose in ("chat", "both"):
        ratios += [floors.decode_tokens_per_s / max(speed.decode_tokens_per_s, 1e-9)]
        ratios += [speed.first_token_s / floors.question_s]
    if purpose in ("completion", "both"):
        ratios += [speed.completion_s / floors.completion_s]
    return math.prod(max(1.0, r) for r in ratios)


def fit_entry(
    entry: CatalogEntry, machine: MachineProfile, opts: PlanOptions | None = None, budget: Budget | None = None
) -> QuantFit:
    opts = opts or PlanOptions()
    budget = budget or Budget(machine, opts.headroom)
    quality = purpose_quality(entry, opts.purpose)
    if entry.remote_only:
        why = f"{file_size(entry.size)} of weights: run it on a server and connect as a remote engine"
        return QuantFit(entry, FIT_REMOTE, why=why)
    found = _placement(entry, opts, budget)
    n_layer = entry.hyperparameters.n_layer
    if found is None:
        lowest = min(pad_ctx(MIN_CTX[opts.purpose]), entry.context_length)
        need = _estimate(entry, 0, lowest, opts, budget)
        why = f"needs {memory_size(need.needed_ram_bytes)} of RAM at {ctx_label(lowest)} context; {memory_size(max(0, budget.ram))} is free to use"
        if budget.gpus:
            full = _estimate(entry, n_layer + 1, lowest, opts, budget)
            why += f", and {memory_size(full.vram_bytes)} of VRAM on the GPU ({memory_size(max(0, budget.vram))} free to use)"
        return QuantFit(entry, FIT_NONE, suitable=quality is not None, why=why)

    fit, layers, ctx = found
    est = _estimate(entry, layers, ctx, opts, budget)
    rates = device_rates(budget.machine.machine_speed, budget.gpus if layers else ())
    est, speed = _measured(entry, est, predict_speed(model_shape(entry), est, rates), opts, budget)
    why = {
        FIT_FULL_GPU: f"all {n_layer + 1} layers on the GPU, {ctx_label(ctx)} context",
        FIT_PARTIAL_GPU: f"{layers} of {n_layer + 1} layers on the GPU, {ctx_label(ctx)} context",
    }.get(fit, f"CPU only, {ctx_label(ctx)} context")
    suitable, score = quality is not None, -math.inf
    if quality is not None:
        wanted = (min(entry.context_length, max(256, opts.ctx_cap)) // 256) * 256
        score = (
            quality - QUANT_PENALTY.get(entry.quant, 0.0) - CTX_PENALTY_PER_HALVING * max(0, math.log2(wanted / ctx))
        )
    if entry.size > budget.disk:
        suitable = False
        why += f"; the download needs {file_size(entry.size)} of disk, {file_size(budget.disk)} free"
    fast = meets_floors(speed, opts.floors, opts.purpose)
    return QuantFit(entry, fit, layers, ctx, est, speed, suitable, fast, score, why)
