"""What the subcommands that load a model share: their load options, and the answer's JSON."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from app.config.settings import load_settings
from app.models.planning.preflight import plan_and_check_load
from app.protocol.options import LoadOptions, load_options_for

if TYPE_CHECKING:
    from app.llm.stream import StreamStats


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
