"""The line under a finished answer: what it cost and why it ended early."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.utils.units import token_rate

if TYPE_CHECKING:  # the stream module brings the HTTP client: only its type is needed here
    from app.llm.stream import StreamStats


def stats_text(stats: StreamStats) -> str:
    """The footer under a finished answer: tokens, speed, and why it ended early."""
    parts = [f"{stats.completion_tokens:,} tokens"]
    if stats.tokens_per_s:
        parts.append(f"{token_rate(stats.tokens_per_s)} tokens/s")
    if stats.time_to_first_token_s is not None:
        parts.append(f"first token after {stats.time_to_first_token_s:.1f} s")
    acceptance = stats.usage.get("draft_acceptance")
    if isinstance(acceptance, (int, float)):
        parts.append(f"{acceptance:.0%} of drafted tokens accepted")
    if stats.finish_reason == "length":
        parts.append("stopped at the answer length limit")
    return " · ".join(parts)
