"""`dscoder estimate`: RAM and VRAM to run a model with a given context and placement."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from app.config.settings import load_settings
from app.llm.options import AUTO_GPU_LAYERS, GPU_LAYERS_HELP, LoadOptions, gpu_layers_arg
from app.models.catalog import CatalogEntry, load_catalog
from app.models.estimator import KV_TYPES, MemoryEstimate, estimate_memory
from app.models.gguf import GgufInfo, read_gguf_info
from app.models.gpu_layers import planned_gpu_layers
from app.models.planner import gb
from app.utils.errors import DscoderError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "estimate",
        help="estimate the RAM and VRAM a model needs",
        description="Estimate RAM and VRAM for a GGUF file or a catalog model (e.g. "
        "deepseek-coder-6.7b-instruct:Q4_K_M) at a context size and GPU layer count.",
    )
    parser.add_argument("--model", required=True, metavar="PATH|CATALOG_ID", help="a .gguf file or a catalog id")
    parser.add_argument("--ctx", type=int, default=4096, metavar="N", help="context size in tokens (default: 4096)")
    parser.add_argument(
        "--gpu-layers",
        type=gpu_layers_arg,
        default=0,
        metavar="N|auto|all",
        help=GPU_LAYERS_HELP + "; auto plans for this machine's GPUs and needs a .gguf file (default: 0)",
    )
    parser.add_argument("--kv-type", choices=KV_TYPES, default="f16", help="KV cache type (default: f16)")
    parser.add_argument("--batch", type=int, default=None, metavar="N", help="n_batch (default: from settings)")
    parser.add_argument("--ubatch", type=int, default=None, metavar="N", help="n_ubatch (default: from settings)")
    parser.add_argument("--flash-attn", action="store_true", default=None, help="assume flash attention")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


def resolve_model(spec: str) -> GgufInfo | CatalogEntry:
    """A path that exists (or ends in .gguf) is read as a file; anything else is a catalog id."""
    path = Path(spec).expanduser()
    if path.exists() or spec.lower().endswith(".gguf"):
        return read_gguf_info(path)
    return load_catalog().get(spec)


def estimate_text(model: GgufInfo | CatalogEntry, est: MemoryEstimate) -> str:
    title = model.id if isinstance(model, CatalogEntry) else str(model.path)
    rows = [
        ("Weights", est.weights_ram_bytes, est.weights_vram_bytes),
        (f"KV cache ({est.kv_type})", est.kv_ram_bytes, est.kv_vram_bytes),
        ("Compute buffers", est.compute_ram_bytes, est.compute_vram_bytes),
        ("Runtime overhead", est.overhead_ram_bytes, est.overhead_vram_bytes),
        ("Total", est.ram_bytes, est.vram_bytes),
    ]
    lines = [
        f"{title}: {est.n_gpu_layers} of {est.n_layer + 1} layers on the GPU, context {est.n_ctx}",
        f"{'':<22}{'RAM':>10}{'VRAM':>10}",
    ]
    lines += [f"{label:<22}{gb(ram):>10}{gb(vram):>10}" for label, ram, vram in rows]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    model = resolve_model(args.model)
    n_batch, n_ubatch = args.batch or settings.n_batch, args.ubatch or settings.n_ubatch
    flash_attn = settings.flash_attn if args.flash_attn is None else args.flash_attn
    layers = args.gpu_layers
    if layers == AUTO_GPU_LAYERS:
        if not isinstance(model, GgufInfo):
            raise DscoderError(
                "--gpu-layers auto plans for a model file", "Pass a .gguf path, or a number of layers, or all"
            )
        layers = planned_gpu_layers(
            LoadOptions(
                str(model.path),
                n_ctx=args.ctx,
                n_batch=n_batch,
                n_ubatch=n_ubatch,
                flash_attn=flash_attn,
                kv_cache_type=args.kv_type,
            )
        )
    est = estimate_memory(
        model,
        n_gpu_layers=layers,
        n_ctx=args.ctx,
        kv_type=args.kv_type,
        n_batch=n_batch,
        n_ubatch=n_ubatch,
        flash_attn=flash_attn,
    )
    if args.json:
        print(json.dumps(est.cli_dict(), indent=2))
    else:
        print(estimate_text(model, est))
    return 0
