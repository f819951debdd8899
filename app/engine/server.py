"""The engine's HTTP API: one loaded model behind OpenAI-compatible routes, and the other
APIs editors speak (llama-server's in api_llama_server.py, Ollama's in api_ollama.py), all
on the same runtime, queues and caches.

The process around it (arguments, binding, the ready line) is app/engine/main.py. The
key, the error shapes and the client count are app/engine/access.py. Every request but
/health needs the API key (unless a loopback engine serving other programs lets keyless
requests in). OpenAI routes: /v1/models, /v1/chat/completions,
/v1/completions (with OpenAI's `suffix` for fill-in-the-middle, built from the
vocabulary's FIM tokens, on the completion context), /dscoder/info, /dscoder/count
(tokens of a chat, for the context meter), /dscoder/prefill (idle prefill), /health.

Streams are server-sent events (sse-starlette's EventSourceResponse). A comment ping
goes out every 50 ms, so a client that has gone away is noticed even during a long
prompt evaluation, and its generation is aborted. While a request waits for its
context, the stream carries chunks with no choices and `"dscoder": {"waiting": N}`
(N requests ahead); OpenAI clients skip them like usage chunks. With
`stream_options.include_usage`, a last chunk with no choices carries the usage.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from app.config import sampling
from app.engine.access import (
    ApiKeyMiddleware,
    ClientCounter,
    ClientCountMiddleware,
    error_response,
    public_info,
)
from app.engine.api_llama_server import add_llama_server_routes
from app.engine.api_ollama import add_ollama_routes
from app.engine.requests import chat_messages, sampling_from
from app.engine.runtime import CHAT, EngineModel
from app.engine.streaming import collect, events_for, model_id_of, read_body, sse_stream, status_of
from app.protocol.options import SamplingParams
from app.utils.errors import DscoderError, PromptError


def create_app(model: EngineModel, api_key: str | None, keyless: bool = False) -> Any:
    """The FastAPI app serving `model`; `keyless`: requests without a key are let in (a
    loopback engine that serves other programs; see app.engine.access)."""
    app = FastAPI(title="DeepSeek-Coder Desktop engine", docs_url=None, redoc_url=None)
    clients = ClientCounter()
    # Pure ASGI middlewares: FastAPI's @app.middleware("http") would hide the client's
    # disconnect from streaming responses, and then a cancelled request keeps generating.
    app.add_middleware(ClientCountMiddleware, counter=clients)
    app.add_middleware(ApiKeyMiddleware, api_key=api_key, keyless=keyless)

    @app.exception_handler(DscoderError)
    async def on_error(request: Request, exc: DscoderError) -> Any:
        return error_response(request.url.path, status_of(exc), str(exc))

    async def on_http_error(request: Request, exc: Any) -> Any:
        status = int(getattr(exc, "status_code", 404))
        message = "No such endpoint" if status == 404 else str(getattr(exc, "detail", "Not allowed"))
        return error_response(request.url.path, status, f"{message}: {request.method} {request.url.path}")

    for status in (404, 405):  # the router's own errors, in the words of the API asked
        app.add_exception_handler(status, on_http_error)

    replies = _Replies(model)
    _add_engine_routes(app, model, replies.model_id, clients)
    _add_chat_route(app, model, replies)
    _add_completion_route(app, model, replies)
    add_llama_server_routes(app, model)
    add_ollama_routes(app, model)
    return app


class _Replies:
    """What every generation route shares: the model's id, the queue check, the reply parts."""

    def __init__(self, model: EngineModel) -> None:
        self.model = model
        self.model_id = model_id_of(model)

    def head(self, rid: str, created: int, kind: str) -> dict[str, Any]:
        return {"id": rid, "object": kind, "created": created, "model": self.model_id}

    @staticmethod
    def final_fields(event: Any, started: float) -> dict[str, Any]:
        usage = event.usage.as_dict() if event.usage else {}
        return {"usage": usage, "timings": {"total_ms": round((time.perf_counter() - started) * 1000, 2)}}

    def usage_chunk(self, body: dict[str, Any], rid: str, created: int, kind: str) -> Callable[[Any], Any]:
        """OpenAI's `stream_options.include_usage`: after the last choice, a chunk with none and the usage."""
        options = body.get("stream_options")
        if options is not None and not isinstance(options, dict):
            raise PromptError("'stream_options' must be an object")
        wanted = bool((options or {}).get("include_usage"))

        def extra(event: Any) -> Any:
            if not wanted or not event.finish_reason:
                return None
            usage = event.usage.as_dict() if event.usage else {}
            return {**self.head(rid, created, kind), "choices": [], "usage": usage}

        return extra

    def waiting(self, rid: str, created: int, kind: str) -> Callable[[int], dict[str, Any]]:
        return lambda ahead: {**self.head(rid, created, kind), "choices": [], "dscoder": {"waiting": ahead}}


