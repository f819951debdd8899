"""Opening a client: to a local engine started for a model file, or to a remote server."""

from __future__ import annotations

import contextlib
import threading
from typing import Iterator

from app.utils.errors import DscoderError
from app.completion.fim import FimFilter
from app.llm.client import CancelToken, OpenAIClient, StreamStats
from app.llm.options import LoadOptions, SamplingParams
from app.llm.supervisor import EngineSupervisor


@contextlib.contextmanager
def open_client(options: LoadOptions | None, endpoint: str | None = None, api_key: str | None = None,
                model_name: str | None = None, cancel: threading.Event | None = None) -> Iterator[OpenAIClient]:
    """A client for `endpoint`, or for a fresh local engine loading `options.model_path`."""
    if endpoint:
        client = OpenAIClient(endpoint, api_key, model_name)
        try:
            yield client
        finally:
            client.close()
        return
    if options is None:
        raise DscoderError("No model was given", "Pass --model PATH, or --endpoint URL for a remote server")
    with EngineSupervisor(options) as supervisor:
        ep = supervisor.start(cancel)
        client = OpenAIClient(ep.base_url, ep.api_key)
        try:
            yield client
        finally:
            client.close()


def complete_middle(client: OpenAIClient, prefix: str, suffix: str, language: str | None,
                    params: SamplingParams, cancel: CancelToken | None = None) -> tuple[str, StreamStats]:
    """Fill in the middle with the stop rules applied; stops the stream as soon as the middle ends."""
    cancel = cancel or CancelToken()
    fim = FimFilter(prefix, suffix, language)
    stats = StreamStats()
    ended_by_rules = False
    for event in client.stream_completion(prefix, suffix, params, cancel):
        if event.text and not ended_by_rules:
            _, ended_by_rules = fim.feed(event.text)
            if ended_by_rules:
                cancel.cancel()  # the middle is complete: end the request in the engine too
        if event.stats:
            stats = event.stats
    if ended_by_rules:
        stats.finish_reason = "stop"  # we closed the stream because the middle was complete
    elif stats.finish_reason != "cancelled":
        fim.finish()  # the stream ended by itself: judge what is still held back
    return fim.text, stats
