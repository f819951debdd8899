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
from app.config.setting_spec import SettingSpec, restart_labels, specs_of
from app.config.settings import KV_CACHE_TYPES, Settings


@dataclass(frozen=True)
class SettingsProblem:
    field: str  # the Settings field at fault
    message: str  # what is wrong and what would be right

    def __str__(self) -> str:
        return self.message


# Fields whose change only takes effect when the engine starts again, with their labels
# (declared by `restart=True` on the field).
RESTART_FIELDS: dict[str, str] = restart_labels(Settings)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _number_text(value: float, whole: bool) -> str:
    return str(int(value)) if whole else f"{value:g}"


def check_spec(name: str, spec: SettingSpec, value: Any, default: Any) -> SettingsProblem | None:
    """The problem with `value` by its spec (its choices, its range), or None."""
    if spec.choices:
        if value in spec.choice_values:
            return None
        return SettingsProblem(name, f"{spec.named} must be one of {', '.join(spec.choice_values)}, not {value!r}")
    if spec.low is None or spec.high is None:
        return None
    whole = _is_int(default)
    fits = _is_int(value) if whole else _is_number(value)
    if fits and (spec.low <= value <= spec.high or value == spec.special):
        return None
    kind = "a whole number" if whole else "a number"
    span = f"from {_number_text(spec.low, whole)} to {_number_text(spec.high, whole)}"
    if spec.special is None:
        rule = f"{kind} {span}"
    elif spec.low <= spec.special <= spec.high:
        rule = f"{kind} {span} ({spec.special} {spec.special_means})"
    else:
        rule = f"{spec.special} ({spec.special_means}) or {kind} {span}"
    return SettingsProblem(name, f"{spec.named} must be {rule}, not {value!r}")


def validate_settings(settings: Settings) -> list[SettingsProblem]:
    """Every problem with the values in `settings`; an empty list means they are all fine."""
    s = settings
    defaults = type(s)()
    problems: list[SettingsProblem] = []
    for name, spec in specs_of(type(s)).items():
        problem = check_spec(name, spec, getattr(s, name), getattr(defaults, name))
        if problem is not None:
            problems.append(problem)
    problems += _check_folders_and_addresses(s)
    problems += _check_engine(s)
    problems += _check_draft_model(s)
    problems += _check_looks(s)
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
    return problems


def is_loopback(host: str) -> bool:
    """True for an address only this computer reaches (127.0.0.1, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _check_engine(s: Settings) -> list[SettingsProblem]:
    """The checks that tie engine settings together (batches, KV cache type and flash attention)."""
    problems: list[SettingsProblem] = []
    if _is_int(s.n_batch) and _is_int(s.n_ubatch) and s.n_ubatch > s.n_batch:
        problems.append(SettingsProblem("n_ubatch", "Micro-batch size must not be larger than the batch size"))
    if s.kv_cache_type in KV_CACHE_TYPES and s.kv_cache_type != "f16" and not s.flash_attn:
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
    defaults = type(settings)()
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
    restart_fields = RESTART_FIELDS if type(new) is Settings else restart_labels(type(new))
    labels = [label for name, label in restart_fields.items() if getattr(old, name) != getattr(new, name)]
    if new.active_engine and new.active_engine == old.active_engine:

        def active(s: Settings) -> Any:
            return next((r for r in s.remote_engines if isinstance(r, dict) and r.get("id") == s.active_engine), None)

        if active(old) != active(new):
            labels.append("Remote engine address or model")
    return labels
