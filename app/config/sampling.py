"""Sampling defaults, defined once for the settings, the engine's API, the CLI and completion.

The Settings dataclass, `SamplingParams`, the engine's OpenAI endpoints (for a request
that names no value), `dscoder ask` / `dscoder complete` and inline completion all take
their numbers from here, so "how long may an answer run" has one answer per purpose.
"""

from __future__ import annotations

TEMPERATURE = 0.0  # greedy: code answers should not vary from run to run
TOP_P = 0.95
TOP_K = 40
MIN_P = 0.05
REPEAT_PENALTY = 1.0  # 1.0: off; code repeats itself legitimately

# How many tokens a reply may run, per purpose.
CHAT_MAX_TOKENS = 1024  # a chat answer: the Settings default, `dscoder ask`, /v1/chat/completions
COMPLETION_MAX_TOKENS = 128  # a fill-in-the-middle reply: `dscoder complete`, /v1/completions
# Inline completion in the editor asks for less than a full completion reply: a
# suggestion is read at a glance, and a shorter one comes back sooner.
INLINE_BLOCK_MAX_TOKENS = COMPLETION_MAX_TOKENS * 3 // 4  # 96: a block, at the end of a line
INLINE_LINE_MAX_TOKENS = COMPLETION_MAX_TOKENS // 4  # 32: the rest of the line, mid-line
