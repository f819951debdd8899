"""Typed settings, saved atomically as JSON in the platform config dir.

One dataclass holds every user setting. Unknown keys in the file are ignored and
missing ones take their defaults, so files written by other versions still load.
Window geometry is not here: Qt's QSettings keeps that.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.config import sampling
from app.utils import paths
from app.utils.atomic import atomic_write_text

log = logging.getLogger(__name__)

SETTINGS_FILE = "settings.json"
KV_CACHE_TYPES = ("f16", "q8_0", "q4_0")  # what llama.cpp can keep its KV cache in
# GPU layers mean the same in the settings, LoadOptions and the CLI's --gpu-layers:
# a count of layers, 0 for the CPU only, or one of these two.
AUTO_GPU_LAYERS = -1  # as many as fit in free VRAM: the planner picks a count before the engine starts
ALL_GPU_LAYERS = 999  # every layer and the output (llama.cpp offloads min(this, n_layer + 1))


@dataclass
class Settings:
    # Engine
    models_dir: str = ""  # empty: paths.default_models_dir()
    chat_model_path: str = ""  # the GGUF the chat loads; empty: none chosen yet
    completion_model_path: str = ""  # empty: the chat model serves completion too
    n_ctx: int = 0  # 0: chosen by the planner from free memory
    n_gpu_layers: int = AUTO_GPU_LAYERS  # or a count; 0: CPU only; ALL_GPU_LAYERS: all
    n_threads: int = 0  # decode threads; 0: the physical performance cores
    n_threads_batch: int = 0  # prompt threads; 0: every logical core
    n_batch: int = 512
    n_ubatch: int = 512
    flash_attn: bool = False
    kv_cache_type: str = "f16"  # f16, q8_0 or q4_0
    use_mmap: bool = True
    # Caches and speed-ups (see README, "Caches"); the prompt cache's RAM is prompt_cache_bytes below
    prompt_cache_disk_mib: int = 0  # evicted prompt states spill to the cache folder, up to this; 0: off
    idle_prefill: bool = True  # evaluate the system prompt and the attached file while idle
    prompt_lookup: bool = True  # speculative decoding with drafts from the prompt
    draft_model_path: str = ""  # a small model of the same vocabulary that drafts; "": none
    # Sampling
    temperature: float = sampling.TEMPERATURE
    top_p: float = sampling.TOP_P
    top_k: int = sampling.TOP_K
    min_p: float = sampling.MIN_P
    repeat_penalty: float = sampling.REPEAT_PENALTY
    max_tokens: int = sampling.CHAT_MAX_TOKENS
    seed: int = -1
    system_prompt: str = ""  # empty: the model family's default
    # Prompts: the chosen preset's name ("" = the DeepSeek default) and the user's own
    # presets as {"name": ..., "text": ...}; `system_prompt` holds the chosen one's text.
    system_prompt_preset: str = ""
    system_prompt_presets: list[dict[str, str]] = field(default_factory=list)
    # Appearance
    theme: str = "system"  # system, light or dark
    editor_font_family: str = "Monospace"
    editor_font_size: int = 11
    # Chat context: what a question carries from the editor and the opened folder
    chat_attach_current_file: bool = True  # the current file (or the selection) goes with each question
    chat_file_tokens: int = 3000  # a larger file sends the part around the cursor
    chat_attach_project_map: bool = True  # the folder's map goes with questions about the project
    chat_project_map_tokens: int = 1500
    # Completion
    completion_enabled: bool = True
    completion_delay_ms: int = 250
    completion_disabled_languages: list[str] = field(default_factory=list)
    # Hub
    hub_endpoint: str = ""  # empty: HF_ENDPOINT or the public hub
    hub_offline: bool = False
    # Remote engines: {"id", "name", "base_url", "model", "kind"}; API keys are kept by
    # app.utils.secrets, never here. `active_engine` is "" for the local engine.
    remote_engines: list[dict[str, str]] = field(default_factory=list)
    active_engine: str = ""
    # Planner: what "fast enough" means, and the RAM a plan leaves free (Settings → Planner)
    plan_min_tokens_per_s: float = 8.0  # chat: tokens per second while answering
    plan_max_question_s: float = 15.0  # chat: a 2K-token question read, first token out
    plan_max_completion_s: float = 0.5  # inline completion: first ghost text after a keystroke
    plan_headroom_percent: float = 25.0  # RAM kept free for the rest of the system ...
    plan_headroom_max_gb: float = 4.0  # ... but never more than this many GiB
    prompt_cache_bytes: int = 0  # RAM for the engine's prompt-state cache; 0: 10% of RAM, at most 2 GiB
    # Local server ("Serve the loaded model"): off by default, on 127.0.0.1 unless chosen; any
    # other address reaches other machines and needs the API key (see config/validation.py)
    local_server_enabled: bool = False
    local_server_port: int = 0  # 0: a free port picked at start
    local_server_host: str = "127.0.0.1"
    # Editor state
    recent_files: list[str] = field(default_factory=list)
    last_folder: str = ""

    def resolved_models_dir(self) -> Path:
        if self.models_dir:
            return Path(self.models_dir).expanduser()
        return paths.default_models_dir()


def settings_path() -> Path:
    return paths.config_dir() / SETTINGS_FILE


def load_settings(path: Path | None = None) -> Settings:
    """Read settings; a missing or unreadable file gives the defaults (and a log line)."""
    path = path or settings_path()
    try:
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Settings()
    except (OSError, ValueError) as exc:
        log.warning("settings file %s is unreadable (%s); using defaults", path, exc)
        return Settings()
    if not isinstance(raw, dict):
        return Settings()
    known = {f.name: f for f in dataclasses.fields(Settings)}
    values: dict[str, Any] = {}
    defaults = Settings()
    for key, value in raw.items():
        if key in known and isinstance(value, type(getattr(defaults, key))):
            values[key] = value
    return Settings(**values)


def save_settings(settings: Settings, path: Path | None = None) -> None:
    """Write atomically: a crash mid-write leaves the old file, never half a file."""
    path = path or settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(dataclasses.asdict(settings), indent=2, sort_keys=True))
