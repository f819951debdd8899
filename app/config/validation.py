"""Checks on settings values, and which changes need the engine restarted.

`load_settings` only checks types; the values themselves (a context size of -3, a
theme named "purple") are judged here, each with a message that says what is wrong
and what would be right. The settings dialog shows these; `sanitized` repairs a file
edited by hand by putting bad values back to their defaults.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from dataclasses import dataclass
from typing import Any

from app.config.remotes import RemoteEngine, check_url, validate_remote
from app.config.settings import KV_CACHE_TYPES, Settings

THEMES = ("system", "light", "dark")
MAX_CONTEXT = 1 << 20  # DeepSeek-Coder-V2 has 128K; leave room for longer models
MAX_PORT = 65535
MAX_CACHE_MIB = 1 << 20  # 1 TiB: anything larger is a typo
MIN_CONTEXT_TOKENS, MAX_CONTEXT_TOKENS = 200, 65536  # what a question may carry from the editor


@dataclass(frozen=True)
class SettingsProblem:
    field: str  # the Settings field at fault
    message: str  # what is wrong and what would be right

    def __str__(self) -> str:
        return self.message


# Fields whose change only takes effect when the engine starts again, with their labels.
RESTART_FIELDS: dict[str, str] = {
    "models_dir": "Models folder",
    "n_ctx": "Context size",
    "n_gpu_layers": "GPU layers",
    "n_threads": "Threads",
    "n_threads_batch": "Prompt threads",
    "prompt_cache_bytes": "Prompt cache in RAM",
    "prompt_cache_disk_mib": "Prompt cache on disk",
    "prompt_lookup": "Prompt-lookup drafting",
    "draft_model_path": "Draft model",
    "n_batch": "Batch size",
    "n_ubatch": "Micro-batch size",
    "flash_attn": "Flash attention",
    "kv_cache_type": "KV cache type",
    "use_mmap": "Memory-mapped loading",
    "active_engine": "Engine used for chat",
    "local_server_enabled": "Serve the loaded model",
    "local_server_port": "Local server port",
    "local_server_host": "Local server address",
}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _int_in(problems: list[SettingsProblem], name: str, value: Any, low: int, high: int, what: str) -> None:
    if not _is_int(value) or not low <= value <= high:
        problems.append(SettingsProblem(name, f"{what} must be a whole number from {low} to {high}, not {value!r}"))


def _float_in(problems: list[SettingsProblem], name: str, value: Any, low: float, high: float, what: str) -> None:
    if not _is_number(value) or not low <= value <= high:
        problems.append(SettingsProblem(name, f"{what} must be a number from {low:g} to {high:g}, not {value!r}"))


# Whole-number and decimal settings with a plain range: (name, low, high, what the message calls it).
_INT_RANGES: tuple[tuple[str, int, int, str], ...] = (
    ("n_gpu_layers", -1, 1000, "GPU layers (-1 for automatic)"),
    ("n_threads", 0, 1024, "Threads (0 for automatic)"),
    ("n_threads_batch", 0, 1024, "Prompt threads (0 for automatic)"),
    ("prompt_cache_disk_mib", 0, MAX_CACHE_MIB, "Prompt cache on disk (MiB)"),
    ("n_batch", 1, 65536, "Batch size"),
    ("n_ubatch", 1, 65536, "Micro-batch size"),
    ("top_k", 0, 1000, "Top-k (0 to turn it off)"),
    ("max_tokens", 1, 131072, "Max tokens"),
    ("seed", -1, 2**31 - 1, "Seed (-1 for random)"),
    ("editor_font_size", 6, 72, "Editor font size"),
    ("completion_delay_ms", 0, 5000, "Completion delay (ms)"),
    ("chat_file_tokens", MIN_CONTEXT_TOKENS, MAX_CONTEXT_TOKENS, "Tokens for the current file"),
    ("chat_project_map_tokens", MIN_CONTEXT_TOKENS, MAX_CONTEXT_TOKENS, "Tokens for the project map"),
)
_FLOAT_RANGES: tuple[tuple[str, float, float, str], ...] = (
    ("temperature", 0.0, 2.0, "Temperature"),
    ("top_p", 0.0, 1.0, "Top-p"),
    ("min_p", 0.0, 1.0, "Min-p"),
    ("repeat_penalty", 0.5, 2.0, "Repeat penalty"),
)


def validate_settings(settings: Settings) -> list[SettingsProblem]:
    """Every problem with the values in `settings`; an empty list means they are all fine."""
    s = settings
    problems: list[SettingsProblem] = []
    for name, low, high, what in _INT_RANGES:
        _int_in(problems, name, getattr(s, name), low, high, what)
    for name, flow, fhigh, what in _FLOAT_RANGES:
        _float_in(problems, name, getattr(s, name), flow, fhigh, what)
    problems += _check_folders_and_addresses(s)
    problems += _check_engine(s)
    problems += _check_draft_model(s)
    problems += _check_looks(s)
    problems += _check_planner(s)
    problems += _check_presets(s)
    problems += _check_remotes(s)
    return problems


def _check_folders_and_addresses(s: Settings) -> list[SettingsProblem]:
    problems: list[SettingsProblem] = []
    if s.models_dir and not os.path.isdir(os.path.expanduser(s.models_dir)):
        problems.append(
            SettingsProblem(
                "models_dir",
                f"The models folder {s.models_dir} does not exist; choose an existing folder, "
                "or leave it empty for the default",
            )
        )
    if s.hub_endpoint and (message := check_url(s.hub_endpoint, "Hub endpoint")):
        problems.append(SettingsProblem("hub_endpoint", message))
    if not (_is_int(s.local_server_port) and (s.local_server_port == 0 or 1024 <= s.local_server_port <= MAX_PORT)):
        problems.append(
            SettingsProblem(
                "local_server_port",
                f"Local server port must be 0 (any free port) or from 1024 to {MAX_PORT}, not {s.local_server_port!r}",
            )
        )
    if not isinstance(s.local_server_host, str) or not _is_address(s.local_server_host):
        problems.append(
            SettingsProblem(
                "local_server_host",
                f"Local server address must be an IP address such as 127.0.0.1 or 0.0.0.0, not {s.local_server_host!r}",
            )
        )
    return problems


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host == "localhost"
    return True


def is_loopback(host: str) -> bool:
    """True for an address only this computer reaches (127.0.0.1, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _check_engine(s: Settings) -> list[SettingsProblem]:
    """The checks that tie engine settings together (context, batches, KV cache type)."""
    problems: list[SettingsProblem] = []
    if not (_is_int(s.n_ctx) and (s.n_ctx == 0 or 256 <= s.n_ctx <= MAX_CONTEXT)):
        problems.append(
            SettingsProblem(
                "n_ctx",
                f"Context size must be 0 (chosen from free memory) or from 256 to {MAX_CONTEXT} tokens, not {s.n_ctx!r}",
            )
        )
    if _is_int(s.n_batch) and _is_int(s.n_ubatch) and s.n_ubatch > s.n_batch:
        problems.append(SettingsProblem("n_ubatch", "Micro-batch size must not be larger than the batch size"))
    if s.kv_cache_type not in KV_CACHE_TYPES:
        problems.append(
            SettingsProblem(
                "kv_cache_type", f"KV cache type must be one of {', '.join(KV_CACHE_TYPES)}, not {s.kv_cache_type!r}"
            )
        )
    elif s.kv_cache_type != "f16" and not s.flash_attn:
        problems.append(
            SettingsProblem(
                "kv_cache_type",
                f"A quantized KV cache ({s.kv_cache_type}) needs flash attention in llama.cpp; "
                "turn flash attention on, or use f16",
            )
        )
    return problems


def _check_looks(s: Settings) -> list[SettingsProblem]:
    problems: list[SettingsProblem] = []
    if s.theme not in THEMES:
        problems.append(SettingsProblem("theme", f"Theme must be one of {', '.join(THEMES)}, not {s.theme!r}"))
    if not isinstance(s.editor_font_family, str) or not s.editor_font_family.strip():
        problems.append(SettingsProblem("editor_font_family", "Editor font needs a font family name"))
    return problems


def _check_draft_model(s: Settings) -> list[SettingsProblem]:
    path = s.draft_model_path
    if not path:
        return []
    if not isinstance(path, str) or not os.path.isfile(os.path.expanduser(path)):
        return [
            SettingsProblem("draft_model_path", f"The draft model {path} does not exist; choose a .gguf file, or none")
        ]
    if os.path.abspath(os.path.expanduser(path)) == os.path.abspath(os.path.expanduser(s.chat_model_path or "")):
        return [
            SettingsProblem(
                "draft_model_path", "The draft model is the model itself; choose a smaller model of the same family"
            )
        ]
    return []


def _check_planner(s: Settings) -> list[SettingsProblem]:
    """The planner's speed floors and the RAM it keeps free."""
    problems: list[SettingsProblem] = []
    _float_in(
        problems, "plan_min_tokens_per_s", s.plan_min_tokens_per_s, 0.5, 1000.0, "Minimum answer speed (tokens/s)"
    )
    _float_in(
        problems, "plan_max_question_s", s.plan_max_question_s, 1.0, 600.0, "Longest wait for a 2K-token question (s)"
    )
    _float_in(problems, "plan_max_completion_s", s.plan_max_completion_s, 0.05, 30.0, "Longest wait for ghost text (s)")
    _float_in(problems, "plan_headroom_percent", s.plan_headroom_percent, 0.0, 90.0, "RAM kept free (% of RAM)")
    _float_in(problems, "plan_headroom_max_gb", s.plan_headroom_max_gb, 0.0, 1024.0, "RAM kept free, at most (GB)")
    _int_in(
        problems, "prompt_cache_bytes", s.prompt_cache_bytes, 0, 1 << 40, "Prompt cache size (bytes, 0 for automatic)"
    )
    return problems


def _check_presets(s: Settings) -> list[SettingsProblem]:
    problems: list[SettingsProblem] = []
    names: set[str] = set()
    for preset in s.system_prompt_presets:
        if (
            not isinstance(preset, dict)
            or not isinstance(preset.get("name"), str)
            or not isinstance(preset.get("text"), str)
        ):
            problems.append(SettingsProblem("system_prompt_presets", "A system-prompt preset needs a name and a text"))
            continue
        name = preset["name"].strip()
        if not name:
            problems.append(SettingsProblem("system_prompt_presets", "A system-prompt preset needs a name"))
        elif name.casefold() in names:
            problems.append(
                SettingsProblem("system_prompt_presets", f"Two system-prompt presets are called {name!r}; rename one")
            )
        names.add(name.casefold())
    if s.system_prompt_preset and s.system_prompt_preset.casefold() not in names:
        problems.append(
            SettingsProblem(
                "system_prompt_preset", f"The chosen system-prompt preset {s.system_prompt_preset!r} does not exist"
            )
        )
    return problems


def _check_remotes(s: Settings) -> list[SettingsProblem]:

    problems: list[SettingsProblem] = []
    ids: set[str] = set()
    names: set[str] = set()
    for raw in s.remote_engines:
        try:
            remote = RemoteEngine.from_dict(raw)
        except (TypeError, ValueError) as exc:
            problems.append(SettingsProblem("remote_engines", f"A remote engine entry is unreadable: {exc}"))
            continue
        problems += [SettingsProblem("remote_engines", m) for m in validate_remote(remote)]
        if remote.name.casefold() in names:
            problems.append(
                SettingsProblem("remote_engines", f"Two remote engines are called {remote.name!r}; rename one")
            )
        names.add(remote.name.casefold())
        ids.add(remote.id)
    if s.active_engine and s.active_engine not in ids:
        problems.append(
            SettingsProblem(
                "active_engine", "The remote engine chosen for chat no longer exists; the local engine will be used"
            )
        )
    return problems


def sanitized(settings: Settings) -> tuple[Settings, list[SettingsProblem]]:
    """`settings` with every value that has a problem put back to its default.

    A bad remote engine or preset is dropped on its own, not the whole list.
    """

    problems = validate_settings(settings)
    defaults = Settings()
    fixed = settings
    for _ in range(3):  # a default can clash with another value (micro-batch > batch)
        current = validate_settings(fixed)
        if not current:
            break
        fixes: dict[str, Any] = {p.field: getattr(defaults, p.field) for p in current}
        if "n_ubatch" in fixes and "n_batch" not in fixes:
            fixes["n_ubatch"] = min(defaults.n_ubatch, fixed.n_batch)
        if "remote_engines" in fixes:
            kept = []
            for raw in fixed.remote_engines:
                try:
                    if not validate_remote(RemoteEngine.from_dict(raw)):
                        kept.append(raw)
                except (TypeError, ValueError):
                    continue
            fixes["remote_engines"] = kept
        fixed = dataclasses.replace(fixed, **fixes)
    return fixed, problems


def restart_needed(old: Settings, new: Settings) -> list[str]:
    """Labels of the changed settings that only take effect when the engine restarts."""
    labels = [label for name, label in RESTART_FIELDS.items() if getattr(old, name) != getattr(new, name)]
    if new.active_engine and new.active_engine == old.active_engine:

        def active(s: Settings) -> Any:
            return next((r for r in s.remote_engines if isinstance(r, dict) and r.get("id") == s.active_engine), None)

        if active(old) != active(new):
            labels.append("Remote engine address or model")
    return labels
