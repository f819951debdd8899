"""Checking request bodies at the engine's door: a bad field gets a 400 that says which and why."""

from __future__ import annotations

from typing import Any

from app.config import sampling
from app.config.setting_spec import SettingSpec, specs_of
from app.config.settings import Settings
from app.engine.prompts import Message
from app.protocol.options import SamplingParams
from app.utils.errors import PromptError

MAX_STOP_STRINGS = 16  # OpenAI allows 4; tools that send more than a few use a handful
MAX_STOP_CHARS = 500
# The ranges a request's sampling fields must fall in are the Settings' ones, keyed by the
# SamplingParams field each setting feeds, so the dialog and the API accept the same values.
SAMPLING_SPECS: dict[str, SettingSpec] = {spec.sampling: spec for spec in specs_of(Settings).values() if spec.sampling}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _sampling_range(key: str) -> tuple[float, float]:
    spec = SAMPLING_SPECS[key]
    if spec.low is None or spec.high is None:
        raise AssertionError(f"the setting that feeds {key!r} declares no range")
    return spec.low, spec.high


def _number(body: dict[str, Any], key: str, default: float) -> float:
    value = body.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PromptError(f"'{key}' must be a number, not {value!r}")
    low, high = _sampling_range(key)
    if not low <= value <= high:
        raise PromptError(f"'{key}' must be from {low:g} to {high:g}, not {value!r}")
    return float(value)


def _whole(body: dict[str, Any], key: str, default: int, low: int, what: str = "") -> int:
    value = body.get(key)
    if value is None:
        return default
    if not _is_int(value):
        raise PromptError(f"'{key}' must be a whole number, not {value!r}")
    if value < low:
        raise PromptError(f"'{key}' must be at least {low}{what}, not {value!r}")
    return int(value)


def _top_k(body: dict[str, Any]) -> int:
    low, high = _sampling_range("top_k")
    top_k = _whole(body, "top_k", sampling.TOP_K, int(low))
    if top_k > high:
        raise PromptError(f"'top_k' must be from {low:g} to {high:g}, not {top_k!r}")
    return top_k


def stop_strings(body: dict[str, Any]) -> tuple[str, ...]:
    stop = body.get("stop")
    if stop is None:
        return ()
    if isinstance(stop, str):
        stop = [stop]
    if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
        raise PromptError("'stop' must be a string or a list of strings")
    if len(stop) > MAX_STOP_STRINGS:
        raise PromptError(f"'stop' has {len(stop)} strings; the engine takes at most {MAX_STOP_STRINGS}")
    if any(len(s) > MAX_STOP_CHARS for s in stop):
        raise PromptError(f"A 'stop' string is longer than {MAX_STOP_CHARS} characters")
    return tuple(s for s in stop if s)


def sampling_from(body: dict[str, Any], default_max: int) -> SamplingParams:
    """The sampling parameters of an OpenAI request body."""
    n = body.get("n")
    if n is not None and (not _is_int(n) or n != 1):
        raise PromptError(f"'n' must be 1 (the engine gives one answer per request), not {n!r}")
    key = "max_tokens" if body.get("max_tokens") is not None else "max_completion_tokens"
    seed = body.get("seed")
    if seed is not None and not _is_int(seed):
        raise PromptError(f"'seed' must be a whole number, not {seed!r}")
    speculative = body.get("speculative")
    if speculative is not None and not isinstance(speculative, bool):
        raise PromptError(f"'speculative' must be true or false, not {speculative!r}")
    return SamplingParams(
        temperature=_number(body, "temperature", sampling.TEMPERATURE),
        top_p=_number(body, "top_p", sampling.TOP_P),
        top_k=_top_k(body),
        min_p=_number(body, "min_p", sampling.MIN_P),
        repeat_penalty=_number(body, "repeat_penalty", sampling.REPEAT_PENALTY),
        max_tokens=_whole(body, key, default_max, 1, " (the answer needs room for one token)"),
        seed=int(seed) if seed is not None else -1,
        stop=stop_strings(body),
        speculative=speculative,
    )


def chat_messages(body: dict[str, Any]) -> list[Message]:
    """The messages of a chat request, text only (OpenAI content parts: their text parts)."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise PromptError("'messages' must be a non-empty list")
    clean: list[Message] = []
    for m in messages:
        if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant"):
            raise PromptError("Each message needs a role of system, user or assistant")
        content = m.get("content", "")
        if isinstance(content, list):
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        if not isinstance(content, str):
            raise PromptError("A message's content must be text")
        clean.append({"role": m["role"], "content": content})
    return clean
