"""The engine's load options and sampling parameters from the user's settings (Qt-free)."""

from __future__ import annotations

from app.core.settings import Settings
from app.engine.options import LoadOptions, SamplingParams

DEFAULT_CONTEXT = 4096  # when the settings leave the context to the planner (0)


def load_options_for(settings: Settings, model_path: str | None = None) -> LoadOptions:
    """The engine's load options for the chat model from the user's settings."""
    return LoadOptions(
        model_path=model_path or settings.chat_model_path,
        n_ctx=settings.n_ctx or DEFAULT_CONTEXT,
        n_gpu_layers=max(settings.n_gpu_layers, 0),  # "auto" (-1) waits for the planner: CPU for now
        n_threads=settings.n_threads,
        n_batch=settings.n_batch,
        n_ubatch=settings.n_ubatch,
        flash_attn=settings.flash_attn,
        kv_cache_type=settings.kv_cache_type,
        use_mmap=settings.use_mmap,
    )


def sampling_for(settings: Settings) -> SamplingParams:
    return SamplingParams(
        temperature=settings.temperature, top_p=settings.top_p, top_k=settings.top_k,
        min_p=settings.min_p, repeat_penalty=settings.repeat_penalty, max_tokens=settings.max_tokens,
        seed=settings.seed if settings.seed >= 0 else None,
    )
