"""The engine's sampling parameters from the user's settings (Qt-free).

The load options come from `app.llm.options.load_options_for`, shared with the CLI."""

from __future__ import annotations

from app.config.settings import Settings
from app.llm.options import LoadOptions, SamplingParams, load_options_for

__all__ = ["LoadOptions", "load_options_for", "sampling_for"]


def sampling_for(settings: Settings) -> SamplingParams:
    return SamplingParams(
        temperature=settings.temperature,
        top_p=settings.top_p,
        top_k=settings.top_k,
        min_p=settings.min_p,
        repeat_penalty=settings.repeat_penalty,
        max_tokens=settings.max_tokens,
        seed=settings.seed if settings.seed >= 0 else None,
    )
