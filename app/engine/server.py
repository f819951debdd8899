"""The engine's HTTP API: one loaded model behind OpenAI-compatible routes.

The process around it (arguments, binding, the ready line) is app/engine/main.py.
Every request but /health needs the API key. Routes: /v1/models, /v1/chat/completions, /v1/completions (with OpenAI's `suffix` for
fill-in-the-middle, built from the vocabulary's FIM tokens), /dscoder/info,
/dscoder/count (tokens of a chat, for the context meter), /health.

While a request streams, a comment line (": ping") goes out every 50 ms of silence,
so a client that has gone away is noticed even during a long prompt evaluation,
and the generation is aborted.
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
from fastapi.responses import JSONResponse, StreamingResponse

from app.config import sampling
from app.engine.runtime import AbortFlag
from app.llm.options import SamplingParams
from app.utils.errors import DscoderError, PromptError

log = logging.getLogger(__name__)

HEARTBEAT_S = 0.05


def _error_body(message: str, kind: str = "invalid_request_error", code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "code": code}}


def _sampling_from(body: dict[str, Any], default_max: int) -> SamplingParams:
    def num(key: str, default: float, cast: Callable[[Any], Any] = float) -> Any:
        value = body.get(key)
        if value is None:
            return default
        try:
            return cast(value)
        except (TypeError, ValueError):
            raise PromptError(f"'{key}' must be a number, not {value!r}") from None

    stop = body.get("stop") or ()
    if isinstance(stop, str):
        stop = (stop,)
    if not isinstance(stop, (list, tuple)) or not all(isinstance(s, str) for s in stop):
        raise PromptError("'stop' must be a string or a list of strings")
    max_tokens = body.get("max_tokens", body.get("max_completion_tokens"))
    return SamplingParams(
        temperature=num("temperature", sampling.TEMPERATURE),
        top_p=num("top_p", sampling.TOP_P),
        top_k=num("top_k", sampling.TOP_K, int),
        min_p=num("min_p", sampling.MIN_P),
        repeat_penalty=num("repeat_penalty", sampling.REPEAT_PENALTY),
        max_tokens=int(max_tokens) if max_tokens is not None else default_max,
        seed=num("seed", -1, int),
        stop=tuple(stop),
    )


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


def create_app(model: Any, api_key: str | None) -> Any:
    """The FastAPI app serving `model` (an EngineModel)."""
    app = FastAPI(title="DeepSeek-Coder Desktop engine", docs_url=None, redoc_url=None)
    model_id = os.path.splitext(os.path.basename(model.options.model_path))[0]

    # A pure ASGI middleware: FastAPI's @app.middleware("http") would hide the client's
    # disconnect from streaming responses, and then a cancelled request keeps generating.
    app.add_middleware(ApiKeyMiddleware, api_key=api_key)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {
            "object": "list",
            "data": [{"id": model_id, "object": "model", "owned_by": "local", "meta": model.info()}],
        }

    @app.get("/dscoder/info")
    async def info() -> dict[str, Any]:
        return model.info()

    async def read_body(request: Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            raise PromptError("The request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise PromptError("The request body must be a JSON object")
        return body

    def check_messages(body: dict[str, Any]) -> list[dict[str, str]]:
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise PromptError("'messages' must be a non-empty list")
        clean = []
        for m in messages:
            if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant"):
                raise PromptError("Each message needs a role of system, user or assistant")
            content = m.get("content", "")
            if isinstance(content, list):  # OpenAI content parts: keep the text parts
                content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
            if not isinstance(content, str):
                raise PromptError("A message's content must be text")
            clean.append({"role": m["role"], "content": content})
        return clean

    @app.post("/dscoder/count")
    async def count(request: Request) -> Any:
        body = await read_body(request)
        messages = check_messages(body)
        if model.chat_format is None:
            raise PromptError(model.chat_format_error or "This model has no chat format")
        prompt = await asyncio.to_thread(model.chat_format.render, messages)
        tokens = await asyncio.to_thread(model.count_tokens, prompt)
        return {"prompt_tokens": tokens, "n_ctx": model.n_ctx}

    @app.exception_handler(DscoderError)
    async def on_error(_request: Request, exc: DscoderError) -> Any:
        status = 400 if isinstance(exc, PromptError) else 500
        return JSONResponse(
            _error_body(str(exc), "invalid_request_error" if status == 400 else "server_error"), status_code=status
        )

    def run_stream(
        events: Callable[[threading.Event], Iterator[Any]],
        chunk: Callable[[Any], dict[str, Any] | None],
    ) -> AsyncIterator[str]:
        """Run `events` on a thread under the model lock and relay them as SSE."""

        async def relay() -> AsyncIterator[str]:
            loop = asyncio.get_running_loop()
            queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
            cancel = AbortFlag()

            def produce() -> None:
                def put(kind: str, payload: Any) -> None:
                    loop.call_soon_threadsafe(queue.put_nowait, (kind, payload))

                try:
                    with model.lock:
                        if not cancel.is_set():
                            for event in events(cancel):
                                put("event", event)
                except DscoderError as exc:
                    put("error", str(exc))
                except Exception as exc:  # noqa: BLE001 - reported to the client, logged here
                    log.exception("generation failed")
                    put("error", f"The engine failed while generating: {exc}")
                finally:
                    put("end", None)

            threading.Thread(target=produce, name="generate", daemon=True).start()
            try:
                while True:
                    try:
                        kind, payload = await asyncio.wait_for(queue.get(), HEARTBEAT_S)
                    except TimeoutError:
                        yield ": ping\n\n"
                        continue
                    if kind == "end":
                        break
                    if kind == "error":
                        yield f"data: {json.dumps(_error_body(payload, 'server_error'))}\n\n"
                        continue
                    data = chunk(payload)
                    if data is not None:
                        yield f"data: {json.dumps(data, ensure_ascii=False)}\n\n"
                yield "data: [DONE]\n\n"
            finally:
                cancel.set()  # the client left or the stream ended: stop generating

        return relay()

    def collect(events: Callable[[threading.Event], Iterator[Any]]) -> tuple[str, Any]:
        cancel = threading.Event()
        parts: list[str] = []
        last = None
        with model.lock:
            for event in events(cancel):
                parts.append(event.delta)
                if event.finish_reason:
                    last = event
        return "".join(parts), last

    def final_fields(event: Any, started: float) -> dict[str, Any]:
        usage = event.usage.as_dict() if event.usage else {}
        return {"usage": usage, "timings": {"total_ms": round((time.perf_counter() - started) * 1000, 2)}}

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Any:
        started = time.perf_counter()
        body = await read_body(request)
        messages = check_messages(body)
        params = _sampling_from(body, default_max=sampling.CHAT_MAX_TOKENS)
        fitted = await asyncio.to_thread(model.prepare_chat, messages, params.max_tokens)
        params = SamplingParams(**{**params.__dict__, "max_tokens": fitted.max_tokens})
        tokens = await asyncio.to_thread(model.tokenize_prompt, fitted.prompt)
        rid, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())
        notes = {"notes": fitted.notes, "dropped_turns": fitted.dropped_turns, "prompt_tokens": len(tokens)}

        def events(cancel: threading.Event) -> Iterator[Any]:
            return model.generate(tokens, params, cancel)

        if not body.get("stream"):
            text, last = await asyncio.to_thread(collect, events)
            return {
                "id": rid,
                "object": "chat.completion",
                "created": created,
                "model": model_id,
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": last.finish_reason}
                ],
                "dscoder": notes,
                **final_fields(last, started),
            }

        first = [True]

        def chunk(event: Any) -> dict[str, Any] | None:
            delta: dict[str, Any] = {"content": event.delta} if event.delta else {}
            data: dict[str, Any] = {"id": rid, "object": "chat.completion.chunk", "created": created, "model": model_id}
            if first[0]:
                delta["role"] = "assistant"
                data["dscoder"] = notes
                first[0] = False
            data["choices"] = [{"index": 0, "delta": delta, "finish_reason": event.finish_reason}]
            if event.finish_reason:
                data.update(final_fields(event, started))
            return data

        return StreamingResponse(run_stream(events, chunk), media_type="text/event-stream")

    @app.post("/v1/completions")
    async def completions(request: Request) -> Any:
        started = time.perf_counter()
        body = await read_body(request)
        prompt = body.get("prompt", "")
        if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
            prompt = prompt[0]
        suffix = body.get("suffix")
        params = _sampling_from(body, default_max=sampling.COMPLETION_MAX_TOKENS)
        if isinstance(prompt, list) and all(isinstance(t, int) for t in prompt):
            tokens = list(prompt)
        elif not isinstance(prompt, str):
            raise PromptError("'prompt' must be a string or a list of token ids")
        elif suffix is not None:
            if not isinstance(suffix, str):
                raise PromptError("'suffix' must be a string")
            tokens = await asyncio.to_thread(model.fim_tokens, prompt, suffix, params.max_tokens)
        else:
            tokens = await asyncio.to_thread(model.tokenize_prompt, prompt)
        rid, created = f"cmpl-{uuid.uuid4().hex[:24]}", int(time.time())

        def events(cancel: threading.Event) -> Iterator[Any]:
            return model.generate(tokens, params, cancel)

        if not body.get("stream"):
            text, last = await asyncio.to_thread(collect, events)
            return {
                "id": rid,
                "object": "text_completion",
                "created": created,
                "model": model_id,
                "choices": [{"index": 0, "text": text, "finish_reason": last.finish_reason, "logprobs": None}],
                **final_fields(last, started),
            }

        def chunk(event: Any) -> dict[str, Any]:
            data: dict[str, Any] = {
                "id": rid,
                "object": "text_completion",
                "created": created,
                "model": model_id,
                "choices": [{"index": 0, "text": event.delta, "finish_reason": event.finish_reason, "logprobs": None}],
            }
            if event.finish_reason:
                data.update(final_fields(event, started))
            return data

        return StreamingResponse(run_stream(events, chunk), media_type="text/event-stream")

    return app
