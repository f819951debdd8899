"""Options shared by the subcommands that load a model."""

from __future__ import annotations

import argparse

from app.core.settings import load_settings
from app.engine.options import LoadOptions


def add_model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", metavar="PATH", help="a .gguf model file (default: the model chosen in the app)")
    parser.add_argument("--ctx", type=int, default=None, metavar="N", help="context size in tokens")
    parser.add_argument("--gpu-layers", type=int, default=None, metavar="N", help="layers to offload to the GPU (-1: all)")
    parser.add_argument("--threads", type=int, default=None, metavar="N", help="CPU threads (default: llama.cpp's choice)")
    parser.add_argument("--endpoint", metavar="URL", help="use a remote OpenAI-compatible server (base URL ending in /v1)")
    parser.add_argument("--api-key", metavar="K", help="API key for --endpoint")


def load_options_from(args: argparse.Namespace, *, completion: bool = False) -> LoadOptions | None:
    """The engine's load options from the flags, falling back to the user's settings."""
    settings = load_settings()
    path = args.model or (settings.completion_model_path if completion else "") or settings.chat_model_path
    if not path:
        return None
    return LoadOptions(
        model_path=path,
        n_ctx=args.ctx if args.ctx is not None else (settings.n_ctx or 4096),
        n_gpu_layers=args.gpu_layers if args.gpu_layers is not None else max(settings.n_gpu_layers, 0),
        n_threads=args.threads if args.threads is not None else settings.n_threads,
        n_batch=settings.n_batch,
        n_ubatch=settings.n_ubatch,
        flash_attn=settings.flash_attn,
        kv_cache_type=settings.kv_cache_type,
        use_mmap=settings.use_mmap,
        seed=getattr(args, "seed", None) if getattr(args, "seed", None) is not None else -1,
    )
