"""How the planner says what it chose: one sentence that names the trade-off.

"6.7B Instruct Q4_K_M on the CPU: 9 tokens/s, a 2K-token question in 12 s; 5.1 GB of
RAM at 16K context." and, as a second line, "V2-Lite Instruct Q8_0 also fits but
answers at 4 tokens/s and takes 45 s to read a 2K-token question."
"""

from __future__ import annotations

from app.hardware.probe import GpuInfo, MachineProfile
from app.models.catalog import CatalogEntry
from app.models.planning.fitting import FIT_FULL_GPU, FIT_PARTIAL_GPU, Budget, QuantFit, SpeedFloors, ctx_label
from app.models.planning.speed_prediction import ASSUMED, CALIBRATED, MEASURED, SpeedEstimate
from app.utils.units import duration, memory_size, token_rate

FAMILY_LABEL = {
    "1.3b": "1.3B",
    "6.7b": "6.7B",
    "33b": "33B",
    "7b-v1.5": "7B v1.5",
    "v2-lite": "V2-Lite",
    "v2": "V2 236B",
}
SOURCE_NOTE = {
    MEASURED: " (measured)",
    CALIBRATED: " (calibrated by measured loads)",
    ASSUMED: " (typical speeds: this machine is not measured yet)",
}


def entry_label(entry: CatalogEntry) -> str:
    kind = "Instruct" if "instruct" in entry.variant else "Base"
    return f"{FAMILY_LABEL.get(entry.family, entry.variant)} {kind}"


def fit_label(fit: QuantFit) -> str:
    return f"{entry_label(fit.entry)} {fit.entry.quant}"


def speed_text(speed: SpeedEstimate, purpose: str) -> str:
    """ "9 tokens/s, a 2K-token question in 12 s" and/or "first ghost text in 0.3 s"."""
    parts = []
    if purpose in ("chat", "both"):
        parts.append(
            f"{token_rate(speed.decode_tokens_per_s)} tokens/s, a 2K-token question in {duration(speed.first_token_s)}"
        )
    if purpose in ("completion", "both"):
        parts.append(f"first ghost text in {duration(speed.completion_s)}")
    correction = speed.correction_text()
    return ", ".join(parts) + (f" ({correction})" if correction else SOURCE_NOTE.get(speed.source, ""))


def slow_text(speed: SpeedEstimate, purpose: str) -> str:
    """ "answers at 4 tokens/s and takes 45 s to read a 2K-token question"."""
    parts = []
    if purpose in ("chat", "both"):
        parts.append(
            f"answers at {token_rate(speed.decode_tokens_per_s)} tokens/s and takes "
            f"{duration(speed.first_token_s)} to read a 2K-token question"
        )
    if purpose in ("completion", "both"):
        parts.append(f"its first ghost text takes {duration(speed.completion_s)}")
    return " and ".join(parts)


def floors_text(floors: SpeedFloors, purpose: str) -> str:
    parts = []
    if purpose in ("chat", "both"):
        parts += [
            f"{token_rate(floors.decode_tokens_per_s)} tokens/s",
            f"a 2K-token question in {duration(floors.question_s)}",
        ]
    if purpose in ("completion", "both"):
        parts.append(f"ghost text in {duration(floors.completion_s)}")
    return ", ".join(parts)


def _gpu_words(gpus: tuple[GpuInfo, ...]) -> str:
    if len(gpus) == 1:
        return f"the {gpus[0].name} ({memory_size(gpus[0].vram_total_bytes)})"
    total = sum(g.vram_total_bytes for g in gpus)
    names = list(dict.fromkeys(g.name for g in gpus))
    what = f"{len(gpus)} × {names[0]}" if len(names) == 1 else " + ".join(g.name for g in gpus)
    return f"{what} ({memory_size(total)} in all)"


def placement_text(fit: QuantFit, budget: Budget, machine: MachineProfile) -> tuple[str, str]:
    """("all layers on the RTX 4090 (24.0 GB)", "20.1 GB of VRAM at 16K context")."""
    est = fit.estimate
    assert est is not None
    ctx = ctx_label(fit.ctx)
    if fit.fit == FIT_FULL_GPU:
        return f", all layers on {_gpu_words(budget.gpus)}", f"{memory_size(est.vram_bytes)} of VRAM at {ctx} context"
    if fit.fit == FIT_PARTIAL_GPU:
        return (
            f", {fit.gpu_layers} of {est.n_layer + 1} layers on {_gpu_words(budget.gpus)}",
            f"{memory_size(est.vram_bytes)} of VRAM and {memory_size(est.ram_bytes)} of RAM at {ctx} context",
        )
    unusable = [g for g in machine.gpus if not g.backend_usable]
    if unusable:
        why_cpu = f" (this llama.cpp build cannot use the {unusable[0].name})"
    else:
        why_cpu = " (the GPU is too small for it)" if budget.gpus else ""
    return f" on the CPU{why_cpu}", f"{memory_size(est.ram_bytes)} of RAM at {ctx} context"


def recommendation_text(fit: QuantFit, purpose: str, budget: Budget, machine: MachineProfile) -> str:
    """One sentence: the model, where it runs, how fast it feels, what memory it takes."""
    assert fit.speed is not None
    where, memory = placement_text(fit, budget, machine)
    return f"{fit_label(fit)}{where}: {speed_text(fit.speed, purpose)}; {memory}."


def too_slow_text(fit: QuantFit, purpose: str, floors: SpeedFloors, budget: Budget, machine: MachineProfile) -> str:
    """Nothing meets the floors: say so, and recommend the closest in the same sentence."""
    return (
        f"No model in the catalog meets your speed floors ({floors_text(floors, purpose)}) on this machine; "
        f"the closest is {recommendation_text(fit, purpose, budget, machine)}"
    )


def alternative_text(fit: QuantFit, purpose: str) -> str:
    assert fit.speed is not None
    return f"{fit_label(fit)} also fits but {slow_text(fit.speed, purpose)}."


def pair_text(
    chat: QuantFit, completion: QuantFit, single: QuantFit | None, budget: Budget, machine: MachineProfile
) -> str:
    """Two models: the chat model for its speed, the completion model for its latency, and
    why not one (`single`: the best one model for both)."""
    assert chat.speed is not None and completion.speed is not None
    assert chat.estimate is not None and completion.estimate is not None
    where, _memory = placement_text(chat, budget, machine)
    ram = chat.estimate.ram_bytes + completion.estimate.ram_bytes
    if single is not None and single.meets_floors:
        why = f"a better chat model than {fit_label(single)}, the best one model for both"
    else:
        why = "no one model meets both floors here"
    return (
        f"{fit_label(chat)} for chat{where} ({speed_text(chat.speed, 'chat')}) and {fit_label(completion)} "
        f"for completion ({speed_text(completion.speed, 'completion')}): {why}; {memory_size(ram)} of RAM for the two."
    )


def no_fit_text(purpose: str) -> str:
    return (
        "No DeepSeek-Coder model in the catalog fits this machine for "
        f"{purpose}; connect to a remote engine (llama.cpp server, vLLM or Ollama on a bigger machine) instead."
    )
