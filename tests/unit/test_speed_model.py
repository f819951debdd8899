"""The speed model: decode, prompt and first-token time from the machine's rates and the model's shape."""

from __future__ import annotations

import pytest

from app.hardware.gpus import GpuInfo
from app.hardware.speed import GpuSpeed, MachineSpeed, attention_flops
from app.models.catalog import load_catalog
from app.models.planning.estimator import estimate_memory, model_shape
from app.models.planning.speed import (
    ASSUMED,
    MEASURED,
    PREDICTED,
    QUESTION_TOKENS,
    decode_seconds,
    device_rates,
    predict_speed,
    prompt_seconds,
)

CPU = MachineSpeed(20e9, 400e9)
GPU = GpuInfo("Card", "nvidia", 24 * 1024**3, 23 * 1024**3, backend_usable=True)
WITH_GPU = MachineSpeed(20e9, 400e9, (GpuSpeed("Card", 500e9, 50e12),))


def test_decode_streams_the_weights_once_per_token() -> None:
    entry = load_catalog().get("deepseek-coder-6.7b-instruct:Q4_K_M")
    shape, est = model_shape(entry), estimate_memory(entry, n_ctx=4096)
    seconds = decode_seconds(shape, est, device_rates(CPU), n_past=0)
    streamed = entry.size - shape.token_embd_bytes  # every weight but the embedding rows
    assert seconds == pytest.approx(streamed / 20e9, rel=0.05)
    # Attention reads the KV cache so far: 2K tokens of a 6.7B's cache are 1 GiB more per token.
    later = decode_seconds(shape, est, device_rates(CPU), n_past=2048)
    assert later - seconds == pytest.approx(2048 * 524_288 / 20e9, rel=0.01)


def test_a_moe_model_reads_and_computes_only_its_active_experts() -> None:
    catalog = load_catalog()
    lite = catalog.get("deepseek-coder-v2-lite-instruct:Q4_K_M")  # 10 GB file, 2.4B of 15.7B active
    dense = catalog.get("deepseek-coder-6.7b-instruct:Q8_0")  # 7 GB file, all active
    rates = device_rates(CPU)
    lite_speed = predict_speed(model_shape(lite), estimate_memory(lite), rates)
    dense_speed = predict_speed(model_shape(dense), estimate_memory(dense), rates)
    assert lite_speed.decode_tokens_per_s > 2 * dense_speed.decode_tokens_per_s
    # Prompt work follows the active parameters: about 2.4B against 6.5B.
    ratio = dense_speed.first_token_s / lite_speed.first_token_s
    assert 2.0 < ratio < 3.2


def test_prompt_time_is_two_operations_per_active_parameter_plus_attention() -> None:
    entry = load_catalog().get("deepseek-coder-1.3b-instruct:Q8_0")
    shape, est = model_shape(entry), estimate_memory(entry)
    seconds = prompt_seconds(shape, est, device_rates(CPU), 1000)
    work = 2 * shape.layer_params * 1000 + attention_flops(shape.n_layer, shape.n_embd, 1000)
    assert seconds == pytest.approx(work / 400e9)
    assert shape.layer_params == pytest.approx(1.35e9 - 2 * 32256 * 2048, rel=0.001)
    # Cached tokens are not read again, but the new ones attend to them.
    warm = prompt_seconds(shape, est, device_rates(CPU), 100, n_past=900)
    assert prompt_seconds(shape, est, device_rates(CPU), 100) < warm < seconds


def test_gpu_layers_run_at_the_gpus_rates() -> None:
    entry = load_catalog().get("deepseek-coder-6.7b-instruct:Q4_K_M")
    shape = model_shape(entry)
    rates = device_rates(WITH_GPU, (GPU,))
    speeds = [
        predict_speed(shape, estimate_memory(entry, n_gpu_layers=layers, n_ctx=4096), rates)
        for layers in (0, 8, 16, 33)
    ]
    decode = [s.decode_tokens_per_s for s in speeds]
    first = [s.first_token_s for s in speeds]
    assert decode == sorted(decode) and first == sorted(first, reverse=True)
    assert speeds[-1].decode_tokens_per_s > 10 * speeds[0].decode_tokens_per_s


def test_the_first_token_of_a_2k_question_is_reading_it_and_one_decode() -> None:
    entry = load_catalog().get("deepseek-coder-1.3b-instruct:Q4_K_M")
    shape, est, rates = model_shape(entry), estimate_memory(entry), device_rates(CPU)
    speed = predict_speed(shape, est, rates)
    read = prompt_seconds(shape, est, rates, QUESTION_TOKENS)
    assert speed.first_token_s == pytest.approx(read + decode_seconds(shape, est, rates, QUESTION_TOKENS))
    assert speed.prompt_tokens_per_s == pytest.approx(QUESTION_TOKENS / read)
    assert set(speed.cli_dict()) == {"decode_tokens_per_s", "prompt_tokens_per_s", "first_token_s_at_2k"}
    assert speed.source == PREDICTED


def test_without_a_measurement_the_rates_are_assumed() -> None:
    assert device_rates(None).assumed
    assert device_rates(CPU, (GPU,)).assumed  # a GPU the benchmark did not measure
    assert not device_rates(WITH_GPU, (GPU,)).assumed
    entry = load_catalog().get("deepseek-coder-1.3b-instruct:Q4_K_M")
    assert predict_speed(model_shape(entry), estimate_memory(entry), device_rates(None)).source == ASSUMED


def test_measured_ratios_scale_the_prediction() -> None:
    entry = load_catalog().get("deepseek-coder-1.3b-instruct:Q4_K_M")
    speed = predict_speed(model_shape(entry), estimate_memory(entry), device_rates(CPU))
    slower = speed.scaled(0.5, 0.8, MEASURED)
    assert slower.decode_tokens_per_s == pytest.approx(speed.decode_tokens_per_s * 0.5)
    assert slower.first_token_s == pytest.approx(speed.first_token_s / 0.8)
    assert slower.source == MEASURED
