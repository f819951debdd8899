"""Timing llama.cpp evaluations for the machine-speed benchmark (app/engine/machine_speed_child.py)
and the speed benchmarks under tests/bench: single decoded tokens, models taking turns, prompt
batches after a cached context. `llm` is a llama_cpp.Llama (or anything with its reset, eval
and n_tokens)."""

from __future__ import annotations

import time
from typing import Any

PROMPT_TOKENS = 128  # one batch: large enough for the matrix kernels llama.cpp uses on prompts
WARMUP_TOKENS = 8
MIN_DECODE_TOKENS = 8
MAX_DECODE_TOKENS = 256
MAX_PROMPT_BATCHES = 16
FIRST_TOKEN = 3  # after <unk>, <s>, </s>: ordinary tokens


def tokens(count: int, start: int = 0) -> list[int]:
    return [FIRST_TOKEN + (start + i) % 250 for i in range(count)]


def decode_seconds(llm: Any, budget_s: float) -> list[float]:
    """Seconds of each token, one token per llama_decode, right after a short prompt."""
    llm.reset()
    llm.eval(tokens(WARMUP_TOKENS))
    seconds: list[float] = []
    while len(seconds) < MAX_DECODE_TOKENS and (len(seconds) < MIN_DECODE_TOKENS or sum(seconds) < budget_s):
        started = time.perf_counter()
        llm.eval(tokens(1, len(seconds)))
        seconds.append(time.perf_counter() - started)
    return seconds


def interleaved_decode_seconds(llms: dict[str, Any], budget_s: float) -> dict[str, list[float]]:
    """Seconds of single tokens of each model, the models taking turns token by token.

    A small model of a compact type fits a large last-level cache (two layers of Q2_K are
    34 MB, the L3 of many server CPUs 32 MiB): decoded on its own, every token after the
    first would read its weights from the cache, and the type would look faster than it
    runs in a real model, which streams from RAM. Between two tokens of one model every
    other model streams its weights, hundreds of MB together, so each token reads from RAM."""
    for llm in llms.values():
        llm.reset()
        llm.eval(tokens(WARMUP_TOKENS))
    seconds: dict[str, list[float]] = {name: [] for name in llms}
    spent = 0.0
    step = 0
    while step < MAX_DECODE_TOKENS and (step < MIN_DECODE_TOKENS or spent < budget_s):
        for name, llm in llms.items():
            started = time.perf_counter()
            llm.eval(tokens(1, step))
            took = time.perf_counter() - started
            seconds[name].append(took)
            spent += took
        step += 1
    return seconds


def fastest_half(seconds: list[float]) -> float:
    """The mean of the faster half: what the machine does when nothing else takes its cores."""
    fastest = sorted(seconds)[: max(1, len(seconds) // 2)]
    return sum(fastest) / len(fastest)


def prompt_batches(
    llm: Any, budget_s: float, *, n_tokens: int = PROMPT_TOKENS, n_past: int = 0, at_least: int = 1
) -> list[float]:
    """Seconds of each fresh batch of n_tokens read after the first n_past tokens
    (already in the cache: the cache is cut back to them before each batch)."""
    seconds: list[float] = []
    while len(seconds) < MAX_PROMPT_BATCHES and (len(seconds) < at_least or sum(seconds) < budget_s):
        if n_past:
            llm.n_tokens = n_past  # eval drops the cache past n_tokens
        else:
            llm.reset()
        started = time.perf_counter()
        llm.eval(tokens(n_tokens, len(seconds)))
        seconds.append(time.perf_counter() - started)
    return seconds


def decode_after(llm: Any, n_past: int, count: int) -> list[float]:
    """Seconds of `count` single tokens, each decoded right after the first n_past tokens of
    the context (already in the cache: the cache is cut back to them before each token)."""
    seconds: list[float] = []
    for index in range(count):
        llm.n_tokens = n_past  # eval drops the cache past n_tokens
        started = time.perf_counter()
        llm.eval(tokens(1, n_past + index))
        seconds.append(time.perf_counter() - started)
    return seconds
