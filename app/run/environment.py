"""The environment a run gets: the user's own, without the app's secrets.

A test the user runs, or code a model wrote, has no business seeing the hub token, an
OpenAI key the user exported for the app, or the key of the app's local engine server.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

# Names the app reads secrets from (app/models/download/hub.py, app/llm/supervisor.py),
# plus the usual names of hosted-API keys a user exports for OpenAI-compatible engines.
SECRET_NAMES = frozenset(
    {
        "HF_TOKEN",
        "HUGGING_FACE_HUB_TOKEN",
        "OPENAI_API_KEY",
        "DEEPSEEK_API_KEY",
        "DSCODER_ENGINE_API_KEY",
    }
)
# Any DSCODER_ variable whose name says it holds a secret.
_SECRET_WORDS = ("KEY", "TOKEN", "SECRET", "PASSWORD")


def is_secret_name(name: str) -> bool:
    upper = name.upper()
    if upper in SECRET_NAMES:
        return True
    return upper.startswith("DSCODER_") and any(word in upper for word in _SECRET_WORDS)


def run_environment(extra: Mapping[str, str] | None = None, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """`base` (the app's own environment by default) without the secrets, plus `extra`."""
    source = os.environ if base is None else base
    env = {name: value for name, value in source.items() if not is_secret_name(name)}
    env.update(extra or {})
    return env
