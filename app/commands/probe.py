"""`dscoder probe`: read this machine, measure its speed once, and recommend a model for it."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from app.config.settings import Settings, load_settings
from app.engine.gpu_child import child_main
from app.hardware.probe import MachineProfile, probe_machine
from app.hardware.speed import MachineSpeed
from app.hardware.speed_benchmark import with_machine_speed
from app.models.catalog import load_catalog
from app.models.library import installed_paths, scan_models
from app.models.planning.measured import MeasuredLoads
from app.models.planning.plan_words import rate_text, seconds_text
from app.models.planning.planner import PURPOSES, Plan, gb, plan_for_machine, plan_options
from app.models.planning.speed import ASSUMED
from app.models.quality.results import QualityResults
from app.utils.errors import DscoderError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "probe",
        help="show this machine's CPU, memory, GPUs and speed, and the model that fits",
        description="Read the CPU, RAM, GPUs, llama.cpp backends and free disk, measure this machine's "
        "llama.cpp speed (once; under 10 s), and recommend the DeepSeek-Coder variant, quantization, "
        "GPU layers and context that fit and feel fast enough.",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--purpose", choices=PURPOSES, default="chat", help="what the model is for (default: chat)")
    parser.add_argument(
        "--ctx-cap", type=int, default=None, metavar="N", help="largest context to plan for (default: 16384)"
    )
    parser.add_argument("--measure", action="store_true", help="measure this machine's speed again")
    # The frozen build's children run as `dscoder probe --gpu-child` and `dscoder probe --speed-child ...`.
    parser.add_argument("--gpu-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--speed-child", nargs=argparse.REMAINDER, default=None, help=argparse.SUPPRESS)
    parser.set_defaults(func=run)


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
    speed = machine.machine_speed
    if speed is None:
        return "not measured (estimates use typical speeds); run `dscoder probe --measure`"
    text = (
        f"CPU {speed.cpu_decode_bytes_per_s / 1e9:.1f} GB/s decode, {speed.cpu_prompt_flops / 1e9:.0f} GFLOP/s prompt"
    )
    if speed.cpu_attention_flops:
        text += f", {speed.cpu_attention_flops / 1e9:.0f} GFLOP/s attention"
    for gpu in speed.gpus:
        text += f"; {gpu.name} {gpu.decode_bytes_per_s / 1e9:.0f} GB/s, {gpu.prompt_flops / 1e12:.1f} TFLOP/s"
    return f"{text} ({speed.when()})"


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
        ("RAM", f"{gb(mem.ram_total_bytes)} total, {gb(mem.ram_available_bytes)} available"),
        ("Swap", f"{gb(mem.swap_total_bytes)} total, {gb(mem.swap_free_bytes)} free"),
    ]
    for gpu in machine.gpus:
        state = f"usable ({gpu.backend})" if gpu.backend_usable else "NOT usable: " + gpu.unusable_reason
        rows.append(("GPU", f"{gpu.name}: {gb(gpu.vram_total_bytes)} total, {gb(gpu.vram_free_bytes)} free; {state}"))
    if not machine.gpus:
        rows.append(("GPU", "none found"))
    offload = "yes" if machine.backends.gpu_offload else "no"
    rows.append(("llama.cpp", f"GPU offload {offload}; backends: {', '.join(machine.backends.registry) or '?'}"))
    rows.append(("Speed", speed_reading(machine)))
    if machine.machine_speed and machine.machine_speed.cpu_type_factors:
        rows.append(("Weight types", type_factors_reading(machine.machine_speed)))
    rows.append(("Disk", f"{machine.disk_free_bytes / 1e9:.1f} GB free in {machine.models_dir}"))
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
        rate = rate_text(speed.decode_tokens_per_s) if speed else "-"
        question = seconds_text(speed.first_token_s) if speed else "-"
        ghost = seconds_text(speed.completion_s) if speed else "-"
        note = fit.why + (f" ({speed.source})" if speed and speed.source not in ("predicted", ASSUMED) else "")
        lines.append(
            f"{mark}{fit.entry.id:<41} {fit.entry.size / 1e9:>6.1f}GB  {fit.fit:<12} {layers:>6} {ctx:>7} "
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
    if args.gpu_child:
        return child_main()
    if args.speed_child is not None:
        # Imported here: the benchmark child's GGUF writer (numpy, gguf) costs every other
        # command's start-up, the window's included, a tenth of a second.
        from app.engine.speed_child import main as speed_child_main

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
