"""Opening a client: to a local engine started for a model file, or to a remote server."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from app.llm.client import OpenAIClient
from app.llm.supervisor import EngineSupervisor
from app.protocol.options import LoadOptions
from app.utils.errors import DscoderError


@contextlib.contextmanager
def open_client(
    options: LoadOptions | None,
    endpoint: str | None = None,
    api_key: str | None = None,
    model_name: str | None = None,
    cancel: threading.Event | None = None,
) -> Iterator[OpenAIClient]:
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
