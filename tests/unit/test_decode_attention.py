"""A decoded token's attention over its past, on the CPU: charged as the machine's benchmark measured it.

On a 2-core EPYC the test model (Qwen2.5-Coder-0.5B: 24 layers, 14 query heads of 64 over 2
KV heads) decodes about 5 ms a token slower after 1,600 tokens than after a short prompt,
while its KV cache for them is 20 MB, 1 ms at the decode bandwidth: per layer, query head
and position a decoded token pays a fixed part and a part per element of the head's width
(tests/bench/decode_attention.py), which the benchmark measures on two of its models, and
the KV bytes on top."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from app.engine.speed_decode_attention import AttentionTiming, attention_timing, solve_decode_attention
from app.hardware.machine_speed import MachineSpeed, decode_attention_flops, load_cached_speed, save_speed
from app.models.catalog import load_catalog
from app.models.planning.estimator import MemoryEstimate, estimate_memory
from app.models.planning.shape import ModelMemoryShape, model_shape
from app.models.planning.speed_prediction import decode_seconds, device_rates, predict_speed
from app.models.synthetic.bench import DEFAULT_SHAPE, THIN_SHAPE, BenchModel, QuantType

ROW_S, RATE = 4e-9, 100e9  # per layer, head and position; FLOP/s over the head's width: about this EPYC's
BANDWIDTH = 20e9
MEASURED = MachineSpeed(
    BANDWIDTH, 100e9, cpu_attention_flops=80e9, cpu_decode_attention_row_s=ROW_S, cpu_decode_attention_flops=RATE
)
OLD_BENCHMARK = MachineSpeed(BANDWIDTH, 100e9, cpu_attention_flops=80e9)  # measured before the decode rate was
QWEN_KV_PER_LAYER = 2 * 64  # 2 KV heads of 64


def _qwen_shaped() -> tuple[ModelMemoryShape, MemoryEstimate]:
    """DeepSeek-Coder-1.3B's catalog shape made Qwen2.5-Coder-0.5B's where attention is concerned."""
    entry = load_catalog().get("deepseek-coder-1.3b-instruct:Q4_K_M")
    shape = dataclasses.replace(
        model_shape(entry),
        n_layer=24,
        n_embd=896,
        n_head=14,
        kv_k_per_layer=QWEN_KV_PER_LAYER,
        kv_v_per_layer=QWEN_KV_PER_LAYER,
    )
    return shape, estimate_memory(entry, n_ctx=4096)


def _slowdown(shape: ModelMemoryShape, est: MemoryEstimate, speed: MachineSpeed, n_past: int) -> float:
    rates = device_rates(speed)
    return decode_seconds(shape, est, rates, n_past) - decode_seconds(shape, est, rates, 0)


def test_a_long_past_slows_decoding_by_its_attention_far_beyond_its_few_kv_bytes() -> None:
    shape, est = _qwen_shaped()
    kv_s = 2 * QWEN_KV_PER_LAYER * 24 * 2 * 1600 / BANDWIDTH  # K and V in f16: 20 MB, 1 ms
    operations_s = 24 * 14 * 1600 * ROW_S + 4 * 24 * 896 * 1600 / RATE  # 2.2 + 1.4 ms
    assert _slowdown(shape, est, MEASURED, 1600) == pytest.approx(operations_s + kv_s)
    assert _slowdown(shape, est, MEASURED, 1600) > 3 * kv_s  # what the bytes alone used to be charged


def test_more_query_heads_over_the_same_kv_pay_more_and_the_kv_bytes_the_same() -> None:
    shape, est = _qwen_shaped()
    more_heads = dataclasses.replace(shape, n_embd=shape.n_embd * 2, n_head=shape.n_head * 2)  # same KV
    operations_s = decode_attention_flops(24, 896, 2048) / RATE + 24 * 14 * 2048 * ROW_S
    extra = _slowdown(more_heads, est, MEASURED, 2048) - _slowdown(shape, est, MEASURED, 2048)
    assert extra == pytest.approx(operations_s)


def test_wider_heads_pay_their_width_but_not_another_fixed_part() -> None:
    shape, est = _qwen_shaped()
    wider = dataclasses.replace(shape, n_embd=shape.n_embd * 2)  # 14 heads of 128
    extra = _slowdown(wider, est, MEASURED, 2048) - _slowdown(shape, est, MEASURED, 2048)
    assert extra == pytest.approx(decode_attention_flops(24, 896, 2048) / RATE)


def test_a_model_whose_heads_each_have_their_own_kv_pays_its_bytes_on_top() -> None:
    shape, est = _qwen_shaped()
    own_kv = dataclasses.replace(shape, kv_k_per_layer=896, kv_v_per_layer=896)  # 14 KV heads
    extra = _slowdown(own_kv, est, MEASURED, 1000) - _slowdown(shape, est, MEASURED, 1000)
    assert extra == pytest.approx(2 * (896 - QWEN_KV_PER_LAYER) * 24 * 2 * 1000 / BANDWIDTH)


def test_the_prediction_for_a_2k_question_decodes_slower_than_for_a_short_one() -> None:
    shape, est = _qwen_shaped()
    rates = device_rates(MEASURED)
    short, long = predict_speed(shape, est, rates, 256), predict_speed(shape, est, rates, 2048)
    assert 1 / long.plain_decode - 1 / short.plain_decode == pytest.approx(_slowdown(shape, est, MEASURED, 2048 - 256))


def _bench_model(n_layer: int, shape: object) -> BenchModel:
    return BenchModel(Path("m.gguf"), n_layer, QuantType.Q8_0, 0, 0, 0, shape)  # type: ignore[arg-type]


def test_the_child_recovers_the_fixed_part_and_the_rate_from_its_two_models() -> None:
    """Times made from a known fixed part, rate and bandwidth: the child's arithmetic gives them back."""
    narrow = attention_timing(_bench_model(40, THIN_SHAPE), 0.0)  # 40 layers of 2 heads of 64
    wide = attention_timing(_bench_model(2, DEFAULT_SHAPE), 0.0)  # 2 layers of 16 heads of 128
    assert (narrow.head_width, narrow.heads, wide.head_width, wide.heads) == (64, 80, 128, 32)

    def timed(timing: AttentionTiming) -> AttentionTiming:
        per_head = ROW_S + 4 * timing.head_width / RATE
        return dataclasses.replace(timing, seconds=timing.heads * per_head + timing.kv_bytes / BANDWIDTH)

    solved = solve_decode_attention(timed(narrow), timed(wide), BANDWIDTH, ceiling_flops=1e12)
    assert solved.row_s == pytest.approx(ROW_S) and solved.flops == pytest.approx(RATE)


