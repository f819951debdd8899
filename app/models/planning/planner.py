"""The planner: which DeepSeek-Coder variant, quant, GPU layers and context to run here, for use.

Every catalog entry is fitted (app/models/planning/fitting.py: placement, context, memory with
headroom, predicted or measured speed). The recommendation is the best-quality entry
for the purpose that fits, downloads within the free disk space and meets the
interactive floors; the bigger-but-slower choice is named as a second line, never
the default. For "chat and completion" two models are recommended when one cannot
meet both floors and the two fit together. When nothing meets the floors the
closest is recommended, and the reason says by how much it misses. The V2 236B is
never planned locally: the plan points to a remote engine for it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from app.config.settings import Settings
from app.hardware.probe import GpuInfo, MachineProfile
from app.models.catalog import Catalog, load_catalog
from app.models.planning.fitting import (
    FIT_CPU_ONLY,
    FIT_FULL_GPU,
    FIT_NONE,
    FIT_PARTIAL_GPU,
    FIT_REMOTE,
    GIB,
    MIN_CTX,
    NEAR_SHORTFALL,
    UNOFFICIAL_FIM_PENALTY,
    Budget,
    Headroom,
    PlanOptions,
    QuantFit,
    SpeedFloors,
    ctx_label,
    fit_dict,
    fit_entry,
    floors_met,
    purpose_quality,
    shortfall,
)
from app.models.planning.measured import MeasuredLoads
from app.models.planning.plan_words import (
    alternative_text,
    entry_label,
    no_fit_text,
    pair_text,
    recommendation_text,
    too_slow_text,
)
from app.models.planning.purposes import PURPOSES
from app.models.planning.quant_quality import prefer_by_quality, quality_warnings
from app.models.quality.results import QualityRecord
from app.utils.units import file_size

# Two models for "both" even when one meets the floors: when the chat model is this much
# better (a bigger family, not a quant step) than the one model that does both.
PAIR_MIN_CHAT_GAIN = 5.0

__all__ = [
    "FIT_CPU_ONLY",
    "FIT_FULL_GPU",
    "FIT_NONE",
    "FIT_PARTIAL_GPU",
    "FIT_REMOTE",
    "PURPOSES",
    "Headroom",
    "Plan",
    "PlanOptions",
    "QuantFit",
    "SpeedFloors",
    "ctx_label",
    "entry_label",
    "fit_dict",
    "plan_for_machine",
    "plan_options",
]


@dataclass(frozen=True)
class Plan:
    purpose: str
    recommendation: QuantFit | None
    reason: str
    fits: tuple[QuantFit, ...]
    gpus: tuple[GpuInfo, ...] = ()  # the GPUs the plan offloads to
    notes: tuple[str, ...] = field(default=())
    alternative: QuantFit | None = None  # the bigger-but-slower choice: a second line, not the default
    alternative_reason: str = ""
    completion: QuantFit | None = None  # "both" served by two models: this one completes code
    floors: SpeedFloors = SpeedFloors()
    upgrade: QuantFit | None = None  # the next quant up, offered when the recommended one measured far too low

    def recommendation_dict(self) -> dict[str, object] | None:
        rec = self.recommendation
        if rec is None or rec.estimate is None:
            return None
        return {**fit_dict(rec), "reason": self.reason}

    def alternative_dict(self) -> dict[str, object] | None:
        alt = self.alternative
        return {**fit_dict(alt), "reason": self.alternative_reason} if alt and alt.estimate else None

    def completion_dict(self) -> dict[str, object] | None:
        return fit_dict(self.completion) if self.completion and self.completion.estimate else None


def plan_options(
    settings: Settings,
    purpose: str = "chat",
    *,
    ctx_cap: int | None = None,
    installed: Mapping[str, str] | None = None,
    measured: MeasuredLoads | None = None,
    quality: Sequence[QualityRecord] = (),
) -> PlanOptions:
    """The plan's options from the user's settings: engine options, floors and headroom."""
    return PlanOptions(
        purpose=purpose,
        ctx_cap=ctx_cap or settings.n_ctx or PlanOptions.ctx_cap,
        kv_type=settings.kv_cache_type,
        flash_attn=settings.flash_attn,
        n_batch=settings.n_batch,
        n_ubatch=settings.n_ubatch,
        floors=SpeedFloors(
            settings.plan_min_tokens_per_s, settings.plan_max_question_s, settings.plan_max_completion_s
        ),
        headroom=Headroom(
            settings.plan_headroom_percent / 100, int(settings.plan_headroom_max_gb * GIB), settings.prompt_cache_bytes
        ),
        installed=dict(installed or {}),
        measured=measured,
        quality=tuple(quality),
    )


def _choose(candidates: Sequence[QuantFit], opts: PlanOptions) -> tuple[QuantFit | None, QuantFit | None]:
    """(recommendation, the bigger-but-slower alternative) among fitting, suitable entries."""
    best, alternative, _why = _choose_with_quality(candidates, opts)
    return best, alternative


def _by_measured_quality(best: QuantFit, fast: Sequence[QuantFit], opts: PlanOptions) -> tuple[QuantFit, str]:
    """The same variant's quant to recommend by what was measured here (quant_quality.py)."""
    peers = [f for f in fast if f.entry.variant == best.entry.variant and f.ctx >= best.ctx]
    entry, why = prefer_by_quality(best.entry, [f.entry for f in peers], opts.quality, opts.purpose)
    return next((f for f in peers if f.entry.id == entry.id), best), why


