"""Typed settings, saved atomically as JSON in the platform config dir.

One dataclass holds every user setting, each field with its spec (label, range, choices,
whether the engine must restart, what it feeds: app/config/setting_spec.py). The file has a "version"; loading applies the
migrations it lacks (config/migrations.py) and writes the file back at the latest version.
Unknown keys are ignored on load and kept on save, and missing ones take their defaults, so
files written by other versions still load and lose nothing. Window geometry is not here:
Qt's QSettings keeps that.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.config import sampling
from app.config.migrations import LATEST_VERSION, VERSION_KEY, migrate_settings
from app.config.setting_spec import setting
from app.utils import paths
from app.utils.atomic import atomic_write_text
from app.utils.json_files import read_json_object

log = logging.getLogger(__name__)

SETTINGS_FILE = "settings.json"
KV_CACHE_TYPES = ("f16", "q8_0", "q4_0")  # what llama.cpp can keep its KV cache in
# GPU layers mean the same in the settings, LoadOptions and the CLI's --gpu-layers:
# a count of layers, 0 for the CPU only, or one of these two.
AUTO_GPU_LAYERS = -1  # as many as fit in free VRAM: the planner picks a count before the engine starts
ALL_GPU_LAYERS = 999  # every layer and the output (llama.cpp offloads min(this, n_layer + 1))
MAX_CONTEXT = 1 << 20  # DeepSeek-Coder-V2 has 128K; leave room for longer models
MAX_PORT = 65535
MAX_CACHE_MIB = 1 << 20  # 1 TiB: anything larger is a typo
MIN_ATTACHED_TOKENS, MAX_ATTACHED_TOKENS = 200, 65536  # what a question may carry from the editor
MAX_THREADS = 1024
MAX_BATCH = 65536
THEME_CHOICES = (("system", "Follow the system"), ("light", "Light"), ("dark", "Dark"))

# Each field's spec (app/config/setting_spec.py) says how it is named, checked, shown, and what
# it feeds; a field without one is free text or a list checked by app/config/validation.py.


@dataclass
class Settings:
    # Engine
    models_dir: str = setting("", label="Models folder", help="Empty: the default models folder", restart=True)
    chat_model_path: str = ""  # the GGUF the chat loads; empty: none chosen yet
    completion_model_path: str = ""  # empty: the chat model serves completion too
    n_ctx: int = setting(
        0,
        label="Context size",
        help="Tokens the model sees at once; 0: chosen by the planner from free memory",
        low=256,
        high=MAX_CONTEXT,
        special=0,
        special_means="chosen from free memory",
        restart=True,
        load_option="n_ctx",
    )
    n_gpu_layers: int = setting(
        AUTO_GPU_LAYERS,
        label="GPU layers",
        help="Layers on the GPU: -1 automatic, 0 the CPU only, 999 all",
        low=-1,
        high=1000,
        special=AUTO_GPU_LAYERS,
        special_means="for automatic",
        restart=True,
        load_option="n_gpu_layers",
    )
    n_threads: int = setting(
        0,
        label="Threads",
        help="Threads that write the answer; 0: the physical performance cores",
        low=0,
        high=MAX_THREADS,
        special=0,
        special_means="for automatic",
        restart=True,
        load_option="n_threads",
    )
    n_threads_batch: int = setting(
        0,
        label="Prompt threads",
        help="Threads that read the prompt; 0: every logical core",
        low=0,
        high=MAX_THREADS,
        special=0,
        special_means="for automatic",
        restart=True,
        load_option="n_threads_batch",
    )
    n_batch: int = setting(512, label="Batch size", low=1, high=MAX_BATCH, restart=True, load_option="n_batch")
    n_ubatch: int = setting(512, label="Micro-batch size", low=1, high=MAX_BATCH, restart=True, load_option="n_ubatch")
    flash_attn: bool = setting(False, label="Flash attention", restart=True, load_option="flash_attn")
    kv_cache_type: str = setting(
        "f16",
        label="KV cache type",
        choices=tuple((kind, kind) for kind in KV_CACHE_TYPES),
        restart=True,
        load_option="kv_cache_type",
    )
    use_mmap: bool = setting(True, label="Memory-mapped loading", restart=True, load_option="use_mmap")
    # Caches and speed-ups (see README, "Caches"); the prompt cache's RAM is prompt_cache_bytes below
    # Prompt states kept on disk across engine and app restarts (evicted ones, and the live
    # ones at quit), up to this for all models together. Settings files from before this
    # default get it by a migration (app/config/migrations.py, step 2).
    prompt_cache_disk_mib: int = setting(
        4096,
        label="Prompt cache on disk",
        help="Prompt states kept on disk across restarts (all models together), up to this; 0: off",
        unit="MiB",
        low=0,
        high=MAX_CACHE_MIB,
        special=0,
        special_means="for off",
        restart=True,
        load_option="prompt_cache_spill_bytes",  # in bytes there
    )
    idle_prefill: bool = setting(
        True, label="Idle prefill", help="Evaluate the system prompt and the attached file while idle"
    )
    prompt_lookup: bool = setting(
        True,
        label="Prompt-lookup drafting",
        help="Speculative decoding with drafts from the prompt",
        restart=True,
        load_option="prompt_lookup",
    )
    draft_model_path: str = setting(
        "",
        label="Draft model",
        help="A small model of the same vocabulary that drafts; empty: none",
        restart=True,
        load_option="draft_model_path",
    )
    # Sampling
    temperature: float = setting(sampling.TEMPERATURE, label="Temperature", low=0.0, high=2.0, sampling="temperature")
    top_p: float = setting(sampling.TOP_P, label="Top-p", low=0.0, high=1.0, sampling="top_p")
    top_k: int = setting(
        sampling.TOP_K, label="Top-k", low=0, high=1000, special=0, special_means="to turn it off", sampling="top_k"
    )
    min_p: float = setting(sampling.MIN_P, label="Min-p", low=0.0, high=1.0, sampling="min_p")
    repeat_penalty: float = setting(
        sampling.REPEAT_PENALTY, label="Repeat penalty", low=0.5, high=2.0, sampling="repeat_penalty"
    )
    max_tokens: int = setting(sampling.CHAT_MAX_TOKENS, label="Max tokens", low=1, high=131072, sampling="max_tokens")
    seed: int = setting(
        -1, label="Seed", low=-1, high=2**31 - 1, special=-1, special_means="for random", sampling="seed"
    )
    system_prompt: str = ""  # empty: the model family's default
    # Prompts: the chosen preset's name ("" = the DeepSeek default) and the user's own
    # presets as {"name": ..., "text": ...}; `system_prompt` holds the chosen one's text.
    system_prompt_preset: str = ""
    system_prompt_presets: list[dict[str, str]] = field(default_factory=list)
    # Appearance
    theme: str = setting("system", label="Theme", choices=THEME_CHOICES)
    editor_font_family: str = setting("Monospace", label="Editor font")
    editor_font_size: int = setting(11, label="Editor font size", low=6, high=72)
    # Chat context: what a question carries from the editor and the opened folder
    chat_attach_current_file: bool = True  # the current file (or the selection) goes with each question
    chat_file_tokens: int = setting(
        3000,
        label="Tokens for the current file",
        help="A larger file sends the part around the cursor",
        low=MIN_ATTACHED_TOKENS,
        high=MAX_ATTACHED_TOKENS,
    )
    chat_attach_project_map: bool = True  # the folder's map goes with questions about the project
    chat_project_map_tokens: int = setting(
        1500, label="Tokens for the project map", low=MIN_ATTACHED_TOKENS, high=MAX_ATTACHED_TOKENS
    )
    # Completion
    completion_enabled: bool = True
    completion_delay_ms: int = setting(250, label="Completion delay", unit="ms", low=0, high=5000)
    completion_disabled_languages: list[str] = field(default_factory=list)
    # Run panel: a run (the current file, the tests) is stopped after this many seconds
    run_timeout_s: int = setting(
        600,
        label="Run timeout",
        unit="s",
        low=1,
        high=86400,
        help="A run (the current file, the tests) is stopped after this long",
    )
    # Hub
    hub_endpoint: str = setting("", label="Hub endpoint", help="Empty: HF_ENDPOINT or the public hub")
    hub_offline: bool = False
    # Remote engines: {"id", "name", "base_url", "model", "kind"}; API keys are kept by
    # app.utils.secrets, never here. `active_engine` is "" for the local engine.
    remote_engines: list[dict[str, str]] = field(default_factory=list)
    active_engine: str = setting("", label="Engine used for chat", restart=True)
    # Planner: what "fast enough" means, and the RAM a plan leaves free (Settings → Planner)
    plan_min_tokens_per_s: float = setting(
        8.0,
        label="Minimum answer speed",
        help="Chat: tokens per second while answering",
        unit="tokens/s",
        low=0.5,
        high=1000.0,
    )
    plan_max_question_s: float = setting(
        15.0,
        label="Longest wait for a 2K-token question",
        help="Chat: a 2K-token question read, first token out",
        unit="s",
        low=1.0,
        high=600.0,
    )
    plan_max_completion_s: float = setting(
        0.5,
        label="Longest wait for ghost text",
        help="Inline completion: first ghost text after a keystroke",
        unit="s",
        low=0.05,
        high=30.0,
    )
    plan_headroom_percent: float = setting(
        25.0, label="RAM kept free", help="For the rest of the system", unit="% of RAM", low=0.0, high=90.0
    )
    plan_headroom_max_gb: float = setting(4.0, label="RAM kept free, at most", unit="GB", low=0.0, high=1024.0)
    prompt_cache_bytes: int = setting(
        0,
        label="Prompt cache in RAM",
        help="RAM for the engine's prompt-state cache; 0: 10% of RAM, at most 2 GiB",
        unit="bytes",
        low=0,
        high=1 << 40,
        special=0,
        special_means="for automatic",
        restart=True,
        load_option="prompt_cache_bytes",  # where 0 is written -1 (automatic)
    )
    # Local server ("Serve the loaded model"): off by default, on 127.0.0.1 unless chosen; any
    # other address reaches other machines and needs the API key (the engine refuses it without one)
    local_server_enabled: bool = setting(False, label="Serve the loaded model", restart=True)
    local_server_port: int = setting(
        0,
        label="Local server port",
        low=1024,
        high=MAX_PORT,
        special=0,
        special_means="any free port",
        restart=True,
    )
    local_server_host: str = setting(
        "127.0.0.1",
        label="Local server address",
        choices=(
            ("127.0.0.1", "127.0.0.1 (this computer only)"),
            ("0.0.0.0", "0.0.0.0 (every network: needs the key)"),
        ),
        restart=True,
    )
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
    raw = _read_raw(path)
    if raw is None:
        return Settings()
    raw, found = migrate_settings(raw)
    if found > LATEST_VERSION:
        log.warning(
            "settings file %s is from a newer version (%d; this one knows up to %d): reading the settings it knows",
            path,
            found,
            LATEST_VERSION,
        )
    elif found < LATEST_VERSION:
        try:
            _write_raw(path, raw)
        except OSError as exc:  # a read-only config dir: the migrated settings still apply now
            log.warning("could not write the migrated settings file %s (%s)", path, exc)
    known = {f.name: f for f in dataclasses.fields(Settings)}
    values: dict[str, Any] = {}
    defaults = Settings()
    for key, value in raw.items():
        if key in known and isinstance(value, type(getattr(defaults, key))):
            values[key] = value
    return Settings(**values)


def save_settings(settings: Settings, path: Path | None = None) -> None:
    """Write atomically: a crash mid-write leaves the old file, never half a file. Keys this
    version does not know (a newer release's) are kept."""
    path = path or settings_path()
    known = {f.name for f in dataclasses.fields(Settings)}
    existing = _read_raw(path, log_unreadable=False) or {}  # a broken file is replaced whole
    data = {key: value for key, value in existing.items() if key not in known}
    data.update(dataclasses.asdict(settings))
    data[VERSION_KEY] = LATEST_VERSION
    _write_raw(path, data)


def _read_raw(path: Path, log_unreadable: bool = True) -> dict[str, Any] | None:
    """The file's JSON object; None when it is missing or unreadable (logged when loading)."""
    return read_json_object(path, "settings file", "using defaults", log if log_unreadable else None)


def _write_raw(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True))