def test_noise_never_gives_a_negative_fixed_part_or_a_rate_beyond_the_ceiling() -> None:
    narrow = AttentionTiming(32, 160, 0, seconds=160 * 10e-9)
    wide = AttentionTiming(128, 32, 0, seconds=32 * 5e-9)  # wider heads faster: noise
    solved = solve_decode_attention(narrow, wide, BANDWIDTH, ceiling_flops=200e9)
    assert solved.flops == pytest.approx(200e9) and solved.row_s == pytest.approx(10e-9 - 32 * 4 / 200e9)
    free_rows = solve_decode_attention(AttentionTiming(32, 160, 0, 0.0), wide, BANDWIDTH, ceiling_flops=200e9)
    assert free_rows.row_s == 0.0 and 0 < free_rows.flops <= 200e9


def test_an_old_stored_result_without_the_rate_loads_and_falls_back_to_the_batch_attention_rate(
    tmp_path: Path,
) -> None:
    path = tmp_path / "machine_speed.json"
    save_speed(dataclasses.replace(OLD_BENCHMARK, hardware="cpu | benchmark 5"), path)
    old = load_cached_speed("cpu | benchmark 5", path)
    assert old is not None and (old.cpu_decode_attention_flops, old.cpu_decode_attention_row_s) == (0.0, 0.0)
    assert "cpu_decode_attention_flops" not in old.to_json()
    assert old.cpu_decode_attention_rate == OLD_BENCHMARK.cpu_attention_flops
    shape, est = _qwen_shaped()
    kv_s = 2 * QWEN_KV_PER_LAYER * 24 * 2 * 1600 / BANDWIDTH
    expected = decode_attention_flops(24, 896, 1600) / OLD_BENCHMARK.cpu_attention_flops + kv_s
    assert _slowdown(shape, est, old, 1600) == pytest.approx(expected)


def test_the_decode_attention_is_kept_read_back_and_shown() -> None:
    data = MEASURED.to_json()
    assert (data["cpu_decode_attention_flops"], data["cpu_decode_attention_row_s"]) == (RATE, ROW_S)
    assert MachineSpeed.from_json(data) == MEASURED
    assert "decoded attention 100 GFLOP/s + 4.0 ns a head" in MEASURED.describe()
    with pytest.raises(ValueError):
        MachineSpeed.from_json({**data, "cpu_decode_attention_row_s": -1.0})


# Flash attention on (a quantized KV cache needs it): its kernel pays a wide head far more dearly,
# a head's time growing faster than its width. Measured by the benchmark on the 2-core EPYC:
# heads 64 wide 8.5 ns a position, 128 wide 48 ns (flash off: 15 and 16): the line through the
# two widths has a negative fixed part.
FLASH_ROW_S, FLASH_RATE = -31e-9, 6.5e9
MEASURED_WITH_FLASH = dataclasses.replace(
    MEASURED, cpu_flash_decode_attention_row_s=FLASH_ROW_S, cpu_flash_decode_attention_flops=FLASH_RATE
)


