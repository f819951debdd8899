"""What the model manager shows, and how it says it: Qt-free, so it runs on worker threads.

`read_library` and `probe_and_plan` are the blocking reads the window runs off the
GUI thread; the `*_text` functions word their results for the tables.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from app.config.settings import Settings
from app.hardware.probe import MachineProfile, probe_machine
from app.models.catalog import Catalog, CatalogEntry
from app.models.download.job import DownloadProgress
from app.models.library import InstalledModel, catalog_status, scan_models
from app.models.planning.measured import MeasuredLoads
from app.models.planning.planner import (
    FIT_CPU_ONLY,
    FIT_FULL_GPU,
    FIT_NONE,
    FIT_PARTIAL_GPU,
    FIT_REMOTE,
    Plan,
    PlanOptions,
    QuantFit,
    ctx_label,
    plan_for_machine,
)
from app.models.quality.results import QualityResults
from app.utils.errors import DscoderError
from app.utils.units import duration, file_size, time_left, token_rate, transfer_rate

MachineProber = Callable[[Path], MachineProfile]

# catalog_status words, as a person reads them in the Status column.
STATUS_TEXT = {
    "available": "not installed",
    "partial": "partly downloaded",
    "verified": "installed, verified",
    "hashed": "installed (no reference hash)",
    "unverified": "installed, not verified",
    "mismatch": "mismatch: file is corrupt",
    "changed": "changed on disk since checked",
    "missing": "file missing",
}
INSTALLED_STATES = frozenset({"verified", "hashed", "unverified"})
PHASE_TEXT = {
    "checking": "checking",
    "downloading": "downloading",
    "verifying": "verifying",
    "installing": "installing",
    "done": "done",
}


@dataclass(frozen=True)
class LibrarySnapshot:
    models: tuple[InstalledModel, ...]
    catalog_states: dict[str, str]  # catalog id -> catalog_status word


def read_library(models_dir: Path, entries: Sequence[CatalogEntry]) -> LibrarySnapshot:
    """Scan the models folder and work out each catalog entry's state (reads GGUF headers: off the GUI thread)."""
    models = tuple(scan_models(models_dir))
    states = {entry.id: catalog_status(entry, models, models_dir) for entry in entries}
    return LibrarySnapshot(models, states)


def probe_and_plan(
    models_dir: Path,
    entries: Sequence[CatalogEntry],
    options: PlanOptions,
    prober: MachineProber | None = None,
    machine: MachineProfile | None = None,
) -> tuple[MachineProfile, Plan]:
    """The one place the window talks to the probe and the planner (blocking: off the GUI thread).

    A machine already probed is planned again without a second probe (a purpose change).
    """
    if machine is None:
        machine = (prober or probe_machine)(models_dir)
    # The measured loads and quality checks are read afresh: the engine records a load at every
    # start, and a check may have finished since the last plan.
    options = dataclasses.replace(options, measured=MeasuredLoads(), quality=tuple(QualityResults().records()))
    return machine, plan_for_machine(machine, options, catalog=Catalog(tuple(entries)))


def save_settings_message(save: Callable[[Settings], None], settings: Settings) -> str | None:
    """Save the settings; the message to show when that fails, else None."""
    try:
        save(settings)
    except OSError as exc:
        return str(
            DscoderError(f"Cannot save the settings: {exc.strerror or exc}", "Check that the config folder is writable")
        )
    return None


# The Fit column of the machine panel's table, where the row's other columns say the rest.
FIT_SHORT_TEXT = {
    FIT_FULL_GPU: "Full GPU",
    FIT_PARTIAL_GPU: "Partial GPU",
    FIT_CPU_ONLY: "CPU only",
    FIT_NONE: "Does not fit",
    FIT_REMOTE: "Remote only",
}


