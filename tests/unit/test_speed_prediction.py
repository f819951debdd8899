"""The speed model: decode, prompt and first-token time from the machine's rates and the model's shape."""

from __future__ import annotations

import dataclasses

import pytest

from app.hardware.gpus import GpuInfo
from app.hardware.machine_speed import GpuSpeed, MachineSpeed, TypeFactor, attention_flops, decode_attention_flops
from app.models.catalog import load_catalog
from app.models.planning.estimator import MemoryEstimate, estimate_memory
from app.models.planning.shape import ModelMemoryShape, model_shape
from app.models.planning.speed_prediction import (
    ASSUMED,
    MEASURED,
    PREDICTED,
    QUESTION_TOKENS,
    decode_seconds,
    device_rates,
    predict_speed,
    prompt_seconds,
    streamed_bytes_per_token,
)
from app.models.planning.weight_types import catalog_layer_types

CPU = MachineSpeed(20e9, 400e9)
GPU = GpuInfo("Card", "nvidia", 24 * 1024**3, 23 * 1024**3, backend_usable=True)
WITH_GPU = MachineSpeed(20e9, 400e9, (GpuSpeed("Card", 500e9, 50e12),))


def test_decode_streams_the_weights_once_per_token() -> None:
    entry = load_catalog().get("deepseek-coder-6.7b-instruct:Q4_K_M")
    shape, est = model_shape(entry), estimate_memory(entry, n_ctx=4096)
    seconds = decode_seconds(shape, est, device_rates(CPU), n_past=0)
    streamed = entry.size - shape.token_embd_bytes  # every weight but the embedding rows
    assert seconds == pytest.approx(streamed / 20e9, rel=0.05)
    # Attention reads the KV cache so far: 2K tokens of a 6.7B's cache are 1 GiB more per token;
    # and its operations, at a batch's attention rate where the decode rate was not measured.
    later = decode_seconds(shape, est, device_rates(CPU), n_past=2048)
    operations = decode_attention_flops(shape.n_layer, shape.n_embd, 2048) / CPU.cpu_attention_rate
    assert later - seconds == pytest.approx(2048 * 524_288 / 20e9 + operations, rel=0.01)


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
    assert set(speed.cli_dict()) == {"decode_tokens_per_s", "prompt_tokens_per_s", "first_token_s_at_2k"} | {
        "plain_decode_tokens_per_s",
        "speed_source",
    }
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


# -- weight types and attention: the CPU's measured factors ---------------------------------------
# Factors as measured on the 2-core VM (256 MB models): Q8_0 decodes 1.47x faster per byte than
# Q4_K but multiplies 0.54x as fast; Q5_0 is slower at both.
TYPED_CPU = dataclasses.replace(
    CPU,
    cpu_type_factors=(TypeFactor("Q4_K", 1.0, 1.0), TypeFactor("Q5_0", 0.78, 0.46), TypeFactor("Q8_0", 1.47, 0.54)),
    cpu_attention_flops=40e9,
)


def _cpu_only(entry_id: str) -> tuple[ModelMemoryShape, MemoryEstimate]:
    entry = load_catalog().get(entry_id)
    return model_shape(entry), estimate_memory(entry, n_ctx=4096)


def test_a_catalog_quant_names_its_weight_types() -> None:
    shape, _ = _cpu_only("deepseek-coder-6.7b-instruct:Q4_K_M")
    mix = dict(shape.layer_types)
    assert set(mix) == {"Q4_K", "Q6_K"} and mix["Q4_K"] > 3 * mix["Q6_K"]  # llama.cpp's Q4_K_M mix
    assert sum(mix.values()) == pytest.approx(sum(shape.layer_bytes), rel=0.001) and shape.output_type == "Q6_K"
    q8, _ = _cpu_only("deepseek-coder-6.7b-instruct:Q8_0")
    assert dict(q8.layer_types).keys() == {"Q8_0"} and q8.output_type == "Q8_0"
    assert catalog_layer_types("IQ4_XS", 100) == (("Q4_K", 100),)  # unknown: Q4_K, factor 1


def test_a_type_that_decodes_faster_per_byte_is_predicted_faster() -> None:
    shape, est = _cpu_only("deepseek-coder-6.7b-instruct:Q8_0")
    plain = decode_seconds(shape, est, device_rates(CPU), n_past=0)
    typed = decode_seconds(shape, est, device_rates(TYPED_CPU), n_past=0)
    overhead = decode_seconds(shape, est, device_rates(CPU), 0) - streamed_bytes_per_token(shape, est) / 20e9
    assert typed - overhead == pytest.approx((plain - overhead) / 1.47, rel=0.001)
    # ...and slower on a prompt, where Q8_0's kernels reach only 0.54 of Q4_K's FLOP/s.
    assert prompt_seconds(shape, est, device_rates(TYPED_CPU), 64) > 1.8 * prompt_seconds(
        shape, est, device_rates(CPU), 64
    )


def test_layers_that_fell_back_to_q5_0_make_a_model_slower() -> None:
    shape, est = _cpu_only("deepseek-coder-1.3b-instruct:Q4_K_M")
    layers = sum(shape.layer_bytes)
    fallback = dataclasses.replace(shape, layer_types=(("Q4_K", layers // 2), ("Q5_0", layers // 2)))
    rates = device_rates(TYPED_CPU)
    all_q4 = dataclasses.replace(shape, layer_types=(("Q4_K", layers),))
    assert decode_seconds(fallback, est, rates, 0) > 1.1 * decode_seconds(all_q4, est, rates, 0)
    assert prompt_seconds(fallback, est, rates, 512) > 1.3 * prompt_seconds(all_q4, est, rates, 512)
    # Without measured factors every type runs at one rate: the fallback changes nothing.
    assert decode_seconds(fallback, est, device_rates(CPU), 0) == decode_seconds(all_q4, est, device_rates(CPU), 0)


def test_attention_runs_at_its_own_rate_so_long_prompts_cost_more() -> None:
    shape, est = _cpu_only("deepseek-coder-1.3b-instruct:Q4_K_M")
    attention_only = dataclasses.replace(TYPED_CPU, cpu_type_factors=())
    rates, plain = device_rates(attention_only), device_rates(CPU)
    for n_tokens in (256, 2048):
        extra = prompt_seconds(shape, est, rates, n_tokens) - prompt_seconds(shape, est, plain, n_tokens)
        work = attention_flops(shape.n_layer, shape.n_embd, n_tokens)
        assert extra == pytest.approx(work / 40e9 - work / 400e9)
    short = prompt_seconds(shape, est, rates, 256) / prompt_seconds(shape, est, plain, 256)
    long = prompt_seconds(shape, est, rates, 2048) / prompt_seconds(shape, est, plain, 2048)
    assert long > short > 1.0  # the longer the prompt, the larger attention's share


def test_gpu_layers_keep_one_rate_for_every_type() -> None:
    entry = load_catalog().get("deepseek-coder-6.7b-instruct:Q8_0")
    shape, est = model_shape(entry), estimate_memory(entry, n_gpu_layers=-1, n_ctx=4096)
    typed = dataclasses.replace(WITH_GPU, cpu_type_factors=TYPED_CPU.cpu_type_factors, cpu_attention_flops=40e9)
    assert decode_seconds(shape, est, device_rates(typed, (GPU,)), 0) == decode_seconds(
        shape, est, device_rates(WITH_GPU, (GPU,)), 0
    )
    assert prompt_seconds(shape, est, device_rates(typed, (GPU,)), 2048) == pytest.approx(
        prompt_seconds(shape, est, device_rates(WITH_GPU, (GPU,)), 2048)
    )
