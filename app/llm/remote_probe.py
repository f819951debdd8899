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
- "raw": it takes a raw prompt, so the app writes the model family's FIM tokens as text
  (app.llm.fim_formats: DeepSeek-Coder, Qwen2.5-Coder, StarCoder, CodeLlama).

The mode is chosen by what the server *answers*, not by the shape of its API: some
servers accept `suffix` and build a wrong prompt (llama-cpp-python's server puts token 0
where the FIM tokens go, and the model returns the suffix's text as the middle). So the
probe asks for a known hole greedily, with `suffix` and with each family's raw prompt:

- an answer that repeats the suffix's text, or a 4xx, rules a way out;
- the model's family is the raw format whose prompt the server counts as the fewest
  tokens (its FIM texts are single special tokens there) where the server reports
  counts, else the one its name suggests, else the first (DeepSeek-Coder's);
- `suffix` is trusted when its answer is the family's raw answer (the same prompt gives
  the same greedy tokens) or fills the hole (`a + b`); when it differs, the raw format
  is used; when nothing can be compared, `suffix` is kept.

When neither works, completion is unavailable on that server, and the reason says why.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

from app.config.remotes import RemoteEngine, normalize_base_url, validate_remote
from app.llm.fim_formats import FimFormat, fim_format, formats_for
from app.utils.errors import ClientError

FIM_SUFFIX, FIM_RAW, FIM_OFF = "suffix", "raw", "off"
_PROBE_PREFIX = "def add(a, b):\n    return "
_PROBE_SUFFIX = "\n\nprint(add(1, 2))\n"
_PROBE_TOKENS = 8
_ECHO = "print(add"
_FILLED = re.compile(r"^\s*(a\s*\+\s*b|b\s*\+\s*a)\b")


# -- FIM prompts ------------------------------------------------------------------------
def deepseek_fim_prompt(prefix: str, suffix: str) -> str:
    """DeepSeek-Coder's fill-in-the-middle prompt (PSM order) as raw text for /v1/completions."""
    return fim_format("deepseek").prompt(prefix, suffix)


@dataclass(frozen=True)
class FimSupport:
    mode: str  # "suffix", "raw" or "off"
    reason: str  # why completion is off, or how it is done
    format: str = ""  # for "raw": the FIM format's key (app.llm.fim_formats)

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


def _one_token_chat(client: Any) -> None:
    from app.protocol.options import SamplingParams

    for _event in client.stream_chat([{"role": "user", "content": "Say OK."}], SamplingParams(max_tokens=1)):
        pass


def _lists_model(models: list[str], model: str) -> bool:
    # Ollama lists "name:latest" and accepts "name" for it.
    return model in models or f"{model}:latest" in models


@dataclass(frozen=True)
class _Answer:
    accepted: bool
    text: str = ""
    prompt_tokens: int = 0  # as the server counted them; 0: not reported
    refusal: str = ""  # the server's reason when not accepted

    @property
    def echoes_suffix(self) -> bool:
        return _ECHO in self.text

    @property
    def fills_hole(self) -> bool:
        return bool(_FILLED.match(self.text))


def _ask(client: Any, prompt: str, suffix: str | None) -> _Answer:
    """A greedy answer to the known hole; a 4xx means "not supported", with the server's reason."""
    from app.protocol.options import SamplingParams

    parts: list[str] = []
    prompt_tokens = 0
    try:
        for event in client.stream_completion(
            prompt, suffix, SamplingParams(temperature=0.0, max_tokens=_PROBE_TOKENS)
        ):
            parts.append(event.text)
            if event.stats:
                prompt_tokens = event.stats.prompt_tokens or 0
    except ClientError as exc:
        if exc.status in (401, 403, 429):
            raise  # not about FIM at all: the key, or the rate limit
        if exc.status is not None and 400 <= exc.status < 500:
            return _Answer(False, refusal=exc.what)
        return _Answer(False, refusal=f"the check failed: {exc.what}")
    return _Answer(True, "".join(parts), prompt_tokens)


def _family(answers: dict[str, _Answer], model: str) -> FimFormat | None:
    """The model's FIM family among the raw answers: fewest prompt tokens, else the name's hint."""
    usable = [fmt for fmt in formats_for(model) if answers[fmt.key].accepted and not answers[fmt.key].echoes_suffix]
    if not usable:
        return None
    counted = [fmt for fmt in usable if answers[fmt.key].prompt_tokens > 0]
    if len(counted) == len(usable) and len(counted) > 1:
        return min(counted, key=lambda fmt: answers[fmt.key].prompt_tokens)
    return usable[0]


def check_fim_support(client: Any, remote: RemoteEngine) -> FimSupport:
    """How (or why not) inline completion can work on this server: a few short greedy requests."""
    model = remote.model or ""
    with_suffix = _ask(client, _PROBE_PREFIX, _PROBE_SUFFIX)
    formats = formats_for(model)
    raw: dict[str, _Answer] = {}
    if with_suffix.accepted and with_suffix.fills_hole and not with_suffix.echoes_suffix:
        return FimSupport(FIM_SUFFIX, "Completion uses /v1/completions with suffix (the server filled a test hole)")
    for fmt in formats:
        raw[fmt.key] = _ask(client, fmt.prompt(_PROBE_PREFIX, _PROBE_SUFFIX), None)
    family = _family(raw, model)
    if with_suffix.accepted and not with_suffix.echoes_suffix:
        same = family is not None and raw[family.key].text == with_suffix.text
        if same or family is None or not _raw_is_better(raw[family.key], with_suffix):
            return FimSupport(FIM_SUFFIX, "Completion uses /v1/completions with suffix")
    if family is not None:
        why = (
            "the server's answer with 'suffix' repeated the text after the cursor"
            if with_suffix.echoes_suffix
            else "the server builds another prompt from 'suffix'"
            if with_suffix.accepted
            else f"the server does not take 'suffix' ({with_suffix.refusal})"
        )
        return FimSupport(FIM_RAW, f"Completion sends {family.label} FIM tokens as raw text: {why}", family.key)
    reasons = [
        "'suffix' "
        + ("gives the suffix's text back" if with_suffix.echoes_suffix else f"is refused: {with_suffix.refusal}"),
        "raw FIM prompts (" + ", ".join(f.label for f in formats) + ") are refused or give the suffix back",
    ]
    return FimSupport(FIM_OFF, "Completion is unavailable on this server: " + "; ".join(reasons))


def _raw_is_better(raw: _Answer, with_suffix: _Answer) -> bool:
    """Whether the family's raw answer should win over a different answer with `suffix`:
    yes unless the suffix answer fills the hole and the raw one does not."""
    return not (with_suffix.fills_hole and not raw.fills_hole)


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
        if fim is not None:
            message += f". {fim.reason}"
        return ProbeResult(True, message, models, fim)
    finally:
        client.close()