def _add_engine_routes(app: Any, model: EngineModel, model_id: str, clients: ClientCounter) -> None:
    """Health, the model list, the engine's info, token counts and idle prefill."""

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    # The info takes locks (queues, cache) and reads /proc: off the event loop, so no
    # stream or heartbeat waits for it.
    @app.get("/v1/models")
    @app.get("/models")
    async def models() -> dict[str, Any]:
        meta = public_info(await asyncio.to_thread(model.info))
        return {"object": "list", "data": [{"id": model_id, "object": "model", "owned_by": "local", "meta": meta}]}

    @app.get("/dscoder/info")
    async def info() -> dict[str, Any]:
        return {**public_info(await asyncio.to_thread(model.info)), "clients": clients.status()}

    @app.post("/dscoder/count")
    async def count(request: Request) -> Any:
        messages = chat_messages(await read_body(request))
        if model.chat_format is None:
            raise PromptError(model.chat_format_error or "This model has no chat format")
        prompt = await asyncio.to_thread(model.chat_format.render, messages)
        tokens = await asyncio.to_thread(model.count_tokens, prompt)
        return {"prompt_tokens": tokens, "n_ctx": model.n_ctx}

    @app.post("/dscoder/prefill")
    async def prefill(request: Request) -> Any:
        messages = chat_messages(await read_body(request))
        tokens = await asyncio.to_thread(model.prefill, messages)
        return JSONResponse({"prompt_tokens": tokens, "scheduled": True}, status_code=202)


def _add_chat_route(app: Any, model: EngineModel, replies: _Replies) -> None:
    @app.post("/v1/chat/completions")
    @app.post("/chat/completions")  # llama-server's path too: Continue's llama.cpp provider posts here
    async def chat(request: Request) -> Any:
        started = time.perf_counter()
        body = await read_body(request)
        messages = chat_messages(body)
        params = sampling_from(body, default_max=sampling.CHAT_MAX_TOKENS)
        fitted = await asyncio.to_thread(model.prepare_chat, messages, params.max_tokens)
        params = SamplingParams(**{**params.__dict__, "max_tokens": fitted.max_tokens})
        tokens = await asyncio.to_thread(model.tokenize_prompt, fitted.prompt)
        rid, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())
        notes = {"notes": fitted.notes, "dropped_turns": fitted.dropped_turns, "prompt_tokens": len(tokens)}
        events = events_for(model, CHAT, tokens, params)

        if not body.get("stream"):
            text, last = await collect(request, events)
            message = {"role": "assistant", "content": text}
            return {
                **replies.head(rid, created, "chat.completion"),
                "choices": [{"index": 0, "message": message, "finish_reason": last.finish_reason}],
                "dscoder": notes,
                **replies.final_fields(last, started),
            }

        first = [True]

        def chunk(event: Any) -> dict[str, Any]:
            delta: dict[str, Any] = {"content": event.delta} if event.delta else {}
            data = replies.head(rid, created, "chat.completion.chunk")
            if first[0]:
                delta["role"] = "assistant"
                data["dscoder"] = notes
                first[0] = False
            data["choices"] = [{"index": 0, "delta": delta, "finish_reason": event.finish_reason}]
            if event.finish_reason:
                data.update(replies.final_fields(event, started))
            return data

        usage = replies.usage_chunk(body, rid, created, "chat.completion.chunk")
        return sse_stream(
            events,
            lambda e: [c for c in (chunk(e), usage(e)) if c],
            replies.waiting(rid, created, "chat.completion.chunk"),
        )


async def _completion_tokens(model: EngineModel, body: dict[str, Any], params: SamplingParams) -> tuple[str, list[int]]:
    """(the context slot, the prompt's tokens): token ids as given, a FIM prompt, or plain text."""
    prompt = body.get("prompt", "")
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
        prompt = prompt[0]
    suffix = body.get("suffix")
    if isinstance(prompt, list) and prompt and all(isinstance(t, int) and not isinstance(t, bool) for t in prompt):
        return CHAT, list(prompt)
    if not isinstance(prompt, str):
        raise PromptError("'prompt' must be a string or a list of token ids")
    if suffix is None:
        return CHAT, await asyncio.to_thread(model.tokenize_prompt, prompt)
    if not isinstance(suffix, str):
        raise PromptError("'suffix' must be a string")
    return model.fim_slot, await asyncio.to_thread(model.fim_tokens, prompt, suffix, params.max_tokens)


def _add_completion_route(app: Any, model: EngineModel, replies: _Replies) -> None:
    @app.post("/v1/completions")
    async def completions(request: Request) -> Any:
        started = time.perf_counter()
        body = await read_body(request)
        params = sampling_from(body, default_max=sampling.COMPLETION_MAX_TOKENS)
        slot, tokens = await _completion_tokens(model, body, params)
        rid, created = f"cmpl-{uuid.uuid4().hex[:24]}", int(time.time())
        events = events_for(model, slot, tokens, params)

        if not body.get("stream"):
            text, last = await collect(request, events)
            return {
                **replies.head(rid, created, "text_completion"),
                "choices": [{"index": 0, "text": text, "finish_reason": last.finish_reason, "logprobs": None}],
                **replies.final_fields(last, started),
            }

        def chunk(event: Any) -> dict[str, Any]:
            data = replies.head(rid, created, "text_completion")
            data["choices"] = [
                {"index": 0, "text": event.delta, "finish_reason": event.finish_reason, "logprobs": None}
            ]
            if event.finish_reason:
                data.update(replies.final_fields(event, started))
            return data

        usage = replies.usage_chunk(body, rid, created, "text_completion")
        return sse_stream(
            events, lambda e: [c for c in (chunk(e), usage(e)) if c], replies.waiting(rid, created, "text_completion")
        )
