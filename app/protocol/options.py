"""The engine's load options and a request's sampling parameters: what the GUI, the CLI, the
supervisor and the engine process all use, and their mapping from the user's settings.

GPU layers mean one thing everywhere (settings, LoadOptions, the CLI's --gpu-layers):
a count, 0 for the CPU only, `AUTO_GPU_LAYERS` (-1) for "as many as fit", or
`ALL_GPU_LAYERS` for every layer. Auto is a request to the planner, never a value for
llama.cpp: whoever starts an engine resolves it to a count first (the GUI's supervisor
factory and the CLI call `app.models.planning.gpu_layers.resolve_auto_gpu_layers`), and
`to_argv` refuses to pass it on.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass, fields

from app.config import sampling
from app.config.setting_spec import mapped_values
from app.config.settings import ALL_GPU_LAYERS, AUTO_GPU_LAYERS, KV_CACHE_TYPES, Settings
from app.utils.units import GIB, MIB

__all__ = [
    "ALL_GPU_LAYERS",
    "AUTO_GPU_LAYERS",
    "KV_CACHE_TYPES",
    "LoadOptions",
    "SamplingParams",
    "gpu_layers_arg",
    "load_options_for",
    "prompt_cache_budget",
    "sampling_for",
]

PROMPT_CACHE_SHARE = 0.10  # of the machine's RAM, by default
PROMPT_CACHE_MAX = 2 * GIB  # ... but at most this
COMPLETION_CONTEXT = 2048  # the completion context: its 1,500-token window, the answer and room


@dataclass(frozen=True)
class LoadOptions:
    model_path: str
    n_ctx: int = 4096  # 0: the model's trained context length
    n_gpu_layers: int = 0  # a count; AUTO_GPU_LAYERS: planned before start; ALL_GPU_LAYERS: all
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
    prompt_cache_spill_bytes: int = (
        0  # prompt states on disk (evicted ones, and all at quit), kept across restarts; 0: off
    )
    draft_model_path: str = ""  # a small model of the same vocabulary for speculative decoding
    prompt_lookup: bool = True  # draft from the prompt (prompt-lookup decoding)

    def to_argv(self) -> list[str]:
        """Command-line flags for `python -m app.engine.main`."""
        if self.n_gpu_layers == AUTO_GPU_LAYERS:
            # llama.cpp reads -1 as "all layers": starting with it would fill the GPU.
            raise ValueError("GPU layers are still 'auto': resolve them to a count before starting the engine")
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
    temperature: float = sampling.TEMPERATURE
    top_p: float = sampling.TOP_P
    top_k: int = sampling.TOP_K
    min_p: float = sampling.MIN_P
    repeat_penalty: float = sampling.REPEAT_PENALTY
    max_tokens: int = sampling.CHAT_MAX_TOKENS
    seed: int | None = None
    stop: tuple[str, ...] = ()
    # Speculative decoding for this request (the local engine only): None leaves it to the
    # engine's settings; False asks for plain decoding (see README, "Speculative decoding").
    speculative: bool | None = None


DEFAULT_CONTEXT = 4096  # when the settings leave the context to the planner (0)
GPU_LAYERS_HELP = (
    "layers to offload to the GPU: a number, 0 for the CPU only, 'auto' (or -1) for as many as fit "
    "in free VRAM, 'all' for every layer"
)


def gpu_layers_arg(text: str) -> int:
    """argparse type for --gpu-layers: N, "auto" (or -1) or "all"."""
    word = text.strip().lower()
    if word == "auto":
        return AUTO_GPU_LAYERS
    if word == "all":
        return ALL_GPU_LAYERS
    try:
        value = int(word)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of layers, 'auto' or 'all', not {text!r}") from None
    if value < AUTO_GPU_LAYERS:
        raise argparse.ArgumentTypeError(f"expected 0 or more layers, 'auto' or 'all', not {text!r}")
    return value


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

    Which setting feeds which option is declared on the setting (`load_option`, see
    app/config/setting_spec.py); only the values whose units differ are converted here.
    Keyword values (command-line flags) override the settings. GPU layers keep their
    meaning: "auto" stays auto here, and is planned off the GUI thread just before the
    engine starts (see app/models/planning/gpu_layers.py)."""
    values = mapped_values(settings, "load_option")
    values["n_ctx"] = settings.n_ctx or DEFAULT_CONTEXT
    values["prompt_cache_bytes"] = settings.prompt_cache_bytes or -1  # the settings' 0 is "automatic"
    values["prompt_cache_spill_bytes"] = settings.prompt_cache_disk_mib * MIB
    overrides = {"n_ctx": n_ctx, "n_gpu_layers": n_gpu_layers, "n_threads": n_threads, "seed": seed}
    values.update({name: value for name, value in overrides.items() if value is not None})
    return LoadOptions(model_path=model_path or settings.chat_model_path, **values)


def sampling_for(settings: Settings) -> SamplingParams:
    """The chat's sampling parameters from the user's settings (the fields that declare `sampling`)."""
    values = mapped_values(settings, "sampling")
    values["seed"] = settings.seed if settings.seed >= 0 else None  # the settings' -1 is "random"
    return SamplingParams(**values)