def fit_text(fit: QuantFit | None) -> str:
    """The Fit column: "full GPU, 16K context", "partial GPU: 20 of 33 layers, 8K context", "does not fit: needs …"."""
    if fit is None:
        return "…"
    context = f"{ctx_label(fit.ctx)} context"
    if fit.fit == FIT_FULL_GPU:
        return f"full GPU, {context}"
    if fit.fit == FIT_PARTIAL_GPU:
        return f"partial GPU: {fit.gpu_layers} of {fit.entry.hyperparameters.n_layer + 1} layers, {context}"
    if fit.fit == FIT_CPU_ONLY:
        return f"CPU only, {context}"
    if fit.fit == FIT_NONE:
        return f"does not fit: {fit.why}"
    if fit.fit == FIT_REMOTE:
        return "too large: remote engine only"
    return fit.fit


SPEED_MARK = {"measured": " (measured)", "calibrated": " (calibrated)", "assumed": " (typical machine)"}


def speed_cell(fit: QuantFit | None) -> tuple[str, str]:
    """The Speed column and its tooltip: what a chat model's user waits for, or a base
    model's ghost text: "9.1 tok/s · 2K question 12 s (measured)"."""
    if fit is None or fit.speed is None:
        return ("…" if fit is None else "–"), ""
    speed = fit.speed
    mark = SPEED_MARK.get(speed.source, "")
    if fit.entry.serves_chat:
        text = f"{token_rate(speed.decode_tokens_per_s)} tok/s · 2K question {duration(speed.first_token_s)}"
    else:
        text = f"ghost text {duration(speed.completion_s)}"
    tip = (
        f"Answers at {token_rate(speed.decode_tokens_per_s)} tokens/s; reads a prompt at "
        f"{token_rate(speed.prompt_tokens_per_s)} tokens/s: a 2K-token question's first token in "
        f"{duration(speed.first_token_s)}; inline completion's first ghost text in "
        f"{duration(speed.completion_s)} ({speed.source})"
    )
    return text + mark, tip


def status_text(state: str) -> str:
    return STATUS_TEXT.get(state, state)


def size_text(entry: CatalogEntry) -> str:
    return ("" if entry.size_exact else "≈ ") + file_size(entry.size)


def live_status_text(progress: DownloadProgress | None, paused: bool = False) -> str:
    """The Status column while a download runs: "downloading 42%", "paused 42%"."""
    if progress is None:
        return "paused" if paused else "queued"
    percent = f" {int(progress.fraction * 100)}%" if progress.total_bytes else ""
    if paused:
        return f"paused{percent}"
    return PHASE_TEXT.get(progress.phase, progress.phase) + percent


def progress_detail(progress: DownloadProgress) -> str:
    """A download row's detail: "412.3 MB of 3.8 GB · 12.4 MB/s · 4 min 10 s left"."""
    if progress.phase == "checking":
        return "Asking the hub for the file's size and sha256…"
    parts = [f"{file_size(progress.done_bytes)} of {file_size(progress.total_bytes)}"]
    if progress.phase == "downloading":
        if progress.speed_bps:
            parts.append(transfer_rate(progress.speed_bps))
        if progress.eta_seconds is not None:
            parts.append(f"{time_left(progress.eta_seconds)} left")
    elif progress.phase == "verifying":
        parts.insert(0, "checking sha256")
    elif progress.phase == "installing":
        parts = ["verified, moving into the models folder"]
    return " · ".join(parts)


def parameters_text(count: int | None) -> str:
    if not count:
        return "–"
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return str(count)


def yes_no(value: bool | None) -> str:
    return "–" if value is None else ("yes" if value else "no")


def model_columns(model: InstalledModel) -> tuple[str, ...]:
    """File, architecture, parameters, quant, context, chat template, FIM, size, verification."""
    info = model.info
    if info is None:
        unreadable = "unreadable" if model.info_error else "–"
        return (model.name, unreadable, "–", "–", "–", "–", "–", file_size(model.size), model.state)
    return (
        model.name,
        info.architecture,
        parameters_text(info.parameter_count),
        info.quant or "–",
        str(info.context_length) if info.context_length else "–",
        yes_no(bool(info.chat_template)),
        yes_no(info.has_fim),
        file_size(model.size),
        model.state,
    )
