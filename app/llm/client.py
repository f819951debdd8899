"""A Qt-free streaming client for OpenAI-compatible servers.

The same code talks to the local engine and to any remote server (llama-server,
vLLM, SGLang, Ollama's /v1, hosted APIs). It yields text deltas, measures time to
first token and tokens per second, can be cancelled from another thread, and turns
every failure into one ClientError with a readable message. Server-sent events are
parsed by httpx-sse.

Cancel closes the stream at once: it shuts the socket down, which wakes a reader
blocked while the server is still evaluating a long prompt, and the server sees the
disconnect and stops generating.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from httpx_sse import EventSource, SSEError

from app import __version__
from app.config.sampling import COMPLETION_MAX_TOKENS
from app.llm.stream import CancelToken, StreamEvent, StreamStats
from app.protocol.options import SamplingParams
from app.utils.errors import ClientError


def _error_message(response: httpx.Response) -> str:
    try:
        body = json.loads(response.read() or b"{}")
    except (ValueError, httpx.HTTPError):
        return response.text[:300] if response.is_stream_consumed else ""
    if isinstance(body, dict):
        err = body.get("error", body.get("detail", body))
        if isinstance(err, dict):
            return str(err.get("message") or err)
        return str(err)
    return str(body)


class OpenAIClient:
    """One server: a base URL ending in /v1, an API key, and optionally a model name."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        model: str | None = None,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 600.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.model = model
        # The engine counts other programs it serves; the app's own requests say who they are.
        headers = {"User-Agent": f"dscoder/{__version__}"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._http = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            trust_env=not _is_loopback(self.base_url),  # proxies apply to remote servers only
            # A plain-http server has no certificate to check: skip loading the system's CA
            # bundle, which takes ~20 ms of the GUI thread whenever an engine's client is made.
            # An https:// server is verified as always (redirects are not followed).
            verify=not self.base_url.startswith("http://"),
        )

    def close(self) -> None:
        self._http.close()

    # -- plain requests ------------------------------------------------------------------
    def _request(self, method: str, url: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise self._transport_error(exc) from exc
        if response.status_code >= 400:
            raise self._status_error(response, url)
        try:
            return response.json()
        except ValueError as exc:
            raise ClientError(
                f"The server at {self.base_url} sent a reply that is not JSON",
                "Check that the URL points to an OpenAI-compatible API",
            ) from exc

    def models(self) -> list[dict[str, Any]]:
        data = self._request("GET", f"{self.base_url}/models")
        return list(data.get("data", [])) if isinstance(data, dict) else []

    @property
    def _engine_root(self) -> str:
        return self.base_url[: -len("/v1")] if self.base_url.endswith("/v1") else self.base_url

    def engine_info(self) -> dict[str, Any]:
        """The local engine's model metadata (not available on remote servers)."""
        return dict(self._request("GET", f"{self._engine_root}/dscoder/info"))

    def count_chat_tokens(self, messages: Sequence[dict[str, str]]) -> tuple[int, int]:
        """(prompt tokens, context size) of a chat, from the local engine."""
        data = self._request("POST", f"{self._engine_root}/dscoder/count", json={"messages": list(messages)})
        return int(data["prompt_tokens"]), int(data["n_ctx"])

    def prefill_chat(self, messages: Sequence[dict[str, str]]) -> int:
        """Ask the local engine to evaluate the start of the next chat prompt while it is idle.

        `messages` are the next request's messages up to the text the user has not typed
        yet: the last one's content is the start of the coming message (for example the
        attached file's block). Returns the tokens scheduled; any request stops the work."""
        data = self._request("POST", f"{self._engine_root}/dscoder/prefill", json={"messages": list(messages)})
        return int(data.get("prompt_tokens", 0))

    # -- streaming -------------------------------------------------------------------------
    def stream_chat(
        self,
        messages: Sequence[dict[str, str]],
        params: SamplingParams | None = None,
        cancel: CancelToken | None = None,
    ) -> Iterator[StreamEvent]:
        body = self._body(params or SamplingParams())
        body["messages"] = list(messages)
        return self._stream("/chat/completions", body, cancel, chat=True)

    def stream_completion(
        self,
        prompt: str,
        suffix: str | None = None,
        params: SamplingParams | None = None,
        cancel: CancelToken | None = None,
    ) -> Iterator[StreamEvent]:
        body = self._body(params or SamplingParams(max_tokens=COMPLETION_MAX_TOKENS))
        body["prompt"] = prompt
        if suffix is not None:
            body["suffix"] = suffix
        return self._stream("/completions", body, cancel, chat=False)

    def _body(self, params: SamplingParams) -> dict[str, Any]:
        body: dict[str, Any] = {
            "stream": True,
            "stream_options": {"include_usage": True},
            "temperature": params.temperature,
            "top_p": params.top_p,
            "max_tokens": params.max_tokens,
        }
        if self.model:
            body["model"] = self.model
        if _is_loopback(self.base_url):  # llama.cpp extras; hosted APIs may reject them
            body.update(top_k=params.top_k, min_p=params.min_p, repeat_penalty=params.repeat_penalty)
            if params.speculative is not None:
                body["speculative"] = params.speculative
        if params.seed is not None and params.seed >= 0:
            body["seed"] = params.seed
        if params.stop:
            body["stop"] = list(params.stop)
        return body

    def _stream(self, path: str, body: dict[str, Any], cancel: CancelToken | None, chat: bool) -> Iterator[StreamEvent]:
        cancel = cancel or CancelToken()
        url = self.base_url + path
        stats = StreamStats()
        started = time.perf_counter()
        timing = _Timing()
        if cancel.cancelled:
            stats.finish_reason = "cancelled"
            yield StreamEvent(stats=stats)
            return
        try:
            with self._http.stream("POST", url, json=body, headers={"Accept": "text/event-stream"}) as response:
                cancel.attach(response)
                if response.status_code >= 400:
                    raise self._status_error(response, url)
                for sse in EventSource(response).iter_sse():
                    if cancel.cancelled or sse.data == "[DONE]":
                        break
                    if not sse.data:
                        continue
                    yield from _stream_events(_parse_event(sse.data), stats, chat, timing)
        except SSEError as exc:
            raise ClientError(
                f"The server at {self.base_url} did not stream its answer ({exc})",
                "Check that the server speaks the OpenAI streaming API",
            ) from exc
        except httpx.HTTPError as exc:
            if not cancel.cancelled:
                raise self._transport_error(exc, mid_stream=timing.first_at is not None) from exc
        finally:
            cancel.attach(None)
        yield StreamEvent(stats=_finish_stats(stats, started, timing, cancel.cancelled))

    # -- errors ----------------------------------------------------------------------------
    def _transport_error(self, exc: httpx.HTTPError, mid_stream: bool = False) -> ClientError:
        where = self.base_url
        if isinstance(exc, httpx.ConnectError):
            return ClientError(f"Could not connect to {where}", "Check that the server is running and the URL is right")
        if isinstance(exc, httpx.TimeoutException):
            return ClientError(f"The server at {where} did not answer in time", "Try again, or check the server's load")
        if mid_stream or isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError)):
            return ClientError(
                "The connection to the engine was lost in the middle of the answer",
                "The engine may have crashed; restart it and send again",
            )
        return ClientError(f"The request to {where} failed: {exc}", "Check the connection and try again")

    def _status_error(self, response: httpx.Response, url: str) -> ClientError:
        status = response.status_code
        message = _error_message(response)
        if status in (401, 403):
            return ClientError(
                f"The server refused the API key (HTTP {status})",
                "Check the API key in the engine's settings",
                status=status,
            )
        if status == 404:
            return ClientError(
                f"The server has no {url.removeprefix(self.base_url) or url} endpoint (HTTP 404)",
                "Check the base URL; for OpenAI-compatible servers it usually ends in /v1",
                status=status,
            )
        if status == 429:
            return ClientError(
                "The server is rate-limiting requests (HTTP 429)", "Wait a moment and try again", status=status
            )
        if 400 <= status < 500:
            return ClientError(f"The server rejected the request: {message or f'HTTP {status}'}", "", status=status)
        return ClientError(
            f"The server failed (HTTP {status}){': ' + message if message else ''}",
            "Try again; if it keeps failing, restart the engine",
            status=status,
        )