def _choose_with_quality(
    candidates: Sequence[QuantFit], opts: PlanOptions
) -> tuple[QuantFit | None, QuantFit | None, str]:
    """_choose, and the sentence on measured quality for the reason ("" when none applied)."""
    if not candidates:
        return None, None, ""
    fast = [f for f in candidates if f.meets_floors]
    why = ""
    if fast:
        best = max(fast, key=lambda f: (f.score, f.speed.decode_tokens_per_s if f.speed else 0.0))
        best, why = _by_measured_quality(best, fast, opts)
    else:
        # Nothing is fast enough: those meeting the most floors, then the least slow of
        # them, then the best of those about as slow.
        most = max(floors_met(f.speed, opts.floors, opts.purpose) for f in candidates if f.speed)
        near = [f for f in candidates if f.speed and floors_met(f.speed, opts.floors, opts.purpose) == most]
        misses = {f.entry.id: shortfall(f.speed, opts.floors, opts.purpose) for f in near if f.speed}
        least = min(misses.values())
        best = max((f for f in near if misses[f.entry.id] <= least * NEAR_SHORTFALL), key=lambda f: f.score)
    slower = [f for f in candidates if not f.meets_floors and f.score > best.score]
    return best, max(slower, key=lambda f: f.score, default=None), why


def _fitting(machine: MachineProfile, opts: PlanOptions, catalog: Catalog, budget: Budget) -> tuple[QuantFit, ...]:
    return tuple(fit_entry(entry, machine, opts, budget) for entry in catalog.entries)


def _pair(
    machine: MachineProfile, opts: PlanOptions, catalog: Catalog, budget: Budget
) -> tuple[QuantFit, QuantFit] | None:
    """A completion model that meets its floor, then the best chat model that meets the
    chat floors in the memory left beside it; None when there is no such pair."""
    completion_opts = dataclasses.replace(opts, purpose="completion", ctx_cap=MIN_CTX["completion"])
    completion_fits = [f for f in _fitting(machine, completion_opts, catalog, budget) if f.fits and f.suitable]
    completion, _ = _choose(completion_fits, completion_opts)
    if completion is None or completion.estimate is None or not completion.meets_floors:
        return None
    chat_opts = dataclasses.replace(opts, purpose="chat")
    rest = budget.without(completion.estimate)
    chat_fits = [f for f in _fitting(machine, chat_opts, catalog, rest) if f.fits and f.suitable]
    chat, _ = _choose([f for f in chat_fits if f.entry.variant != completion.entry.variant], chat_opts)
    return (chat, completion) if chat is not None and chat.meets_floors else None


