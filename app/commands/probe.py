"""`dscoder probe`: read this machine and recommend a DeepSeek-Coder model for it."""

from __future__ import annotations

import argparse
import json
from typing import Any

from app.config.settings import load_settings
from app.engine.gpu_child import child_main
from app.hardware.probe import MachineProfile, probe_machine
from app.models.planner import PURPOSES, Plan, PlanOptions, gb, plan_for_machine


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "probe",
        help="show this machine's CPU, memory and GPUs, and the model that fits",
        description="Read the CPU, RAM, GPUs, llama.cpp backends and free disk, and recommend the "
        "DeepSeek-Coder variant, quantization, GPU layers and context that fit.",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--purpose", choices=PURPOSES, default="chat", help="what the model is for (default: chat)")
    parser.add_argument(
        "--ctx-cap", type=int, default=None, metavar="N", help="largest context to plan for (default: 16384)"
    )
    # The GPU discovery child of a frozen build runs as `dscoder probe --gpu-child`.
    parser.add_argument("--gpu-child", action="store_true", help=argparse.SUPPRESS)
    parser.set_defaults(func=run)


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
        "recommendation": plan.recommendation_dict(),
    }


def probe_text(machine: MachineProfile, plan: Plan) -> str:
    cpu, mem = machine.cpu, machine.memory
    rows = [
        (
            "CPU",
            f"{cpu.name} ({cpu.physical_cores} cores, {cpu.logical_cores} threads; {' '.join(cpu.flags) or 'no SIMD flags'})",
        ),
        ("RAM", f"{gb(mem.ram_total_bytes)} total, {gb(mem.ram_available_bytes)} available"),
        ("Swap", f"{gb(mem.swap_total_bytes)} total, {gb(mem.swap_free_bytes)} free"),
    ]
    for gpu in machine.gpus:
        state = f"usable ({gpu.backend})" if gpu.backend_usable else "NOT usable: " + gpu.unusable_reason
        rows.append(("GPU", f"{gpu.name}: {gb(gpu.vram_total_bytes)} total, {gb(gpu.vram_free_bytes)} free; {state}"))
    if not machine.gpus:
        rows.append(("GPU", "none found"))
    backends = machine.backends
    rows.append(
        (
            "llama.cpp",
            f"GPU offload {'yes' if backends.gpu_offload else 'no'}; backends: {', '.join(backends.registry) or '?'}",
        )
    )
    rows.append(("Disk", f"{machine.disk_free_bytes / 1e9:.1f} GB free in {machine.models_dir}"))
    width = max(len(label) for label, _ in rows)
    lines = [f"{label.ljust(width)}  {value}" for label, value in rows]
    lines += ["", "Recommendation: " + plan.reason, ""]
    lines.append(f"{'Model':<42} {'Size':>8}  {'Fit':<12} {'Layers':>6} {'Context':>7}  Notes")
    for fit in plan.fits:
        layers = str(fit.gpu_layers) if fit.fits else "-"
        ctx = str(fit.ctx) if fit.fits else "-"
        mark = "*" if plan.recommendation is fit else " "
        lines.append(
            f"{mark}{fit.entry.id:<41} {fit.entry.size / 1e9:>6.1f}GB  {fit.fit:<12} {layers:>6} {ctx:>7}  {fit.why}"
        )
    lines += [f"Note: {note}" for note in plan.notes]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if args.gpu_child:
        return child_main()
    settings = load_settings()
    machine = probe_machine(settings.resolved_models_dir())
    opts = PlanOptions(
        purpose=args.purpose,
        ctx_cap=args.ctx_cap or (settings.n_ctx or PlanOptions.ctx_cap),
        kv_type=settings.kv_cache_type,
        flash_attn=settings.flash_attn,
        n_batch=settings.n_batch,
        n_ubatch=settings.n_ubatch,
    )
    plan = plan_for_machine(machine, opts)
    if args.json:
        print(json.dumps(probe_json(machine, plan), indent=2))
    else:
        print(probe_text(machine, plan))
    return 0
