"""The line under a finished answer words its speed as the rest of the app does."""

from __future__ import annotations

from app.chat.footer import stats_text
from app.llm.stream import StreamStats


def test_speed_uses_the_shared_token_rate_wording():
    fast = StreamStats(completion_tokens=1234, tokens_per_s=12.34, time_to_first_token_s=0.4)
    slow = StreamStats(completion_tokens=5, tokens_per_s=9.54, finish_reason="length")
    assert stats_text(fast) == "1,234 tokens · 12 tokens/s · first token after 0.4 s"
    assert stats_text(slow) == "5 tokens · 9.5 tokens/s · stopped at the answer length limit"
