"""Options shared by the subcommands that load a model."""

from __future__ import annotations

import argparse

from app.config.settings import load_settings
from app.llm.options import LoadOptions, load_options_for


def add_model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", metavar="PATH", help="a .gguf model file (default: the model chosen in the app)")
    parser.add_argument("--ctx", type=int, default=None, metavar="N", help="context size in tokens")
    parser.add_argument(
        "--gpu-layers", type=int, default=None, metavar="N", help="layers to offload to the GPU (-1: all)"
    )
    parser.add_argument(
        "--threads", type=int, default=None, metavar="N", help="CPU threads (default: llama.cpp's choice)"
    )
    parser.add_argument(
        "--endpoint", metavar="URL", help="use a remote OpenAI-compatible server (base URL ending in /v1)"
    )
    parser.add_argument("--api-key", metavar="K", help="API key for --endpoint")


def load_options_from(args: argparse.Namespace, *, completion: bool = False) -> LoadOptions | None:
    """The engine's load options from the flags, falling back to the user's settings."""
    settings = load_settings()
    path = args.model or (settings.completion_model_path if completion else "") or settings.chat_model_path
    if not path:
        return None
    return load_options_for(
        settings,
        path,
        n_ctx=args.ctx,
        n_gpu_layers=args.gpu_layers,
        n_threads=args.threads,
        seed=getattr(args, "seed", None),
    )
