"""Remote engines: OpenAI-compatible servers the app uses like its local engine.

A remote is a name, a base URL (ending in /v1), a model name and the kind of server
(llama-server, vLLM, SGLang, Ollama, the DeepSeek API, other). Its API key is kept by
the secret store (keyring or a 0600 file), never in settings.json.

This module is the data half: the records in the settings, their checks and their keys.
Talking to a remote (`probe_remote`, how it does fill-in-the-middle) is in
`app.llm.remote_probe`.
"""

from __future__ import annotations

import re
import urllib.parse
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from app.utils.secrets import SecretStore, default_secret_store

# Kinds of server, with their labels and the URL a default install listens on.
ENGINE_KINDS: dict[str, str] = {
    "llama-server": "llama.cpp server (llama-server)",
    "vllm": "vLLM",
    "sglang": "SGLang",
    "ollama": "Ollama (/v1)",
    "deepseek-api": "DeepSeek API",
    "other": "Other OpenAI-compatible server",
}
EXAMPLE_URLS: dict[str, str] = {
    "llama-server": "http://gpu-box:8080/v1",
    "vllm": "http://gpu-box:8000/v1",
    "sglang": "http://gpu-box:30000/v1",
    "ollama": "http://localhost:11434/v1",
    "deepseek-api": "https://api.deepseek.com/beta",
    "other": "http://host:port/v1",
}


def check_url(url: str, what: str) -> str | None:
    """None when `url` is an http(s) URL with a host, else a message saying what is wrong."""
    try:
        parsed = urllib.parse.urlsplit(url)
        parsed.port  # noqa: B018 - raises ValueError for a port that is not a number
    except (ValueError, TypeError, AttributeError):
        return f"{what} {url!r} is not a valid URL; it should look like http://host:8000/v1"
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        return f"{what} must start with http:// or https:// and name a host, like http://host:8000/v1 (got {url!r})"
    return None


def new_remote_id() -> str:
    return uuid.uuid4().hex[:12]


@dataclass(frozen=True)
class RemoteEngine:
    name: str
    base_url: str
    model: str = ""  # '' lets the server pick (single-model servers)
    kind: str = "other"
    id: str = field(default_factory=new_remote_id)  # stable across renames: keys the API key

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: Any) -> RemoteEngine:
        if not isinstance(raw, dict):
            raise TypeError(f"expected a mapping, got {type(raw).__name__}")
        values = {key: raw[key] for key in ("name", "base_url", "model", "kind", "id") if key in raw}
        if not all(isinstance(v, str) for v in values.values()):
            raise TypeError("every field must be text")
        if "name" not in values or "base_url" not in values:
            raise ValueError("it needs a name and a base URL")
        return cls(**values)

    @property
    def secret_name(self) -> str:
        return f"remote-engine:{self.id}"


def normalize_base_url(url: str) -> str:
    """Trim the URL; a bare host (http://box:8000) gets the /v1 every OpenAI server uses."""
    url = url.strip().rstrip("/")
    if re.fullmatch(r"https?://[^/]+", url):
        url += "/v1"
    return url


def validate_remote(remote: RemoteEngine) -> list[str]:
    """Problems with a remote's fields, as messages for the user; [] when it is fine."""
    problems = []
    if not remote.name.strip():
        problems.append("A remote engine needs a name")
    if message := check_url(remote.base_url, f"The base URL of {remote.name or 'the remote engine'}"):
        problems.append(message)
    if remote.kind not in ENGINE_KINDS:
        problems.append(f"Unknown kind of server {remote.kind!r}; choose one of {', '.join(ENGINE_KINDS)}")
    if remote.kind in ("ollama", "vllm", "sglang", "deepseek-api") and not remote.model.strip():
        problems.append(
            f"{ENGINE_KINDS[remote.kind]} serves models by name: enter the model name "
            f"for {remote.name or 'the remote engine'} (Test connection lists them)"
        )
    return problems


def remotes_from_settings(raw_list: list[dict[str, str]]) -> list[RemoteEngine]:
    """The readable remote engines of a settings list (unreadable entries are skipped)."""
    remotes = []
    for raw in raw_list:
        try:
            remotes.append(RemoteEngine.from_dict(raw))
        except (TypeError, ValueError):
            continue
    return remotes


def find_remote(raw_list: list[dict[str, str]], remote_id: str) -> RemoteEngine | None:
    return next((r for r in remotes_from_settings(raw_list) if r.id == remote_id), None)


# -- API keys ---------------------------------------------------------------------------
def api_key_for(remote: RemoteEngine, store: SecretStore | None = None) -> str | None:
    return (store or default_secret_store()).get(remote.secret_name)


def save_api_key(remote: RemoteEngine, api_key: str | None, store: SecretStore | None = None) -> None:
    """Keep (or, with None or '', forget) the remote's API key outside settings.json."""
    (store or default_secret_store()).set(remote.secret_name, api_key.strip() if api_key else None)
