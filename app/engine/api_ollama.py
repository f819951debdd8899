"""Ollama's API, the one Continue, Zed, Open WebUI and many others support, translated onto
the same runtime: /api/chat and /api/generate (NDJSON streams, or one object), /api/tags,
/api/show, /api/ps, /api/version, and /api/embed answered with a 501.

- The model is the one loaded: its name is the id /v1/models reports, `dscoder` is an
  alias, and Ollama's `:latest` tag may follow either; any other name gets a 404 that
  names the loaded model.
- /api/generate with `suffix` is fill-in-the-middle on the completion context, with the
  app's FIM stop rules; `raw` sends the prompt as it is (special tokens included);
  otherwise the prompt (and `system`) go through the chat template.
- `options` map onto the sampler: num_predict (-1 and -2: as many as fit), temperature,
  top_p, top_k, min_p, repeat_penalty, seed, stop; num_ctx narrows the context up to the
  loaded one. Options Ollama has and this engine does not (mirostat, num_thread, ...)
  are accepted and have no effect; `keep_alive` too (the app decides what stays loaded).
- A request with only a model (no prompt, no messages) is Ollama's "load the model":
  it answers at once with `done_reason: "load"`.
- Errors are Ollama's: `{"error": "..."}`.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse

from app import __version__
from app.config import sampling
from app.engine.editor_rules import EditorRules, limited
from app.engine.prompts import Message
from app.engine.requests import chat_messages, sampling_from
from app.engine.runtime import CHAT, EngineModel
from app.engine.streaming import Events, NotFound, NotServed, collect, events_for, model_id_of, ndjson_stream, read_body
from app.protocol.fim_rules import FimFilter
from app.protocol.options import SamplingParams
from app.utils.errors import PromptError

ALIAS = "dscoder"
_OPTION_KEYS = {
    "temperature": "temperature",
    "top_p": "top_p",
    "top_k": "top_k",
    "min_p": "min_p",
    "repeat_penalty": "repeat_penalty",
    "seed": "seed",
    "stop": "stop",
}
_FOREVER = "2099-01-01T00:00:00Z"


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class _Served:
    """The loaded model as Ollama describes a model."""

    def __init__(self, model: EngineModel) -> None:
        self.model = model
        self.name = model_id_of(model)
        self.digest = hashlib.sha256(self.name.encode()).hexdigest()
        self.loaded_at = _now()

    def check(self, body: dict[str, Any]) -> str:
        """The model a request names, checked: 404 for any but the loaded one."""
        name = body.get("model", body.get("name"))
        if not isinstance(name, str) or not name:
            raise PromptError(f"'model' is required: this server serves {self.name!r} (also called {ALIAS!r})")
        base = name.removesuffix(":latest")
        if base not in (self.name, ALIAS):
            raise NotFound(f"model {name!r} not found: this server serves {self.name!r} (also called {ALIAS!r})")
        return name

    async def open(self, request: Request) -> tuple[float, dict[str, Any], str, dict[str, Any]]:
        """A generation request read and checked: (when it came, its body, its model, its options)."""
        started = time.perf_counter()
        body = await read_body(request)
        return started, body, self.check(body), _options(body)

    def details(self) -> dict[str, Any]:
        arch = self.model.architecture
        return {
            "parent_model": "",
            "format": "gguf",
            "family": arch,
            "families": [arch],
            "parameter_size": _size_label(self.model.info().get("n_params")),
            "quantization_level": "",
        }

    def entry(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "model": self.name,
            "modified_at": self.loaded_at,
            "size": self.model.info().get("model_size_bytes", 0),
            "digest": self.digest,
            "details": self.details(),
        }


def _size_label(n_params: object) -> str:
    if not isinstance(n_params, int) or n_params <= 0:
        return ""
    return f"{n_params / 1e9:.1f}B" if n_params >= 1e9 else f"{n_params / 1e6:.0f}M"


def _options(body: dict[str, Any]) -> dict[str, Any]:
    options = body.get("options") or {}
    if not isinstance(options, dict):
        raise PromptError("'options' must be an object")
    keep_alive = body.get("keep_alive")
    if keep_alive is not None and (isinstance(keep_alive, bool) or not isinstance(keep_alive, (str, int, float))):
        raise PromptError("'keep_alive' must be a duration such as \"5m\" or a number of seconds")
    if body.get("format") not in (None, ""):
        raise PromptError("Structured output ('format') is not supported by this server; leave it out")
    for key in ("num_predict", "num_ctx"):
        value = options.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise PromptError(f"options.{key} must be a whole number, not {value!r}")
    return options


def _params(options: dict[str, Any], room: int, default_max: int) -> SamplingParams:
    chosen = {ours: options[theirs] for theirs, ours in _OPTION_KEYS.items() if options.get(theirs) is not None}
    n_predict = options.get("num_predict")
    if n_predict is not None:
        if n_predict < -2 or n_predict == 0:
            raise PromptError(f"options.num_predict must be -1, -2 or a positive number, not {n_predict}")
        chosen["max_tokens"] = room if n_predict < 0 else n_predict
    try:
        return sampling_from(chosen, default_max=default_max)
    except PromptError as exc:
        raise PromptError(f"In 'options': {exc.what}") from None


def _window(model: EngineModel, options: dict[str, Any]) -> int:
    """num_ctx, honoured up to the loaded context."""
    num_ctx = options.get("num_ctx")
    return min(num_ctx, model.n_ctx) if isinstance(num_ctx, int) and num_ctx > 0 else model.n_ctx


def _durations(event: Any, started: float) -> dict[str, Any]:
    usage = event.usage
    return {
        "done_reason": "stop" if event.finish_reason == "stop" else "length",
        "total_duration": int((time.perf_counter() - started) * 1e9),
        "load_duration": 0,
        "prompt_eval_count": usage.prompt_tokens if usage else 0,
        "prompt_eval_duration": int((usage.prompt_ms if usage else 0) * 1e6),
        "eval_count": usage.completion_tokens if usage else 0,
        "eval_duration": int((usage.decode_ms if usage else 0) * 1e6),
    }


def _messages(body: dict[str, Any]) -> list[Message]:
    messages = body.get("messages")
    if isinstance(messages, list) and any(isinstance(m, dict) and m.get("images") for m in messages):
        raise PromptError("Images are not supported: the loaded model reads text only")
    return chat_messages(body)


def add_ollama_routes(app: FastAPI, model: EngineModel) -> None:
    served = _Served(model)

    @app.get("/")
    async def root() -> Any:
        return PlainTextResponse("DeepSeek-Coder Desktop is running (Ollama's API is under /api)")

    @app.get("/api/version")
    async def version() -> dict[str, str]:
        return {"version": __version__}

    @app.get("/api/tags")
    async def tags() -> dict[str, Any]:
        return {"models": [served.entry()]}

    @app.get("/api/ps")
    async def ps() -> dict[str, Any]:
        entry = served.entry()
        gpu = model.options.n_gpu_layers != 0
        return {
            "models": [
                {
                    **entry,
                    "expires_at": _FOREVER,
                    "size_vram": entry["size"] if gpu else 0,
                    "context_length": model.n_ctx,
                }
            ]
        }

    @app.post("/api/show")
    async def show(request: Request) -> dict[str, Any]:
        body = await read_body(request)
        served.check(body)
        info = model.info()
        arch = model.architecture
        template = model.metadata.get("tokenizer.chat_template", "")
        capabilities = ["completion"] + (["insert"] if model.has_fim else [])
        return {
            "license": "",
            "modelfile": f"# Served by DeepSeek-Coder Desktop\nFROM {served.name}\n",
            "parameters": f"num_ctx {model.n_ctx}",
            "template": template,
            "details": served.details(),
            "model_info": {
                "general.architecture": arch,
                "general.name": info.get("model_name"),
                "general.parameter_count": info.get("n_params"),
                f"{arch}.context_length": model.n_ctx,
            },
            "capabilities": capabilities,
            "modified_at": served.loaded_at,
        }

    @app.post("/api/embed")
    @app.post("/api/embeddings")
    async def embed(request: Request) -> Any:
        raise NotServed(
            "Embeddings are not served: this server runs one code model for chat and completion",
            "Use another server for embeddings",
        )

    @app.post("/api/chat")
    async def chat(request: Request) -> Any:
        started, body, name, options = await served.open(request)

        def message(text: str) -> dict[str, Any]:
            return {"model": name, "created_at": _now(), "message": {"role": "assistant", "content": text}}

        if not body.get("messages"):
            return {**message(""), "done": True, "done_reason": "load"}
        messages = _messages(body)
        window = _window(model, options)
        params = _params(options, window // 2, sampling.CHAT_MAX_TOKENS)
        fitted = await asyncio.to_thread(model.prepare_chat, messages, params.max_tokens, window)
        params = SamplingParams(**{**params.__dict__, "max_tokens": fitted.max_tokens})
        tokens = await asyncio.to_thread(model.tokenize_prompt, fitted.prompt)
        events = events_for(model, CHAT, tokens, params)
        return await _answer(request, body, events, message, started)

    @app.post("/api/generate")
    async def generate(request: Request) -> Any:
        started, body, name, options = await served.open(request)
        prompt, suffix, system = (_string(body, key) for key in ("prompt", "suffix", "system"))
        if body.get("images"):
            raise PromptError("Images are not supported: the loaded model reads text only")

        def piece(text: str) -> dict[str, Any]:
            return {"model": name, "created_at": _now(), "response": text}

        if not prompt and not suffix:
            return {**piece(""), "done": True, "done_reason": "load"}
        window = _window(model, options)
        events = await _generation(model, body, options, window, prompt, suffix, system)
        return await _answer(request, body, events, piece, started)


def _string(body: dict[str, Any], key: str) -> str:
    value = body.get(key) or ""
    if not isinstance(value, str):
        raise PromptError(f"'{key}' must be a string")
    return value


async def _generation(
    model: EngineModel,
    body: dict[str, Any],
    options: dict[str, Any],
    window: int,
    prompt: str,
    suffix: str,
    system: str,
) -> Events:
    """The generation a /api/generate request asks for: FIM, a raw prompt, or a chat turn."""
    if suffix:
        params = _params(options, window // 2, sampling.COMPLETION_MAX_TOKENS)
        slot = model.fim_slot
        budget = min(window, model.slots[slot].n_ctx)
        if budget - params.max_tokens < 8:
            raise PromptError(
                f"options.num_predict {params.max_tokens} leaves no room for the prompt in {budget} tokens"
            )
        tokens = await asyncio.to_thread(model.vocab.fim_tokens, prompt, suffix, budget - params.max_tokens)
        rules = lambda: EditorRules(FimFilter(prompt, suffix))  # noqa: E731 - one line, used once
        return limited(events_for(model, slot, tokens, params), rules, lambda _rules: None)
    if body.get("raw"):
        tokens = await asyncio.to_thread(model.tokenize_prompt, prompt)
        slot = model.fim_slot if model.has_fim and model.vocab.fim_ids[2] in tokens else CHAT
    else:
        messages: list[Message] = [{"role": "system", "content": system}] if system else []
        messages.append({"role": "user", "content": prompt})
        fitted = await asyncio.to_thread(model.prepare_chat, messages, sampling.CHAT_MAX_TOKENS, window)
        tokens, slot = await asyncio.to_thread(model.tokenize_prompt, fitted.prompt), CHAT
    limit = min(window, model.slots[slot].n_ctx)
    if len(tokens) + 1 > limit:
        raise PromptError(
            f"The prompt is {len(tokens)} tokens but the context holds {limit}",
            "Shorten the prompt, or raise num_ctx (up to the loaded context)",
        )
    params = _params(options, limit - len(tokens) - 1, sampling.CHAT_MAX_TOKENS)
    params = SamplingParams(**{**params.__dict__, "max_tokens": min(params.max_tokens, limit - len(tokens) - 1)})
    return events_for(model, slot, tokens, params)


async def _answer(request: Request, body: dict[str, Any], events: Events, part: Any, started: float) -> Any:
    """Ollama's reply: NDJSON pieces and a last object with the counts, or one object."""
    if body.get("stream", True):

        def chunk(event: Any) -> dict[str, Any] | None:
            if event.finish_reason:
                return {**part(""), "done": True, **_durations(event, started)}
            return {**part(event.delta), "done": False} if event.delta else None

        return ndjson_stream(events, chunk, lambda message: {"error": message})
    text, last = await collect(request, events)
    return {**part(text), "done": True, **_durations(last, started)}
