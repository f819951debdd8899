"""What every API module of the engine shares: reading a body, running a generation on a
thread, and relaying its events as server-sent events or NDJSON, or collecting them.

Each API (OpenAI's in app/engine/server.py, llama-server's in api_llama_server.py,
Ollama's in api_ollama.py) is a thin translation onto the same `EngineModel.stream`: the
same fair queues, contexts and caches. A client that goes away sets the request's
AbortFlag, and the engine stops generating at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from fastapi import Request
from fastapi.responses import StreamingResponse
from sse_starlette.event import ServerSentEvent
from sse_starlette.sse import EventSourceResponse

from app.engine.abort import AbortFlag
from app.engine.runtime import EngineModel
from app.engine.scheduler import EngineBusy
from app.protocol.options import SamplingParams
from app.utils.errors import DscoderError, PromptError

log = logging.getLogger(__name__)

HEARTBEAT_S = 0.05

Events = Callable[[threading.Event, Callable[[int], None]], Iterator[Any]]
ErrorShape = Callable[[str], dict[str, Any]]


def openai_error(message: str, kind: str = "invalid_request_error", code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "code": code}}


class NotFound(PromptError):
    """A request that names something the engine does not have (a model): a 404."""

    http_status = 404


class NotServed(PromptError):
    """A request the engine understands but does not serve (embeddings): a 501."""

    http_status = 501


def status_of(exc: DscoderError) -> int:
    status = getattr(exc, "http_status", None)
    if isinstance(status, int):
        return status
    if isinstance(exc, PromptError):
        return 400
    if isinstance(exc, EngineBusy):
        return 503
    return 500


def model_id_of(model: EngineModel) -> str:
    """The name clients use for the loaded model: its file name without .gguf (never a path)."""
    return os.path.splitext(os.path.basename(model.options.model_path))[0]


async def read_body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise PromptError("The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise PromptError("The request body must be a JSON object")
    return body


def events_for(model: EngineModel, slot: str, tokens: list[int], params: SamplingParams) -> Events:
    """A generation on `slot`, to run on a thread; a 400 at once when the prompt can't fit
    (never a silent cut, and never an error in the middle of a stream), a 503 when the
    queue is full."""
    n_ctx = model.slots[slot].n_ctx
    if len(tokens) + 1 > n_ctx:
        raise PromptError(
            f"The prompt is {len(tokens)} tokens but the {slot} context holds {n_ctx}",
            "Shorten the prompt, or load the model with a larger context",
        )
    # The place in the queue is taken now, in one step with the check: a full queue raises
    # EngineBusy here, so the client gets a 503 before any stream starts.
    reservation = model.scheduler.reserve(slot)
    return lambda cancel, on_wait: model.stream(slot, tokens, params, cancel, on_wait, reservation)


async def relay(events: Events, error_shape: ErrorShape) -> AsyncIterator[tuple[str, Any]]:
    """Run `events` on a thread; yield ("event", e), ("waiting", n) and ("error", body).
    Leaving the loop early (the client left) cancels the generation."""
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
            put("error", error_shape(str(exc)))
        except Exception as exc:  # noqa: BLE001 - reported to the client, logged here
            log.exception("generation failed")
            put("error", error_shape(f"The engine failed while generating: {exc}"))
        finally:
            put("end", None)

    threading.Thread(target=produce, name="generate", daemon=True).start()
    try:
        while True:
            kind, payload = await queue.get()
            if kind == "end":
                break
            yield kind, payload
    finally:
        cancel.set()  # the client left or the stream ended: stop generating


def sse_stream(
    events: Events,
    chunk: Callable[[Any], dict[str, Any] | list[dict[str, Any]] | None],
    waiting: Callable[[int], Any],
    *,
    error_shape: ErrorShape = lambda message: openai_error(message, "server_error"),
    done_marker: bool = True,
) -> Any:
    """Relay `events` as server-sent events (OpenAI's end with `[DONE]`, llama-server's don't);
    `chunk` may turn one event into several messages."""

    async def messages() -> AsyncIterator[dict[str, str]]:
        async for kind, payload in relay(events, error_shape):
            data = payload if kind == "error" else waiting(payload) if kind == "waiting" else chunk(payload)
            for item in data if isinstance(data, list) else [data] if data is not None else []:
                yield {"data": json.dumps(item, ensure_ascii=False)}
        if done_marker:
            yield {"data": "[DONE]"}

    return EventSourceResponse(
        messages(),
        ping=HEARTBEAT_S,
        ping_message_factory=lambda: ServerSentEvent(comment="ping"),
        headers={"Cache-Control": "no-cache"},
    )


def ndjson_stream(events: Events, chunk: Callable[[Any], dict[str, Any] | None], error_shape: ErrorShape) -> Any:
    """Relay `events` as newline-delimited JSON (Ollama's streams); waiting is not shown."""

    async def lines() -> AsyncIterator[str]:
        async for kind, payload in relay(events, error_shape):
            data = payload if kind == "error" else None if kind == "waiting" else chunk(payload)
            if data is not None:
                yield json.dumps(data, ensure_ascii=False) + "\n"

    return StreamingResponse(lines(), media_type="application/x-ndjson")


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
