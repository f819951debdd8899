"""A decoded token's attention on the CPU, as the machine-speed benchmark measures it.

A decoded token attends over every cached position: per layer, query head and position a
dot product with the key, a softmax entry and a share of the weighted sum of the values.
Measured on a 2-core EPYC (tests/bench/decode_attention.py), the time a long past adds is
proportional to the layers, the query heads (a GQA model's heads that share a KV head each
pay their own) and the positions, and per head it is a fixed part (the dot product's
reduction, the softmax entry, the conversions) plus a part per element of the head's
width; the KV cache's bytes, read from RAM at the decode bandwidth, add to that (a GQA
model's few bytes add little, a model whose heads each have their own KV much more). Two
models of the benchmark give the two parts: its thin many-layer model (heads 64 wide) and
its small Q4_K one (heads 128 wide), each decoding single tokens after a long cached
context and after a few tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.engine.speed_timing import WARMUP_TOKENS, decode_after
from app.hardware.machine_speed import DECODE_ATTENTION_FLOPS_PER_ELEMENT
from app.models.synthetic.bench import BenchModel

KV_F16_BYTES = 2  # the benchmark's models keep their KV cache in f16, llama.cpp's default


@dataclass(frozen=True)
class DecodeAttention:
    """A decoded token's attention per layer, query head and cached position, besides the KV bytes."""

    row_s: float  # the fixed part: seconds, whatever the head's width
    flops: float  # the part per element of the head's width: FLOP/s of its dot product and weighted sum


@dataclass(frozen=True)
class AttentionTiming:
    """What a long past adds to one model's decoded token, per cached position."""

    head_width: int
    heads: int  # layers x query heads
    kv_bytes: int  # the KV cache's bytes per position, all layers
    seconds: float


def attention_timing(model: BenchModel, seconds: float) -> AttentionTiming:
    shape = model.shape
    kv_bytes = 2 * model.n_layer * shape.kv_width * KV_F16_BYTES  # K and V
    return AttentionTiming(shape.n_embd // shape.n_head, model.n_layer * shape.n_head, kv_bytes, seconds)


def seconds_per_position(llms: dict[str, Any], n_past: int, n_tokens: int) -> dict[str, float]:
    """What each model's decoded token takes longer per cached position after n_past than after a few.

    Each `llm` holds at least n_past tokens in its cache. Single tokens are decoded after n_past,
    then after a few (cutting the cache back is free), the models taking turns token by token:
    between two tokens of one model the others stream their weights, so none reads its KV
    cache from the last-level cache (a real model's weights flush it too). The fastest of each:
    a burst of load from another program catches a few tokens, not all."""
    long_s = _turns_after(llms, n_past, n_tokens)
    short_s = _turns_after(llms, WARMUP_TOKENS, n_tokens)
    return {name: max(0.0, min(long_s[name]) - min(short_s[name])) / (n_past - WARMUP_TOKENS) for name in llms}


def _turns_after(llms: dict[str, Any], n_past: int, n_tokens: int) -> dict[str, list[float]]:
    seconds: dict[str, list[float]] = {name: [] for name in llms}
    for _turn in range(n_tokens):
        for name, llm in llms.items():
            seconds[name] += decode_after(llm, n_past, 1)
    return seconds


def solve_decode_attention(
    narrow: AttentionTiming, wide: AttentionTiming, bytes_per_s: float, ceiling_flops: float, flash_attn: bool = False
) -> DecodeAttention:
    """The fixed part and the rate from two models' timings (narrow's heads narrower than wide's).

    Each model's KV bytes at the decode bandwidth come off its time first (they add to the
    operations: tests/bench/decode_attention.py). The wider heads' extra time per head is their
    extra width; the rest of the narrow heads' time is the fixed part. Timing noise can make the
    width look free (or the fixed part negative): the rate never exceeds `ceiling_flops` (a
    batch's matmul rate), and the fixed part is never negative (then the wide heads' time is
    all width). With flash attention on, a head's time grows faster than its width (on a 2-core
    EPYC 64-wide heads 8.6 ns a position, 128-wide 52 ns: tests/bench/decode_attention.py
    --flash): the line through the two widths is kept, its fixed part negative (the prediction
    never charges a head less than nothing), so heads 64 and 128 wide, the widths real models
    use, cost what they were measured to."""

    def per_head(timing: AttentionTiming) -> float:
        return max(0.0, timing.seconds - timing.kv_bytes / bytes_per_s) / timing.heads

    narrow_s, wide_s = per_head(narrow), per_head(wide)
    fastest_element_s = DECODE_ATTENTION_FLOPS_PER_ELEMENT / ceiling_flops
    element_s = max((wide_s - narrow_s) / (wide.head_width - narrow.head_width), fastest_element_s)
    row_s = narrow_s - narrow.head_width * element_s
    if row_s < 0 and not flash_attn:
        row_s, element_s = 0.0, max(wide_s / wide.head_width, fastest_element_s)
    return DecodeAttention(row_s, DECODE_ATTENTION_FLOPS_PER_ELEMENT / element_s)
