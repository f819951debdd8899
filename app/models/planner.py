"""The planner: which DeepSeek-Coder variant, quant, GPU layers and context fit this machine.

For every catalog entry it works out the best placement (all layers on the GPU,
some layers, or CPU only) and the largest context that fits after the weights,
keeping headroom in RAM and VRAM. It then recommends the best-quality entry for the
purpose (chat, completion or both) that fits, downloads within the free disk space,
and runs at a usable speed, and says why in one sentence. The V2 236B is never
planned locally: the planner points to a remote engine for it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from app.hardware.probe import GpuInfo, MachineProfile
from app.models.catalog import Catalog, CatalogEntry, load_catalog
from app.models.estimator import GIB, MemoryEstimate, active_bytes_per_token, estimate_memory, model_shape, pad_ctx

PURPOSES = ("chat", "completion", "both")
# Headroom: RAM for the OS, the GUI and the editor; VRAM for the desktop and driver growth.
RAM_HEADROOM_MIN_BYTES = 1 * GIB
RAM_HEADROOM_FRACTION = 0.10  # of total RAM
VRAM_HEADROOM_BYTES = 512 * 1024 * 1024  # per GPU
VRAM_HEADROOM_FRACTION = 0.05  # of each GPU's total
# Smallest useful context per purpose (capped at the model's own limit).
MIN_CTX = {"chat": 4096, "completion": 2048, "both": 4096}
DEFAULT_CTX_CAP = 16384
PARTIAL_OFFLOAD_CTX = 8192
# GPUs smaller than this (an APU's carve-out) are not worth splitting layers onto.
MIN_PLANNED_GPU_VRAM_BYTES = 2 * GIB
# Above 4K the context is offered in whole K (1024) steps.
CTX_ROUND_ABOVE = 4096  # context tried first when only some layers fit on the GPU
# Ranking: points off the entry's quality score per quant (perplexity grows fast below 4 bits).
QUANT_PENALTY = {"Q8_0": 0.0, "Q6_K": 0.5, "Q5_K_M": 1.0, "Q4_K_M": 2.0, "Q3_K_M": 5.0, "Q2_K": 12.0}
CTX_PENALTY_PER_HALVING = 2.0  # points off per halving of the context below the wanted one
UNOFFICIAL_FIM_PENALTY = 10.0  # a v1 instruct model doing FIM for "both"
# Speed model (calibrate): generation reads the active weights once per token.
CPU_BANDWIDTH_BYTES_PER_S = 30e9
GPU_BANDWIDTH_BYTES_PER_S = {"nvidia": 400e9, "amd": 400e9, "apple": 100e9, "intel": 200e9}
MIN_TOKENS_PER_S = {"chat": 5.0, "completion": 8.0, "both": 5.0}

FIT_FULL_GPU = "full_gpu"
FIT_PARTIAL_GPU = "partial_gpu"
FIT_CPU_ONLY = "cpu_only"
FIT_NONE = "does_not_fit"
FIT_REMOTE = "remote_only"

FAMILY_LABEL = {
    "1.3b": "1.3B",
    "6.7b": "6.7B",
    "33b": "33B",
    "7b-v1.5": "7B v1.5",
    "v2-lite": "V2-Lite",
    "v2": "V2 236B",
}


@dataclass(frozen=True)
class PlanOptions:
    purpose: str = "chat"
    ctx_cap: int = DEFAULT_CTX_CAP
    kv_type: str = "f16"
    flash_attn: bool = False
    n_batch: int = 512
    n_ubatch: int = 512


@dataclass(frozen=True)
class QuantFit:
    entry: CatalogEntry
    fit: str  # FIT_FULL_GPU, FIT_PARTIAL_GPU, FIT_CPU_ONLY, FIT_NONE, FIT_REMOTE
    gpu_layers: int = 0  # as llama.cpp counts them: n_layer + 1 means all, with the output
    ctx: int = 0
    estimate: MemoryEstimate | None = None
    tokens_per_s: float = 0.0
    suitable: bool = False  # serves the purpose
    score: float = -math.inf
    why: str = ""  # short text for the table: "all 33 layers on GPU", "needs 21 GB RAM, 14 GB free"

    @property
    def fits(self) -> bool:
        return self.fit in (FIT_FULL_GPU, FIT_PARTIAL_GPU, FIT_CPU_ONLY)


@dataclass(frozen=True)
class Plan:
    purpose: str
    recommendation: QuantFit | None
    reason: str
    fits: tuple[QuantFit, ...]
    gpus: tuple[GpuInfo, ...] = ()  # the GPUs the plan offloads to
    notes: tuple[str, ...] = field(default=())

    def recommendation_dict(self) -> dict[str, object] | None:
        rec = self.recommendation
        if rec is None or rec.estimate is None:
            return None
        return {
            "variant": rec.entry.variant,
            "quant": rec.entry.quant,
            "repo": rec.entry.repo,
            "file": rec.entry.local_file_name,
            "gpu_layers": rec.gpu_layers,
            "ctx": rec.ctx,
            "ram_bytes": rec.estimate.ram_bytes,
            "vram_bytes": rec.estimate.vram_bytes,
            "reason": self.reason,
        }


def gb(n_bytes: float) -> str:
    """Memory as people read it on spec sheets (a 24 GB card): binary GB, one decimal."""
    return f"{n_bytes / GIB:.1f} GB"


def ctx_label(ctx: int) -> str:
    return f"{ctx // 1024}K" if ctx % 1024 == 0 else str(ctx)


def entry_label(entry: CatalogEntry) -> str:
    kind = "Instruct" if "instruct" in entry.variant else "Base"
    return f"{FAMILY_LABEL.get(entry.family, entry.variant)} {kind}"


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


class _Budget:
    def __init__(self, machine: MachineProfile) -> None:
        mem = machine.memory
        self.ram = mem.ram_available_bytes - max(
            RAM_HEADROOM_MIN_BYTES, int(mem.ram_total_bytes * RAM_HEADROOM_FRACTION)
        )
        usable = tuple(g for g in machine.usable_gpus if g.vram_total_bytes >= MIN_PLANNED_GPU_VRAM_BYTES)
        vendor = usable[0].vendor if usable else ""
        self.gpus = tuple(g for g in usable if g.vendor == vendor)
        self.vram = sum(
            max(0, g.vram_free_bytes - VRAM_HEADROOM_BYTES - int(g.vram_total_bytes * VRAM_HEADROOM_FRACTION))
            for g in self.gpus
        )
        self.unified = any(g.unified_memory for g in self.gpus)
        self.gpu_bandwidth = GPU_BANDWIDTH_BYTES_PER_S.get(vendor, 200e9)
        self.disk = machine.disk_free_bytes

    def fits(self, est: MemoryEstimate) -> bool:
        ram_needed = est.ram_bytes + (est.vram_bytes if self.unified else 0)
        return ram_needed <= self.ram and est.vram_bytes <= max(0, self.vram)


def _estimate(entry: CatalogEntry, gpu_layers: int, ctx: int, opts: PlanOptions, budget: _Budget) -> MemoryEstimate:
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
    )


def _largest_ctx(entry: CatalogEntry, gpu_layers: int, lo: int, hi: int, opts: PlanOptions, budget: _Budget) -> int:
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


def _most_layers(entry: CatalogEntry, ctx: int, opts: PlanOptions, budget: _Budget) -> int:
    """Most GPU layers (1..n_layer) whose estimate fits at ctx; 0 if none."""
    lo, hi = 0, entry.hyperparameters.n_layer
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if budget.fits(_estimate(entry, mid, ctx, opts, budget)):
            lo = mid
        else:
            hi = mid - 1
    return lo


def _tokens_per_s(entry: CatalogEntry, est: MemoryEstimate, budget: _Budget) -> float:
    shape = model_shape(entry)
    cpu = active_bytes_per_token(shape, max(0, est.weights_ram_bytes - shape.token_embd_bytes))
    gpu = active_bytes_per_token(shape, est.weights_vram_bytes)
    seconds = cpu / CPU_BANDWIDTH_BYTES_PER_S + gpu / budget.gpu_bandwidth
    return 1 / seconds if seconds > 0 else 0.0


def fit_entry(
    entry: CatalogEntry, machine: MachineProfile, opts: PlanOptions | None = None, budget: _Budget | None = None
) -> QuantFit:
    opts = opts or PlanOptions()
    budget = budget or _Budget(machine)
    quality = purpose_quality(entry, opts.purpose)
    if entry.remote_only:
        return QuantFit(
            entry,
            FIT_REMOTE,
            why=f"{entry.size / 1e9:.0f} GB of weights: run it on a server and connect as a remote engine",
        )
    limit = min(entry.context_length, max(256, opts.ctx_cap))
    wanted = (limit // 256) * 256
    lowest = min(pad_ctx(MIN_CTX[opts.purpose]), wanted)
    n_layer = entry.hyperparameters.n_layer
    found: tuple[str, int, int] | None = None
    if budget.gpus and budget.vram > 0:
        ctx = _largest_ctx(entry, n_layer + 1, lowest, wanted, opts, budget)
        if ctx:
            found = (FIT_FULL_GPU, n_layer + 1, ctx)
        else:
            first_try = min(wanted, max(lowest, PARTIAL_OFFLOAD_CTX))
            tries = [first_try] + [c for c in (first_try // 2, first_try // 4) if c >= lowest] + [lowest]
            for ctx_try in dict.fromkeys(tries):
                layers = _most_layers(entry, ctx_try, opts, budget)
                if layers >= 1:
                    found = (FIT_PARTIAL_GPU, layers, _largest_ctx(entry, layers, ctx_try, wanted, opts, budget))
                    break
    if found is None:
        ctx = _largest_ctx(entry, 0, lowest, wanted, opts, budget)
        if ctx:
            found = (FIT_CPU_ONLY, 0, ctx)
    if found is None:
        need = _estimate(entry, 0, lowest, opts, budget)
        why = (
            f"needs {gb(need.ram_bytes)} of RAM at {ctx_label(lowest)} context; {gb(max(0, budget.ram))} is free to use"
        )
        if budget.gpus:
            full = _estimate(entry, n_layer + 1, lowest, opts, budget)
            why += f", and {gb(full.vram_bytes)} of VRAM on the GPU ({gb(max(0, budget.vram))} free to use)"
        return QuantFit(entry, FIT_NONE, suitable=quality is not None, why=why)

    fit, layers, ctx = found
    est = _estimate(entry, layers, ctx, opts, budget)
    speed = _tokens_per_s(entry, est, budget)
    if fit == FIT_FULL_GPU:
        why = f"all {n_layer + 1} layers on the GPU, {ctx_label(ctx)} context"
    elif fit == FIT_PARTIAL_GPU:
        why = f"{layers} of {n_layer + 1} layers on the GPU, {ctx_label(ctx)} context"
    else:
        why = f"CPU only, {ctx_label(ctx)} context"
    suitable = quality is not None
    score = -math.inf
    if quality is not None:
        score = quality - QUANT_PENALTY.get(entry.quant, 0.0)
        if ctx < wanted:
            score -= CTX_PENALTY_PER_HALVING * math.log2(wanted / ctx)
    if entry.size > budget.disk:
        suitable = False
        why += f"; the download needs {entry.size / 1e9:.1f} GB of disk, {budget.disk / 1e9:.1f} GB free"
    elif speed < MIN_TOKENS_PER_S[opts.purpose]:
        suitable = False
        why += f"; too slow here (about {speed:.0f} tokens/s)"
    return QuantFit(entry, fit, layers, ctx, est, speed, suitable, score, why)


def plan_for_machine(machine: MachineProfile, opts: PlanOptions | None = None, catalog: Catalog | None = None) -> Plan:
    opts = opts or PlanOptions()
    if opts.purpose not in PURPOSES:
        raise ValueError(f"purpose must be one of {', '.join(PURPOSES)}")
    catalog = catalog or load_catalog()
    budget = _Budget(machine)
    fits = tuple(fit_entry(entry, machine, opts, budget) for entry in catalog.entries)
    candidates = [f for f in fits if f.fits and f.suitable]
    best = max(candidates, key=lambda f: (f.score, f.tokens_per_s), default=None)
    notes = list(machine.notes)
    for gpu in machine.gpus:
        if not gpu.backend_usable:
            notes.append(f"The {gpu.name} is not used: {gpu.unusable_reason}")
    remote = next((f for f in fits if f.fit == FIT_REMOTE and purpose_quality(f.entry, opts.purpose) is not None), None)
    if remote is not None:
        notes.append(
            f"The {entry_label(remote.entry)} is too large for a desktop ({remote.entry.size / 1e9:.0f} GB of weights at "
            f"{remote.entry.quant}); run it on a multi-GPU server (vLLM, SGLang or llama.cpp's server) and add it as a remote engine."
        )
    return Plan(
        opts.purpose,
        best,
        _reason(best, budget, machine, opts),
        fits,
        budget.gpus if best and best.gpu_layers else (),
        tuple(notes),
    )


def _gpu_words(gpus: tuple[GpuInfo, ...]) -> str:
    if len(gpus) == 1:
        return f"the {gpus[0].name} ({gb(gpus[0].vram_total_bytes)})"
    total = sum(g.vram_total_bytes for g in gpus)
    names = list(dict.fromkeys(g.name for g in gpus))
    what = f"{len(gpus)} × {names[0]}" if len(names) == 1 else " + ".join(g.name for g in gpus)
    return f"{what} ({gb(total)} in all)"


def _reason(best: QuantFit | None, budget: _Budget, machine: MachineProfile, opts: PlanOptions) -> str:
    if best is None or best.estimate is None:
        return (
            "No DeepSeek-Coder model in the catalog fits this machine for "
            f"{opts.purpose}; connect to a remote engine (llama.cpp server, vLLM or Ollama on a bigger machine) instead."
        )
    est = best.estimate
    head = f"{entry_label(best.entry)} {best.entry.quant}"
    ctx = ctx_label(best.ctx)
    if best.fit == FIT_FULL_GPU:
        return f"{head}, all layers on {_gpu_words(budget.gpus)}: {gb(est.vram_bytes)} of VRAM at {ctx} context."
    if best.fit == FIT_PARTIAL_GPU:
        return (
            f"{head}, {best.gpu_layers} of {est.n_layer + 1} layers on {_gpu_words(budget.gpus)}: "
            f"{gb(est.vram_bytes)} of VRAM and {gb(est.ram_bytes)} of RAM at {ctx} context."
        )
    unusable = [g for g in machine.gpus if not g.backend_usable]
    why_cpu = (
        f" (this llama.cpp build cannot use the {unusable[0].name})"
        if unusable
        else ""
        if not budget.gpus
        else " (the GPU is too small for it)"
    )
    return f"{head} on the CPU{why_cpu}: {gb(est.ram_bytes)} of RAM at {ctx} context."
