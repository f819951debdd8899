"""Fill-in-the-middle in the window: a middle streamed from the engine with the stop
rules applied (app.protocol.fim_rules, shared with the engine, which applies the same
rules to editors' requests), ending the request as soon as the middle is complete.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from app.protocol.fim_rules import SPECIAL_TOKEN_RE as SPECIAL_TOKEN_RE
from app.protocol.fim_rules import FimFilter as FimFilter
from app.protocol.fim_rules import filter_middle as filter_middle
from app.protocol.fim_rules import fim_class as fim_class
from app.protocol.fim_rules import strip_special_tokens as strip_special_tokens
from app.protocol.options import SamplingParams

if TYPE_CHECKING:  # the client brings httpx (a sixth of a second): imported when a completion runs
    from app.llm.client import OpenAIClient
    from app.llm.stream import CancelToken, StreamStats


def complete_middle(
    client: OpenAIClient,
    prefix: str,
    suffix: str,
    language: str | None,
    params: SamplingParams,
    cancel: CancelToken | None = None,
    on_text: Callable[[str], None] | None = None,
) -> tuple[str, StreamStats]:
    """Fill in the middle with the stop rules applied; stops the stream as soon as the middle ends.

    `on_text` is called with the middle so far whenever the rules let more of it through
    (a line at a time), so a caller can show it while the rest is still being written."""
    from app.llm.stream import CancelToken, StreamStats

    cancel = cancel or CancelToken()
    fim = FimFilter(prefix, suffix, language)
    stats = StreamStats()
    ended_by_rules = False
    for event in client.stream_completion(prefix, suffix, params, cancel):
        if event.text and not ended_by_rules:
            passed, ended_by_rules = fim.feed(event.text)
            if passed and on_text is not None:
                on_text(fim.text)
            if ended_by_rules:
                cancel.cancel()  # the middle is complete: end the request in the engine too
        if event.stats:
            stats = event.stats
    if ended_by_rules:
        stats.finish_reason = "stop"  # we closed the stream because the middle was complete
    elif stats.finish_reason != "cancelled" and fim.finish() and on_text is not None:
        on_text(fim.text)  # the stream ended by itself: what was still held back counts now
    return fim.text, stats