def _deepseek_1p3b(flash_attn: bool) -> tuple[ModelMemoryShape, MemoryEstimate]:
    """DeepSeek-Coder-1.3B: 24 layers of 16 heads of 128, each head its own KV."""
    entry = load_catalog().get("deepseek-coder-1.3b-instruct:Q4_K_M")
    return model_shape(entry), estimate_memory(entry, n_ctx=4096, flash_attn=flash_attn)


def test_with_flash_attention_on_a_decoded_token_pays_the_flash_law_and_wide_heads_decode_slower() -> None:
    shape, flash_off = _deepseek_1p3b(flash_attn=False)
    _shape, flash_on = _deepseek_1p3b(flash_attn=True)
    assert (shape.n_layer, shape.n_head, shape.n_embd) == (24, 16, 2048)
    heads = 24 * 16 * 1536
    kv_s = 2 * 2048 * 24 * 2 * 1536 / BANDWIDTH  # K and V in f16, every head its own
    off_s = heads * ROW_S + decode_attention_flops(24, 2048, 1536) / RATE + kv_s
    on_s = heads * FLASH_ROW_S + decode_attention_flops(24, 2048, 1536) / FLASH_RATE + kv_s
    assert _slowdown(shape, flash_off, MEASURED_WITH_FLASH, 1536) == pytest.approx(off_s)
    assert _slowdown(shape, flash_on, MEASURED_WITH_FLASH, 1536) == pytest.approx(on_s)
    rates = device_rates(MEASURED_WITH_FLASH)
    on, off = predict_speed(shape, flash_on, rates, 1536), predict_speed(shape, flash_off, rates, 1536)
    assert on.plain_decode < 0.9 * off.plain_decode  # the user who turns flash attention on is told so


def test_a_stored_benchmark_6_result_loads_and_flash_attention_falls_back_to_the_flash_off_law(
    tmp_path: Path,
) -> None:
    """Version 6 kept no flash-on law: its file has the flash-off fields only."""
    path = tmp_path / "machine_speed.json"
    stored = {**MEASURED.to_json(), "run_s": 6.0}
    assert not any("flash" in key for key in stored)
    path.write_text(json.dumps({"schema": 1, "machines": {"cpu | benchmark 6": stored}}), encoding="utf-8")
    old = load_cached_speed("cpu | benchmark 6", path)
    assert old is not None and old.cpu_decode_attention_flops == RATE
    assert (old.cpu_flash_decode_attention_row_s, old.cpu_flash_decode_attention_flops) == (0.0, 0.0)
    shape, flash_off = _deepseek_1p3b(flash_attn=False)
    _shape, flash_on = _deepseek_1p3b(flash_attn=True)
    assert _slowdown(shape, flash_on, old, 1536) == pytest.approx(_slowdown(shape, flash_off, old, 1536))


def test_the_flash_attention_law_is_kept_and_read_back() -> None:
    data = MEASURED_WITH_FLASH.to_json()
    assert (data["cpu_flash_decode_attention_flops"], data["cpu_flash_decode_attention_row_s"]) == (
        FLASH_RATE,
        FLASH_ROW_S,
    )
    assert MachineSpeed.from_json(data) == MEASURED_WITH_FLASH
    with pytest.raises(ValueError):
        MachineSpeed.from_json({**data, "cpu_flash_decode_attention_flops": -1.0})


def test_flash_attention_keeps_the_line_through_both_widths_and_a_narrow_head_costs_no_less_than_nothing() -> None:
    narrow = attention_timing(_bench_model(40, THIN_SHAPE), 0.0)
    wide = attention_timing(_bench_model(2, DEFAULT_SHAPE), 0.0)

    def timed(timing: AttentionTiming) -> AttentionTiming:
        per_head = FLASH_ROW_S + 4 * timing.head_width / FLASH_RATE
        return dataclasses.replace(timing, seconds=timing.heads * per_head + timing.kv_bytes / BANDWIDTH)

    flash = solve_decode_attention(timed(narrow), timed(wide), BANDWIDTH, ceiling_flops=1e12, flash_attn=True)
    assert flash.row_s == pytest.approx(FLASH_ROW_S) and flash.flops == pytest.approx(FLASH_RATE)
    flash_off = solve_decode_attention(timed(narrow), timed(wide), BANDWIDTH, ceiling_flops=1e12)
    assert flash_off.row_s == 0.0  # flash off, a negative fixed part is noise: the wide heads' time is all width
    shape, _est = _qwen_shaped()
    _shape, flash_on = _deepseek_1p3b(flash_attn=True)
    narrow_heads = dataclasses.replace(shape, n_embd=14 * 32)  # heads 32 wide: below the line's zero
    kv_s = 2 * QWEN_KV_PER_LAYER * 24 * 2 * 1000 / BANDWIDTH
    assert _slowdown(narrow_heads, flash_on, MEASURED_WITH_FLASH, 1000) == pytest.approx(kv_s)