def _chat_score(fit: QuantFit) -> float:
    """The fit's score as a chat model (a "both" score is lower by the unofficial-FIM penalty)."""
    if fit.entry.fim is True:
        return fit.score
    return fit.score + UNOFFICIAL_FIM_PENALTY


def _notes(machine: MachineProfile, fits: Sequence[QuantFit], purpose: str) -> tuple[str, ...]:
    notes = list(machine.notes)
    for gpu in machine.gpus:
        if not gpu.backend_usable:
            notes.append(f"The {gpu.name} is not used: {gpu.unusable_reason}")
    remote = next((f for f in fits if f.fit == FIT_REMOTE and purpose_quality(f.entry, purpose) is not None), None)
    if remote is not None:
        notes.append(
            f"The {entry_label(remote.entry)} is too large for a desktop ({file_size(remote.entry.size)} of weights at "
            f"{remote.entry.quant}); run it on a multi-GPU server (vLLM, SGLang or llama.cpp's server) and add it as a remote engine."
        )
    return tuple(notes)


def choose_plan(machine: MachineProfile, opts: PlanOptions, catalog: Catalog) -> Plan:
    budget = Budget(machine, opts.headroom)
    fits = _fitting(machine, opts, catalog, budget)
    best, alternative, quality_why = _choose_with_quality([f for f in fits if f.fits and f.suitable], opts)
    notes = _notes(machine, fits, opts.purpose) + tuple(text for _r, _up, text in quality_warnings(opts.quality))
    if best is None:
        return Plan(opts.purpose, None, no_fit_text(opts.purpose), fits, (), notes, floors=opts.floors)
    pair = _pair(machine, opts, catalog, budget) if opts.purpose == "both" else None
    if pair and (not best.meets_floors or pair[0].score >= _chat_score(best) + PAIR_MIN_CHAT_GAIN):
        chat, completion = pair
        gpus = budget.gpus if chat.gpu_layers or completion.gpu_layers else ()
        reason = pair_text(chat, completion, best, budget, machine)
        return Plan("both", chat, reason, fits, gpus, notes, completion=completion, floors=opts.floors)
    if best.meets_floors:
        reason = recommendation_text(best, opts.purpose, budget, machine)
    else:
        reason = too_slow_text(best, opts.purpose, opts.floors, budget, machine)
    upgrade, upgrade_why = _upgrade(best, fits, opts)
    reason = " ".join(part for part in (reason, quality_why, upgrade_why) if part)
    return Plan(
        opts.purpose,
        best,
        reason,
        fits,
        budget.gpus if best.gpu_layers else (),
        notes,
        alternative,
        alternative_text(alternative, opts.purpose) if alternative else "",
        floors=opts.floors,
        upgrade=upgrade,
    )


def _upgrade(best: QuantFit, fits: Sequence[QuantFit], opts: PlanOptions) -> tuple[QuantFit | None, str]:
    """The next quant up when the recommended file measured far below its published score."""
    for record, better, text in quality_warnings(opts.quality):
        if (record.variant, record.quant) != (best.entry.variant, best.entry.quant) or better is None:
            continue
        found = next((f for f in fits if f.entry.variant == best.entry.variant and f.entry.quant == better), None)
        if found is not None and found.fits and found.suitable:
            return found, f"Warning: {text}"
        return None, f"Warning: {text.rsplit(':', 1)[0]}, and {better} does not fit here."
    return None, ""


def plan_for_machine(machine: MachineProfile, opts: PlanOptions | None = None, catalog: Catalog | None = None) -> Plan:
    opts = opts or PlanOptions()
    if opts.purpose not in PURPOSES:
        raise ValueError(f"purpose must be one of {', '.join(PURPOSES)}")
    return choose_plan(machine, opts, catalog or load_catalog())
