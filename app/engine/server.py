"""The engine's HTTP API: one loaded model behind OpenAI-compatible routes.

The process around it (arguments, binding, the ready line) is app/engine/main.py.
Every request but /health needs the API key. Routes: /v1/models, /v1/chat/completions,
/v1/completions (with OpenAI's `suffix` for fill-in-the-middle, built from the
vocabulary's FIM tokens, on the completion context), /dscoder/info, /dscoder/count
(tokens of a chat, for the context meter), /dscoder/prefill (idle prefill), /health.

Streams are server-sent events (sse-starlette's EventSourceResponse). A comment ping
goes out every 50 ms, so a client that has gone away is noticed even during a long
prompt evaluation, and its generation is aborted. While a request waits for its
context, the stream carries chunks with no choices and `"dscoder": {"waiting": N}`
(N requests ahead); OpenAI clients skip them like usage chunks.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sse_starlette.event import ServerSentEvent
from sse_starlette.sse import EventSourceResponse

from app.config import sampling
from app.engine.abort import AbortFlag
from app.engine.requests import chat_messages, sampling_from
from app.engine.runtime import CHAT, EngineModel
from app.engine.scheduler import EngineBusy
from app.protocol.options import SamplingParams
from app.utils.errors import DscoderError, PromptError

log = logging.getLogger(__name__)

HEARTBEAT_S = 0.05

Events = Callable[[threading.Event, Callable[[int], None]], Iterator[Any]]


def _error_body(message: str, kind: str = "invalid_request_error", code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "code": code}}


class ApiKeyMiddleware:
    """Requires `Authorization: Bearer <key>` on every request but /health."""

    def __init__(self, app: Any, api_key: str | None) -> None:
        self.app = app
        self.expected = f"Bearer {api_key}".encode() if api_key else None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and self.expected and scope["path"] != "/health":
            given = dict(scope.get("headers") or []).get(b"authorization", b"")
            if not hmac.compare_digest(given, self.expected):
                response = JSONResponse(
                    _error_body("Missing or wrong API key", "authentication_error", "invalid_api_key"), status_code=401
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _status_of(exc: DscoderError) -> int:
    if isinstance(exc, PromptError):
        return 400
    if isinstance(exc, EngineBusy):
        return 503
    return 500


def sse_stream(events: Events, chunk: Callable[[Any], dict[str, Any] | None], waiting: Callable[[int], Any]) -> Any:
    """Run `events` on a thread and relay them as server-sent events."""

    async def relay() -> AsyncIterator[dict[str, str]]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        cancel = AbortFlag()

        def put(kind: str, payload: Any) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, (kind, payload))

        def produce() -> None:
            try:
                for event in events(cancel, lambda ahead: put("waiting", ahead)):
                    put("event", event)
            except DscoderError as exc:
                put("error", _error_body(str(exc), "server_error"))
            except Exception as exc:  # noqa: BLE001 - reported to the client, logged here
                log.exception("generation failed")
                put("error", _error_body(f"The engine failed while generating: {exc}", "server_error"))
            finally:
                put("end", None)

        threading.Thread(target=produce, name="generate", daemon=True).start()
        try:
            while True:
                kind, payload = await queue.get()
                if kind == "end":
                    break
                data = payload if kind == "error" else waiting(payload) if kind == "waiting" else chunk(payload)
                if data is not None:
                    yield {"data": json.dumps(data, ensure_ascii=False)}
            yield {"data": "[DONE]"}
        finally:
            cancel.set()  # the client left or the stream ended: stop generating

    return EventSourceResponse(
        relay(),
        ping=HEARTBEAT_S,
        ping_message_factory=lambda: ServerSentEvent(comment="ping"),
        headers={"Cache-Control": "no-cache"},
    )


async def collect(request: Request, events: Events) -> tuple[str, Any]:
    """Run `events` to the end for a non-streaming request; a client that leaves cancels it."""
    cancel = AbortFlag()

    def run() -> tuple[str, Any]:
        parts: list[str] = []
        last = None
        for event in events(cancel, lambda _ahead: None):
            parts.append(event.delta)
            if event.finish_reason:
                last = event
        return "".join(parts), last

    task = asyncio.ensure_future(asyncio.to_thread(run))
    while not task.done():
        await asyncio.wait({task}, timeout=HEARTBEAT_S)
        if not task.done() and await request.is_disconnected():
            cancel.set()
    return task.result()


def create_app(model: EngineModel, api_key: str | None) -> Any:
    """The FastAPI app serving `model`."""
    app = FastAPI(title="DeepSeek-Coder Desktop engine", docs_url=None, redoc_url=None)
    # A pure ASGI middleware: FastAPI's @app.middleware("http") would hide the client's
    # disconnect from streaming responses, and then a cancelled request keeps generating.
    app.add_middleware(ApiKeyMiddleware, api_key=api_key)

    @app.exception_handler(DscoderError)
    async def on_error(_request: Request, exc: DscoderError) -> Any:
        status = _status_of(exc)
        return JSONResponse(
            _error_body(str(exc), "invalid_request_error" if status == 400 else "server_error"), status_code=status
        )

    replies = _Replies(model)
    _add_engine_routes(app, model, replies.model_id)
    _add_chat_route(app, model, replies)
    _add_completion_route(app, model, replies)
    return app


async def read_body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise PromptError("The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise PromptError("The request body must be a JSON object")
    return body


class _Replies:
    """What every generation route shares: the model's id, the queue check, the reply parts."""

    def __init__(self, model: EngineModel) -> None:
        self.model = model
        self.model_id = os.path.splitext(os.path.basename(model.options.model_path))[0]

    def events_for(self, slot: str, tokens: list[int], params: SamplingParams) -> Events:
        """The request's events, with its place in the queue taken now: a full queue raises
        EngineBusy here, so the client gets a 503 before any stream starts."""
        reservation = self.model.scheduler.reserve(slot)
        return lambda cancel, on_wait: self.model.stream(slot, tokens, params, cancel, on_wait, reservation)

    def head(self, rid: str, created: int, kind: str) -> dict[str, Any]:
        return {"id": rid, "object": kind, "created": created, "model": self.model_id}

    @staticmethod
    def final_fields(event: Any, started: float) -> dict[str, Any]:
        usage = event.usage.as_dict() if event.usage else {}
        return {"usage": usage, "timings": {"total_ms": round((time.perf_counter() - started) * 1000, 2)}}

    def waiting(self, rid: str, created: int, kind: str) -> Callable[[int], dict[str, Any]]:
        return lambda ahead: {**self.head(rid, created, kind), "choices": [], "dscoder": {"waiting": ahead}}


def _add_engine_routes(app: Any, model: EngineModel, model_id: str) -> None:
    """Health, the model list, the engine's info, token counts and idle prefill."""

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    # The info takes locks (queues, cache) and reads /proc: off the event loop, so no
    # stream or heartbeat waits for it.
    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        meta = await asyncio.to_thread(model.info)
        return {"object": "list", "data": [{"id": model_id, "object": "model", "owned_by": "local", "meta": meta}]}

    @app.get("/dscoder/info")
    async def info() -> dict[str, Any]:
        return await asyncio.to_thread(model.info)

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
        events = replies.events_for(CHAT, tokens, params)

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

        return sse_stream(events, chunk, replies.waiting(rid, created, "chat.completion.chunk"))


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
        events = replies.events_for(slot, tokens, params)

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

        return sse_stream(events, chunk, replies.waiting(rid, created, "text_completion"))
