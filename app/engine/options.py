"""Load options for the engine: what the GUI, the CLI and the supervisor pass through."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

KV_CACHE_TYPES = ("f16", "q8_0", "q4_0")


@dataclass(frozen=True)
class LoadOptions:
    model_path: str
    n_ctx: int = 4096  # 0: the model's trained context length
    n_gpu_layers: int = 0  # -1: all layers
    n_threads: int = 0  # 0: llama.cpp's default
    n_batch: int = 512
    n_ubatch: int = 512
    flash_attn: bool = False
    kv_cache_type: str = "f16"
    use_mmap: bool = True
    seed: int = -1

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
