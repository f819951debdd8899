"""`dscoder probe`: read this machine, measure its speed once, and recommend a model for it."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from app.config.settings import Settings, load_settings
from app.hardware.machine_speed import MachineSpeed, describe_machine_speed
from app.hardware.machine_speed_benchmark import with_machine_speed
from app.hardware.probe import MachineProfile, probe_machine
from app.models.catalog import load_catalog
from app.models.library import installed_paths, scan_models
from app.models.planning.measured import MeasuredLoads
from app.models.planning.planner import Plan, plan_for_machine, plan_options
from app.models.planning.speed_prediction import ASSUMED
from app.models.quality.results import QualityResults
from app.utils.errors import DscoderError
from app.utils.units import duration, file_size, memory_size, token_rate


def speed_json(machine: MachineProfile) -> dict[str, Any] | None:
    return machine.machine_speed.to_json() if machine.machine_speed else None


def probe_json(machine: MachineProfile, plan: Plan) -> dict[str, Any]:
    cpu = machine.cpu
    return {
        "ram_total_bytes": machine.memory.ram_total_bytes,
        "ram_available_bytes": machine.memory.ram_available_bytes,
        "cpu": {
            "name": cpu.name,
            "arch": cpu.arch,
            "physical_cores": cpu.physical_cores,
            "logical_cores": cpu.logical_cores,
            "flags": list(cpu.flags),
        },
        "gpus": [
            {
                "name": g.name,
                "vram_total_bytes": g.vram_total_bytes,
                "vram_free_bytes": g.vram_free_bytes,
                "backend_usable": g.backend_usable,
            }
            for g in machine.gpus
        ],
        "disk_free_bytes": machine.disk_free_bytes,
        "machine_speed": speed_json(machine),
        "recommendation": plan.recommendation_dict(),
        "alternative": plan.alternative_dict(),
        "completion_model": plan.completion_dict(),
    }


def speed_reading(machine: MachineProfile) -> str:
    text = describe_machine_speed(machine.machine_speed)
    if machine.machine_speed is None:
        return f"{text}; run `dscoder probe --measure`"
    if machine.machine_speed.measured_under_load:
        return f"{text} (`dscoder probe --measure`)"  # the sentence ends "Measure again"
    return text


def type_factors_reading(speed: MachineSpeed) -> str:
    """ "CPU decode / prompt against Q4_K: Q2_K 0.9/0.6, Q8_0 1.5/0.5, ..." """
    factors = ", ".join(
        f"{f.type_name} {f.decode:.1f}/{f.prompt:.1f}" for f in speed.cpu_type_factors if f.type_name != "Q4_K"
    )
    return f"CPU decode/prompt speed against Q4_K: {factors}"


def _rows(machine: MachineProfile) -> list[tuple[str, str]]:
    cpu, mem = machine.cpu, machine.memory
    flags = " ".join(cpu.flags) or "no SIMD flags"
    rows = [
        ("CPU", f"{cpu.name} ({cpu.physical_cores} cores, {cpu.logical_cores} threads; {flags})"),
        ("RAM", f"{memory_size(mem.ram_total_bytes)} total, {memory_size(mem.ram_available_bytes)} available"),
        ("Swap", f"{memory_size(mem.swap_total_bytes)} total, {memory_size(mem.swap_free_bytes)} free"),
    ]
    for gpu in machine.gpus:
        state = f"usable ({gpu.backend})" if gpu.backend_usable else "NOT usable: " + gpu.unusable_reason
        rows.append(
            (
                "GPU",
                f"{gpu.name}: {memory_size(gpu.vram_total_bytes)} total, {memory_size(gpu.vram_free_bytes)} free; {state}",
            )
        )
    if not machine.gpus:
        rows.append(("GPU", "none found"))
    offload = "yes" if machine.backends.gpu_offload else "no"
    rows.append(("llama.cpp", f"GPU offload {offload}; backends: {', '.join(machine.backends.registry) or '?'}"))
    rows.append(("Speed", speed_reading(machine)))
    if machine.machine_speed and machine.machine_speed.cpu_type_factors:
        rows.append(("Weight types", type_factors_reading(machine.machine_speed)))
    rows.append(("Disk", f"{file_size(machine.disk_free_bytes)} free in {machine.models_dir}"))
    return rows


def probe_text(machine: MachineProfile, plan: Plan) -> str:
    rows = _rows(machine)
    width = max(len(label) for label, _ in rows)
    lines = [f"{label.ljust(width)}  {value}" for label, value in rows]
    lines += ["", "Recommendation: " + plan.reason]
    if plan.alternative_reason:
        lines.append("Also possible:  " + plan.alternative_reason)
    lines.append("")
    lines.append(
        f"{'Model':<42} {'Size':>8}  {'Fit':<12} {'Layers':>6} {'Context':>7} {'tok/s':>6} {'2K q.':>7} "
        f"{'ghost':>7}  Notes"
    )
    for fit in plan.fits:
        mark = "*" if fit in (plan.recommendation, plan.completion) else " "
        layers, ctx = (str(fit.gpu_layers), str(fit.ctx)) if fit.fits else ("-", "-")
        speed = fit.speed
        rate = token_rate(speed.decode_tokens_per_s) if speed else "-"
        question = duration(speed.first_token_s) if speed else "-"
        ghost = duration(speed.completion_s) if speed else "-"
        note = fit.why + (f" ({speed.source})" if speed and speed.source not in ("predicted", ASSUMED) else "")
        lines.append(
            f"{mark}{fit.entry.id:<41} {file_size(fit.entry.size):>8}  {fit.fit:<12} {layers:>6} {ctx:>7} "
            f"{rate:>6} {question:>7} {ghost:>7}  {note}"
        )
    lines += [f"Note: {note}" for note in plan.notes]
    return "\n".join(lines)


def _progress(fraction: float, step: str) -> None:
    if sys.stderr.isatty():
        sys.stderr.write(f"\rMeasuring this machine's speed (once): {fraction:4.0%} {step:<28}")
        if fraction >= 1:
            sys.stderr.write("\n")
    elif fraction == 0:
        sys.stderr.write("Measuring this machine's speed (once, under 10 s)…\n")
    sys.stderr.flush()


def measured_machine(settings: Settings, again: bool = False) -> MachineProfile:
    """This machine with its speed: cached, or measured now (a failure is a warning, not an error)."""
    machine = probe_machine(settings.resolved_models_dir())
    try:
        return with_machine_speed(machine, again=again, n_threads=settings.n_threads, progress=_progress)
    except DscoderError as exc:
        print(f"warning: {exc}", file=sys.stderr)
        return machine


def run(args: argparse.Namespace) -> int:
    # The children run llama.cpp in this process: the engine's code is imported only for them.
    if args.gpu_child:
        from app.engine.gpu_child import child_main

        return child_main()
    if args.speed_child is not None:
        # Imported here: the benchmark child's GGUF writer (numpy, gguf) costs every other
        # command's start-up, the window's included, a tenth of a second.
        from app.engine.machine_speed_child import main as speed_child_main

        return speed_child_main(args.speed_child)
    settings = load_settings()
    machine = measured_machine(settings, again=args.measure)
    catalog = load_catalog()
    installed = installed_paths(catalog.entries, scan_models(settings.resolved_models_dir(), read_metadata=False))
    opts = plan_options(
        settings,
        args.purpose,
        ctx_cap=args.ctx_cap,
        installed=installed,
        measured=MeasuredLoads(),
        quality=QualityResults().records(),
    )
    plan = plan_for_machine(machine, opts, catalog)
    print(json.dumps(probe_json(machine, plan), indent=2) if args.json else probe_text(machine, plan))
    return 0
