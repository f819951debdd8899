"""A decoded token's attention over its past, on the CPU: charged at the machine's measured rate.

On a 2-core EPYC the test model (Qwen2.5-Coder-0.5B: 24 layers, 14 query heads of 64 over 2
KV heads) decodes about 5 ms a token slower after 1,600 tokens than after a short prompt,
while its KV cache for them is 20 MB, 1 ms at the decode bandwidth: a decoded token's
attention is bound by its operations (a dot product per query head and position), which
the benchmark now measures, not by the cache's bytes."""

from __future__ import annotations

import dataclasses

import pytest

from app.hardware.machine_speed import MachineSpeed, decode_attention_flops, load_cached_speed, save_speed
from app.models.catalog import load_catalog
from app.models.planning.estimator import MemoryEstimate, estimate_memory
from app.models.planning.shape import ModelMemoryShape, model_shape
from app.models.planning.speed_prediction import decode_seconds, device_rates, predict_speed

DECODE_ATTENTION = 25e9  # FLOP/s of a decoded token's attention, about what this EPYC measures
MEASURED = MachineSpeed(20e9, 100e9, cpu_attention_flops=80e9, cpu_decode_attention_flops=DECODE_ATTENTION)
OLD_BENCHMARK = MachineSpeed(20e9, 100e9, cpu_attention_flops=80e9)  # measured before the decode rate was


def _qwen_shaped() -> tuple[ModelMemoryShape, MemoryEstimate]:
    """DeepSeek-Coder-1.3B's catalog shape made Qwen2.5-Coder-0.5B's where attention is concerned."""
    entry = load_catalog().get("deepseek-coder-1.3b-instruct:Q4_K_M")
    shape = dataclasses.replace(model_shape(entry), n_layer=24, n_embd=896, n_head=14, kv_k_per_layer=128)
    return dataclasses.replace(shape, kv_v_per_layer=128), estimate_memory(entry, n_ctx=4096)


def test_a_long_past_slows_decoding_by_its_attention_not_its_few_kv_bytes() -> None:
    shape, est = _qwen_shaped()
    rates = device_rates(MEASURED)
    extra = decode_seconds(shape, est, rates, 1600) - decode_seconds(shape, est, rates, 0)
    kv_bytes = 2 * 128 * 24 * 2 * 1600  # K and V, 128 values a layer each, f16: 20 MB
    assert kv_bytes / MEASURED.cpu_decode_bytes_per_s < 0.0011  # what the bytes alone would cost
    assert extra == pytest.approx(4 * 24 * 896 * 1600 / DECODE_ATTENTION)  # 5.5 ms
    assert extra == pytest.approx(decode_attention_flops(24, 896, 1600) / DECODE_ATTENTION)


def test_more_query_heads_over_the_same_kv_pay_more() -> None:
    shape, est = _qwen_shaped()
    wider = dataclasses.replace(shape, n_embd=shape.n_embd * 2, n_head=shape.n_head * 2)  # same KV
    rates = device_rates(MEASURED)

    def slowdown(model: ModelMemoryShape) -> float:
        return decode_seconds(model, est, rates, 2048) - decode_seconds(model, est, rates, 0)

    assert slowdown(wider) == pytest.approx(2 * slowdown(shape))


def test_kv_bytes_that_take_longer_than_the_operations_are_charged_as_bytes() -> None:
    """A model whose every head has its own wide KV, on a machine whose attention is fast: bandwidth-bound."""
    shape, est = _qwen_shaped()
    heavy_kv = dataclasses.replace(shape, kv_k_per_layer=8192, kv_v_per_layer=8192)
    fast = device_rates(dataclasses.replace(MEASURED, cpu_decode_attention_flops=1e15))
    extra = decode_seconds(heavy_kv, est, fast, 1000) - decode_seconds(heavy_kv, est, fast, 0)
    assert extra == pytest.approx(2 * 8192 * 24 * 2 * 1000 / MEASURED.cpu_decode_bytes_per_s)


def test_the_prediction_for_a_2k_question_decodes_slower_than_a_short_one_by_the_rate() -> None:
    shape, est = _qwen_shaped()
    short, long = predict_speed(shape, est, device_rates(MEASURED), 256), predict_speed(
        shape, est, device_rates(MEASURED), 2048
    )
    per_token_s = 1 / long.plain_decode - 1 / short.plain_decode
    assert per_token_s == pytest.approx(decode_attention_flops(24, 896, 2048 - 256) / DECODE_ATTENTION)


def test_an_old_stored_result_without_the_rate_loads_and_falls_back_to_the_batch_attention_rate(tmp_path) -> None:
    path = tmp_path / "machine_speed.json"
    save_speed(dataclasses.replace(OLD_BENCHMARK, hardware="cpu | benchmark 5"), path)
    old = load_cached_speed("cpu | benchmark 5", path)
    assert old is not None and old.cpu_decode_attention_flops == 0.0
    assert "cpu_decode_attention_flops" not in old.to_json()
    assert old.cpu_decode_attention_rate == OLD_BENCHMARK.cpu_attention_flops
    shape, est = _qwen_shaped()
    rates = device_rates(old)
    extra = decode_seconds(shape, est, rates, 1600) - decode_seconds(shape, est, rates, 0)
    assert extra == pytest.approx(decode_attention_flops(24, 896, 1600) / OLD_BENCHMARK.cpu_attention_flops)


def test_the_rate_is_kept_read_back_and_shown() -> None:
    data = MEASURED.to_json()
    assert data["cpu_decode_attention_flops"] == DECODE_ATTENTION
    assert MachineSpeed.from_json(data).cpu_decode_attention_flops == DECODE_ATTENTION
    assert "80 GFLOP/s attention, 25 GFLOP/s decoded attention" in MEASURED.describe()
    with pytest.raises(ValueError):
        MachineSpeed.from_json({**data, "cpu_decode_attention_flops": -1.0})
