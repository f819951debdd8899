"""What the subcommands share: the options that load a model, and the answer's JSON."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from app.config.settings import load_settings
from app.llm.options import GPU_LAYERS_HELP, LoadOptions, gpu_layers_arg, load_options_for
from app.models.planning.preflight import plan_and_check_load

if TYPE_CHECKING:
    from app.llm.stream import StreamStats


def add_model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", metavar="PATH", help="a .gguf model file (default: the model chosen in the app)")
    parser.add_argument("--ctx", type=int, default=None, metavar="N", help="context size in tokens")
    parser.add_argument(
        "--gpu-layers",
        type=gpu_layers_arg,
        default=None,
        metavar="N|auto|all",
        help=GPU_LAYERS_HELP + " (default: the app's setting)",
    )
    parser.add_argument(
        "--threads", type=int, default=None, metavar="N", help="CPU threads (default: llama.cpp's choice)"
    )
    parser.add_argument(
        "--endpoint", metavar="URL", help="use a remote OpenAI-compatible server (base URL ending in /v1)"
    )
    parser.add_argument("--api-key", metavar="K", help="API key for --endpoint")


def load_options_from(args: argparse.Namespace, *, completion: bool = False) -> LoadOptions | None:
    """The engine's load options from the flags, falling back to the user's settings; auto
    GPU layers are planned here, as the window plans them, before the engine starts."""
    settings = load_settings()
    path = args.model or (settings.completion_model_path if completion else "") or settings.chat_model_path
    if not path:
        return None
    options = load_options_for(
        settings,
        path,
        n_ctx=args.ctx,
        n_gpu_layers=args.gpu_layers,
        n_threads=args.threads,
        seed=getattr(args, "seed", None),
    )
    return plan_and_check_load(options)  # a load that would not fit now is refused before it starts


def answer_json(text: str, stats: StreamStats) -> str:
    """The one-line JSON `ask --json` and `complete --json` print: the text and its timings."""
    return json.dumps(
        {
            "text": text,
            "prompt_tokens": stats.prompt_tokens,
            "completion_tokens": stats.completion_tokens,
            "time_to_first_token_s": stats.time_to_first_token_s,
            "tokens_per_s": stats.tokens_per_s,
            "finish_reason": stats.finish_reason,
        }
    )
