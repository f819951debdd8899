"""`dscoder estimate`: RAM, VRAM and speed to run a model with a given context and placement.

A file that the app has loaded with the same settings gets the measured values
(marked "measured"); a catalog model or a file never loaded so gets the estimate,
with speeds predicted from this machine's measured speed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from app.commands.probe import measured_machine
from app.config.settings import load_settings
from app.hardware.machine_speed import under_load_note
from app.models.catalog import CatalogEntry, load_catalog
from app.models.gguf import GgufInfo, read_gguf_info
from app.models.planning.file_estimate import FileEstimate, estimate_file, memory_for, rates_for
from app.models.planning.gpu_layers import planned_gpu_layers
from app.models.planning.measured import MeasuredLoads
from app.models.planning.shape import model_shape
from app.models.planning.speed_prediction import predict_speed
from app.protocol.options import AUTO_GPU_LAYERS, LoadOptions
from app.utils.errors import DscoderError
from app.utils.units import duration, memory_size, token_rate


def resolve_model(spec: str) -> GgufInfo | CatalogEntry:
    """A path that exists (or ends in .gguf) is read as a file; anything else is a catalog id."""
    path = Path(spec).expanduser()
    if path.exists() or spec.lower().endswith(".gguf"):
        return read_gguf_info(path)
    return load_catalog().get(spec)


def estimate_text(model: GgufInfo | CatalogEntry, result: FileEstimate) -> str:
    est, speed = result.memory, result.speed
    title = model.id if isinstance(model, CatalogEntry) else str(model.path)
    rows = [
        ("Weights", est.weights_ram_bytes, est.weights_vram_bytes),
        ("Weights, repacked copy", est.repacked_ram_bytes, 0),
        (f"KV cache ({est.kv_type})", est.kv_ram_bytes, est.kv_vram_bytes),
        ("Compute buffers", est.compute_ram_bytes, est.compute_vram_bytes),
        ("Runtime overhead", est.overhead_ram_bytes, est.overhead_vram_bytes),
        ("Total" + (" (measured)" if est.measured else ""), est.ram_bytes, est.vram_bytes),
        ("Prompt cache (budget)", est.prompt_cache_bytes, 0),
        ("Worst case", est.worst_case_ram_bytes, est.vram_bytes),
    ]
    lines = [
        f"{title}: {est.n_gpu_layers} of {est.n_layer + 1} layers on the GPU, context {est.n_ctx}",
        f"{'':<22}{'RAM':>10}{'VRAM':>10}",
    ]
    lines += [f"{label:<22}{memory_size(ram):>10}{memory_size(vram):>10}" for label, ram, vram in rows]
    lines += [
        f"{est.includes()}.",
        "",
        f"Speed ({speed.source}): {token_rate(speed.decode_tokens_per_s)} tokens/s while answering "
        f"({token_rate(speed.plain_decode)} without drafting), "
        f"{token_rate(speed.prompt_tokens_per_s)} prompt tokens/s; "
        f"a 2K-token question's first token in {duration(speed.first_token_s)}",
    ]
    if speed.correction_text():
        lines.append(f"The speeds are {speed.correction_text()}.")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    model = resolve_model(args.model)
    options = LoadOptions(
        model_path=str(model.path) if isinstance(model, GgufInfo) else "",
        n_ctx=args.ctx,
        n_gpu_layers=args.gpu_layers,
        n_batch=args.batch or settings.n_batch,
        n_ubatch=args.ubatch or settings.n_ubatch,
        flash_attn=settings.flash_attn if args.flash_attn is None else args.flash_attn,
        kv_cache_type=args.kv_type,
        n_threads=settings.n_threads,
        prompt_cache_bytes=settings.prompt_cache_bytes or -1,  # the settings' 0 is "automatic"
    )
    if options.n_gpu_layers == AUTO_GPU_LAYERS:
        if not isinstance(model, GgufInfo):
            raise DscoderError(
                "--gpu-layers auto plans for a model file", "Pass a .gguf path, or a number of layers, or all"
            )
        options = dataclasses.replace(options, n_gpu_layers=planned_gpu_layers(options))
    machine = measured_machine(settings)
    if isinstance(model, GgufInfo):
        result = estimate_file(model, options, machine, MeasuredLoads(), as_asked=True)
    else:
        memory = memory_for(model_shape(model), options, machine, as_asked=True)
        speed = predict_speed(model_shape(model), memory, rates_for(machine, memory.n_gpu_layers))
        result = FileEstimate(memory, speed, None)
    print(json.dumps(result.cli_dict(), indent=2) if args.json else estimate_text(model, result))
    busy = under_load_note(machine.machine_speed)
    if busy and not args.json:
        print(f"This machine's speed was {busy} (`dscoder probe --measure`).")
    return 0