def _is_loopback(url: str) -> bool:
    host = httpx.URL(url).host
    return host in ("localhost", "::1") or host.startswith("127.")


@dataclass
class _Timing:
    first_at: float | None = None
    n_deltas: int = 0


def _parse_event(data: str) -> dict[str, Any]:
    try:
        event = json.loads(data)
    except ValueError as exc:
        raise ClientError(
            f"The server sent a malformed event: {data[:120]!r}",
            "Check that the server speaks the OpenAI streaming API",
        ) from exc
    if not isinstance(event, dict):
        raise ClientError(f"The server sent a malformed event: {data[:120]!r}")
    if "error" in event:
        err = event["error"]
        raise ClientError(f"The server reported an error: {err.get('message', err) if isinstance(err, dict) else err}")
    return event


def _stream_events(event: dict[str, Any], stats: StreamStats, chat: bool, timing: _Timing) -> Iterator[StreamEvent]:
    """The StreamEvents one OpenAI chunk carries; `stats` collects what the end reports."""
    extra = event.get("dscoder")
    if isinstance(extra, dict):
        if isinstance(extra.get("waiting"), int):
            yield StreamEvent(waiting=int(extra["waiting"]))
        if "prompt_tokens" in extra:
            stats.prompt_tokens = int(extra.get("prompt_tokens", 0) or 0)
        for note in extra.get("notes") or []:
            stats.notes.append(str(note))
            yield StreamEvent(note=str(note))
    if isinstance(event.get("usage"), dict):
        stats.usage = event["usage"]
    for choice in event.get("choices") or []:
        text = (choice.get("delta") or {}).get("content") if chat else choice.get("text")
        if text:
            if timing.first_at is None:
                timing.first_at = time.perf_counter()
            timing.n_deltas += 1
            yield StreamEvent(text=text)
        if choice.get("finish_reason"):
            stats.finish_reason = choice["finish_reason"]


def _finish_stats(stats: StreamStats, started: float, timing: _Timing, cancelled: bool) -> StreamStats:
    ended = time.perf_counter()
    if cancelled:
        stats.finish_reason = "cancelled"
    stats.total_s = ended - started
    stats.prompt_tokens = int(stats.usage.get("prompt_tokens", stats.prompt_tokens) or 0)
    stats.completion_tokens = int(stats.usage.get("completion_tokens", timing.n_deltas) or 0)
    if timing.first_at is not None:
        stats.time_to_first_token_s = timing.first_at - started
        decode_s = ended - timing.first_at
        # The first token arrives at first_at; the rest were decoded after it.
        if decode_s > 0 and stats.completion_tokens > 1:
            stats.tokens_per_s = (stats.completion_tokens - 1) / decode_s
    return stats
