"""Talking to remote engines: does this server work, and how does it do fill-in-the-middle.

A remote is a name, a base URL (ending in /v1), a model name and the kind of server
(llama-server, vLLM, SGLang, Ollama, the DeepSeek API, other). Its API key is kept by
the secret store (keyring or a 0600 file), never in settings.json.

`probe_remote` answers "does this work?" the way a person would check: list the
models with the key, then see whether inline completion can work. Completion needs
fill-in-the-middle, which a server offers in one of two ways:

- "suffix": it takes OpenAI's `suffix` on /v1/completions and builds the FIM prompt
  itself (Ollama, the DeepSeek API's /beta, SGLang with --completion-template, this
  app's own engine);
- "raw": it accepts a raw prompt, so the app writes the DeepSeek-Coder FIM prompt
  (vLLM rejects `suffix`; llama-server's FIM endpoint is /infill, not /v1).

Neither works: completion is turned off for that engine, and the reason is shown.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from app.config.remotes import RemoteEngine, normalize_base_url, validate_remote
from app.protocol.deepseek import DS_FIM_BEGIN, DS_FIM_END, DS_FIM_HOLE
from app.utils.errors import ClientError

FIM_SUFFIX, FIM_RAW, FIM_OFF = "suffix", "raw", "off"
_PROBE_PREFIX = "def add(a, b):\n    return "
_PROBE_SUFFIX = "\n\nprint(add(1, 2))\n"


# -- FIM prompts ------------------------------------------------------------------------
def is_deepseek_coder(model: str) -> bool:
    name = model.lower()
    return "deepseek" in name and "coder" in name


def deepseek_fim_prompt(prefix: str, suffix: str) -> str:
    """DeepSeek-Coder's fill-in-the-middle prompt (PSM order) as raw text for /v1/completions."""
    return f"{DS_FIM_BEGIN}{prefix}{DS_FIM_HOLE}{suffix}{DS_FIM_END}"


@dataclass(frozen=True)
class FimSupport:
    mode: str  # "suffix", "raw" or "off"
    reason: str  # why completion is off, or how it is done

    @property
    def enabled(self) -> bool:
        return self.mode != FIM_OFF


@dataclass(frozen=True)
class ProbeResult:
    ok: bool  # chat can work: the server answered /v1/models with this key
    message: str  # one line for the user: the status, or what went wrong and what to do
    models: list[str] = field(default_factory=list)
    fim: FimSupport | None = None


def client_for(remote: RemoteEngine, api_key: str | None, *, read_timeout: float = 600.0) -> Any:
    """An OpenAIClient for the remote (chat and completion stream through it as with the local engine)."""
    from app.llm.client import OpenAIClient

    return OpenAIClient(
        normalize_base_url(remote.base_url), api_key or None, remote.model or None, read_timeout=read_timeout
    )


def _one_token(client: Any, prompt: str, suffix: str | None) -> None:
    from app.protocol.options import SamplingParams

    for _event in client.stream_completion(prompt, suffix, SamplingParams(max_tokens=1)):
        pass


def _one_token_chat(client: Any) -> None:
    from app.protocol.options import SamplingParams

    for _event in client.stream_chat([{"role": "user", "content": "Say OK."}], SamplingParams(max_tokens=1)):
        pass


def _lists_model(models: list[str], model: str) -> bool:
    # Ollama lists "name:latest" and accepts "name" for it.
    return model in models or f"{model}:latest" in models


def _try_fim(client: Any, prompt: str, suffix: str | None) -> tuple[bool, str]:
    """(accepted, reason): a 4xx answer means "not supported", with the server's reason."""
    try:
        _one_token(client, prompt, suffix)
    except ClientError as exc:
        if exc.status in (401, 403, 429):
            raise  # not about FIM at all: the key, or the rate limit
        if exc.status is not None and 400 <= exc.status < 500:
            return False, exc.what
        return False, f"the check failed: {exc.what}"
    return True, ""


def check_fim_support(client: Any, remote: RemoteEngine) -> FimSupport:
    """How (or why not) inline completion can work on this server: a 1-token request or two."""
    model = remote.model or ""
    raw_possible = is_deepseek_coder(model)
    # llama-server may ignore `suffix` on /v1/completions, so for it a raw prompt comes first.
    order = [FIM_RAW, FIM_SUFFIX] if remote.kind == "llama-server" else [FIM_SUFFIX, FIM_RAW]
    reasons: list[str] = []
    for mode in order:
        if mode == FIM_RAW:
            if not raw_possible:
                reasons.append(
                    f"the app writes raw FIM prompts only for DeepSeek-Coder models (model {model or 'unnamed'!r})"
                )
                continue
            accepted, reason = _try_fim(client, deepseek_fim_prompt(_PROBE_PREFIX, _PROBE_SUFFIX), None)
            if accepted:
                return FimSupport(FIM_RAW, "Completion sends DeepSeek-Coder FIM prompts as raw text")
            reasons.append(f"raw prompts are refused: {reason}")
        else:
            accepted, reason = _try_fim(client, _PROBE_PREFIX, _PROBE_SUFFIX)
            if accepted:
                return FimSupport(FIM_SUFFIX, "Completion uses /v1/completions with suffix")
            reasons.append(f"the server does not take 'suffix' on /v1/completions: {reason}")
    return FimSupport(FIM_OFF, "Inline completion is off for this engine: " + "; ".join(reasons))


def probe_remote(
    remote: RemoteEngine, api_key: str | None, *, check_completion: bool = True, timeout: float = 15.0
) -> ProbeResult:
    """Check a remote like a person would: list its models with the key, then try completion."""
    problems = validate_remote(remote)
    if problems:
        return ProbeResult(False, problems[0])
    client = client_for(remote, api_key, read_timeout=timeout)
    try:
        try:
            models = [str(m.get("id", "")) for m in client.models() if isinstance(m, dict)]
        except ClientError as exc:
            return ProbeResult(False, str(exc))
        listed = ", ".join(models[:8]) + (" …" if len(models) > 8 else "")
        if remote.model and models and not _lists_model(models, remote.model):
            message = (
                f"Connected, but the server does not list the model {remote.model!r}. It has: {listed or 'no models'}"
            )
            return ProbeResult(False, message, models)
        try:
            _one_token_chat(client)  # some servers answer /models without checking the key
            # A one-model server (llama-server) may be left unnamed: judge FIM by the name it lists.
            named = remote if remote.model or len(models) != 1 else dataclasses.replace(remote, model=models[0])
            fim = check_fim_support(client, named) if check_completion else None
        except ClientError as exc:
            return ProbeResult(False, str(exc), models)
        message = f"Connected to {remote.base_url}; chat works" + (f". Models: {listed}" if listed else "")
        return ProbeResult(True, message, models, fim)
    finally:
        client.close()
