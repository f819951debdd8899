"""Token counts estimated without a tokenizer, for budgets decided before a request
(what fits in a prompt, what a context chip says): code runs about 3.5 characters a
token in the DeepSeek and Qwen vocabularies."""

from __future__ import annotations

CHARS_PER_TOKEN = 3.5


def approx_tokens(text: str) -> int:
    """Tokens of code, estimated without a tokenizer."""
    return int(len(text) / CHARS_PER_TOKEN + 0.999)
