"""What the GUI knows about the engine it talks to: its state, and a typed record of it.

`EngineInfo` is built here and only here, from what the engine reported: the local
engine's /dscoder/info (`local_engine_info`) or a remote server's probe
(`remote_engine_info`). It is frozen and crosses Qt signals as one object, so every
reader (status bar, chat, completion, engine menu) sees the same fields with the same
types. Fields the GUI does not read yet ride along in `extra`, untyped, until someone
needs them typed.

The engine's API key is not in it: a record shown all over the GUI is the wrong place
for a secret. `EngineAccess` (address and key) stays with the engine session, which
makes the clients that need it.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from app.config.remotes import RemoteEngine
from app.llm.remote_probe import FIM_OFF, FIM_RAW, FIM_SUFFIX, FimSupport

__all__ = [
    "FIM_OFF",
    "FIM_RAW",
    "FIM_SUFFIX",
    "EngineAccess",
    "EngineInfo",
    "EngineState",
    "local_engine_info",
    "remote_engine_info",
]


class EngineState(enum.Enum):
    """Where the engine is; emitted as the enum itself (Signal(object)), never as a string."""

    NONE = "none"  # no model chosen, or unloaded
    LOADING = "loading"  # starting a local engine, or checking a remote one
    READY = "ready"
    FAILED = "failed"  # the last load failed
    DEAD = "dead"  # the engine died after it was ready


def _frozen(values: Mapping[str, object]) -> Mapping[str, object]:
    return MappingProxyType(dict(values))


@dataclass(frozen=True)
class EngineInfo:
    """The engine that is ready: what is loaded, where it runs, how completion reaches it."""

    model_name: str  # shown in the status bar and as the chat's assistant name
    model_path: str  # the GGUF file; for a remote: "<base URL> <model>"
    n_ctx: int = 0  # the context size in tokens; 0: unknown (a remote does not say)
    n_gpu_layers: int = 0  # as loaded: 0 CPU only, a count, or ALL_GPU_LAYERS
    gpu_offload_supported: bool = True  # False: a CPU-only llama.cpp build (layers are ignored)
    pid: int | None = None  # the local engine's process; None for a remote
    base_url: str = ""  # the OpenAI-compatible base URL, ending in /v1
    remote: str = ""  # the remote engine's name; "" for the local engine
    remote_model: str = ""  # the model the remote was told to use ("" if it serves one)
    fim_mode: str = FIM_SUFFIX  # how completion sends fill-in-the-middle: suffix, raw or off
    fim_reason: str = ""  # why completion is off (or how it is done) on this engine
    fim_format: str = ""  # for fim_mode "raw": whose FIM tokens (app.llm.fim_formats)
    architecture: str = ""  # the GGUF's general.architecture; "" for a remote
    decode_threads: int = 0  # the threads that decode a token; 0: not reported (a remote)
    batch_threads: int = 0  # the threads that evaluate a prompt
    prompt_cache_bytes: int = 0  # the prompt-state cache's RAM budget; 0: none
    extra: Mapping[str, object] = field(default_factory=lambda: _frozen({}))  # the rest it reported

    @property
    def is_remote(self) -> bool:
        return bool(self.remote)

    @property
    def display_name(self) -> str:
        return self.model_name or os.path.basename(self.model_path) or "Model"


@dataclass(frozen=True)
class EngineAccess:
    """How to reach the engine: its base URL, key and model name. Held by the engine session."""

    base_url: str
    api_key: str | None = field(default=None, repr=False)
    model: str | None = None  # the model name sent with requests (remotes serving several)


def _int(value: object, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


_LOCAL_KEYS = {"model_name", "model_path", "n_ctx", "n_gpu_layers", "gpu_offload_supported", "architecture"}


def _section(reported: Mapping[str, object], key: str) -> Mapping[str, object]:
    value = reported.get(key)
    return value if isinstance(value, Mapping) else {}


def local_engine_info(reported: Mapping[str, object], *, pid: int, base_url: str, model_path: str = "") -> EngineInfo:
    """The local engine's info from what it reported when it became ready (its ready line,
    which only the parent reads; over HTTP the engine names files, never paths). The
    window, which started it, passes the `model_path` it asked for."""
    model_path = model_path or str(reported.get("model_path") or reported.get("model_file") or "")
    return EngineInfo(
        model_name=str(reported.get("model_name") or os.path.basename(model_path)),
        model_path=model_path,
        n_ctx=_int(reported.get("n_ctx")),
        n_gpu_layers=_int(reported.get("n_gpu_layers")),
        gpu_offload_supported=bool(reported.get("gpu_offload_supported", True)),
        pid=pid,
        base_url=base_url,
        fim_mode=FIM_SUFFIX,  # the app's own engine builds FIM prompts from `suffix`
        architecture=str(reported.get("architecture") or ""),
        decode_threads=_int(_section(reported, "threads").get("decode")),
        batch_threads=_int(_section(reported, "threads").get("batch")),
        prompt_cache_bytes=_int(_section(reported, "prompt_cache").get("budget_bytes")),
        extra=_frozen({k: v for k, v in reported.items() if k not in _LOCAL_KEYS}),
    )


def remote_engine_info(remote: RemoteEngine, model: str, fim: FimSupport | None, base_url: str) -> EngineInfo:
    """A remote engine's info from its probe: `model` is the one it serves ("" if unknown)."""
    return EngineInfo(
        model_name=model or remote.name,
        model_path=f"{remote.base_url} {model}",
        remote=remote.name,
        remote_model=remote.model,
        base_url=base_url,
        fim_mode=fim.mode if fim else FIM_OFF,
        fim_reason=fim.reason if fim else "",
        fim_format=fim.format if fim else "",
    )
