"""Load options for the engine: what the GUI, the CLI and the supervisor pass through."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from app.config.settings import KV_CACHE_TYPES, Settings

__all__ = ["KV_CACHE_TYPES", "LoadOptions", "SamplingParams", "load_options_for", "prompt_cache_budget"]

MIB = 1024 * 1024
GIB = 1024 * MIB
PROMPT_CACHE_SHARE = 0.10  # of the machine's RAM, by default
PROMPT_CACHE_MAX = 2 * GIB  # ... but at most this
COMPLETION_CONTEXT = 2048  # the completion context: its 1,500-token window, the answer and room


@dataclass(frozen=True)
class LoadOptions:
    model_path: str
    n_ctx: int = 4096  # 0: the model's trained context length
    n_gpu_layers: int = 0  # -1: all layers
    n_threads: int = 0  # decode threads; 0: the physical performance cores
    n_threads_batch: int = 0  # prompt threads; 0: every logical core
    n_batch: int = 512
    n_ubatch: int = 512
    flash_attn: bool = False
    kv_cache_type: str = "f16"
    use_mmap: bool = True
    seed: int = -1
    completion_ctx: int = 0  # the completion context's size; 0: COMPLETION_CONTEXT (at most n_ctx); -1: none
    prompt_cache_bytes: int = -1  # -1: automatic (see prompt_cache_budget); 0: off
    prompt_cache_spill_bytes: int = 0  # spill evicted prompt states to the cache folder, up to this; 0: off
    draft_model_path: str = ""  # a small model of the same vocabulary for speculative decoding
    prompt_lookup: bool = True  # draft from the prompt (prompt-lookup decoding)

    def to_argv(self) -> list[str]:
        """Command-line flags for `python -m app.engine.main`."""
        argv: list[str] = []
        for f in fields(self):
            value = getattr(self, f.name)
            flag = "--" + f.name.replace("_", "-")
            if isinstance(value, bool):
                argv += [flag] if value else [f"--no-{f.name.replace('_', '-')}"]
            else:
                argv += [flag, str(value)]
        return argv

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    def completion_context(self, n_ctx: int) -> int:
        """The completion context's size when the chat context holds `n_ctx` tokens."""
        return min(self.completion_ctx or COMPLETION_CONTEXT, n_ctx)


def prompt_cache_budget(setting_bytes: int, total_ram: int) -> int:
    """The prompt-state cache's RAM budget: -1 means 10% of RAM, at most 2 GiB."""
    if setting_bytes >= 0:
        return setting_bytes
    return min(int(total_ram * PROMPT_CACHE_SHARE), PROMPT_CACHE_MAX)


@dataclass(frozen=True)
class SamplingParams:
    temperature: float = 0.0
    top_p: float = 0.95
    top_k: int = 40
    min_p: float = 0.05
    repeat_penalty: float = 1.0
    max_tokens: int = 512
    seed: int | None = None
    stop: tuple[str, ...] = ()
    # Speculative decoding for this request (the local engine only): None leaves it to the
    # engine's settings; False asks for plain decoding (see README, "Speculative decoding").
    speculative: bool | None = None


DEFAULT_CONTEXT = 4096  # when the settings leave the context to the planner (0)


def load_options_for(
    settings: Settings,
    model_path: str | None = None,
    *,
    n_ctx: int | None = None,
    n_gpu_layers: int | None = None,
    n_threads: int | None = None,
    seed: int | None = None,
) -> LoadOptions:
    """The engine's load options from the user's settings; the GUI and the CLI both use this.

    Keyword values (command-line flags) override the settings. The settings' "auto" GPU
    layers (-1) becomes 0 here: the engine's supervisor factory asks the planner for
    the real number off the GUI thread (see app/models/gpu_layers.py)."""
    return LoadOptions(
        model_path=model_path or settings.chat_model_path,
        n_ctx=n_ctx if n_ctx is not None else (settings.n_ctx or DEFAULT_CONTEXT),
        n_gpu_layers=n_gpu_layers if n_gpu_layers is not None else max(settings.n_gpu_layers, 0),
        n_threads=n_threads if n_threads is not None else settings.n_threads,
        n_threads_batch=settings.n_threads_batch,
        n_batch=settings.n_batch,
        n_ubatch=settings.n_ubatch,
        flash_attn=settings.flash_attn,
        kv_cache_type=settings.kv_cache_type,
        use_mmap=settings.use_mmap,
        seed=seed if seed is not None else -1,
        prompt_cache_bytes=settings.prompt_cache_mib * MIB if settings.prompt_cache_mib >= 0 else -1,
        prompt_cache_spill_bytes=settings.prompt_cache_disk_mib * MIB,
        draft_model_path=settings.draft_model_path,
        prompt_lookup=settings.prompt_lookup,
    )
