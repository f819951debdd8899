"""A decoded token's fixed costs on the CPU: per layer and per output row, beside streaming its bytes.

A narrow model of many layers (Qwen2.5-Coder-0.5B: 896 wide, 24 layers) and a 152K-token
vocabulary pay them far more per byte than the benchmark's 2,048-wide model; the benchmark
child measures them on thin models and takes them out of its bandwidth and type factors."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from app.engine.machine_speed_child import (
    BIG_VOCAB_KEY,
    FEW_LAYERS_KEY,
    MANY_LAYERS_KEY,
    THIN_MODELS,
    DecodeFixedCosts,
    _fixed_costs,
    _token_seconds,
)
from app.hardware.gpus import GpuInfo
from app.hardware.machine_speed import GpuSpeed, MachineSpeed
from app.models.catalog import load_catalog
from app.models.planning.estimator import MemoryEstimate, estimate_memory
from app.models.planning.shape import ModelMemoryShape, model_shape
from app.models.planning.speed_prediction import SAMPLING_S_PER_VOCAB_TOKEN, decode_seconds, device_rates
from app.models.synthetic.bench import DEFAULT_SHAPE, BenchModel, BenchShape, QuantType, layer_matrices, matrix_bytes

LAYER_S, ROW_S = 60e-6, 4e-9  # as this 2-core EPYC measures them, about
FIXED_COSTS_CPU = MachineSpeed(20e9, 400e9, cpu_layer_overhead_s=LAYER_S, cpu_output_row_s=ROW_S)
NO_FIXED_COSTS_CPU = MachineSpeed(20e9, 400e9)
GPU = GpuInfo("Card", "nvidia", 24 * 1024**3, 23 * 1024**3, backend_usable=True)


def _entry_shape(entry_id: str = "deepseek-coder-1.3b-instruct:Q4_K_M") -> tuple[ModelMemoryShape, MemoryEstimate]:
    entry = load_catalog().get(entry_id)
    return model_shape(entry), estimate_memory(entry, n_ctx=4096)


def test_the_same_bytes_in_more_layers_decode_slower_by_the_per_layer_cost() -> None:
    shape, est = _entry_shape()
    per_layer = shape.layer_bytes[0]
    deeper = dataclasses.replace(shape, n_layer=shape.n_layer * 2, layer_bytes=(per_layer // 2,) * (shape.n_layer * 2))
    rates = device_rates(FIXED_COSTS_CPU)
    extra = decode_seconds(deeper, est, rates, 0) - decode_seconds(shape, est, rates, 0)
    assert extra == pytest.approx(shape.n_layer * LAYER_S)
    # A machine where the layers cost nothing beside their bytes sees no difference.
    flat = device_rates(NO_FIXED_COSTS_CPU)
    assert decode_seconds(deeper, est, flat, 0) == pytest.approx(decode_seconds(shape, est, flat, 0))


def test_a_big_vocabulary_decodes_slower_than_the_same_bytes_with_a_small_one() -> None:
    shape, est = _entry_shape()
    big = dataclasses.replace(shape, vocab=151_936)  # the same bytes: only the rows differ
    rates = device_rates(FIXED_COSTS_CPU)
    extra = decode_seconds(big, est, rates, 0) - decode_seconds(shape, est, rates, 0)
    rows = 151_936 - shape.vocab
    assert extra == pytest.approx(rows * (ROW_S + SAMPLING_S_PER_VOCAB_TOKEN))


def test_a_qwen_shaped_model_pays_its_layers_and_output_rows_fixed_costs() -> None:
    """24 layers and 152K output rows: about 2 ms of fixed work beside 390 MB at 20 GB/s."""
    shape, est = _entry_shape()
    qwen = dataclasses.replace(shape, n_layer=24, vocab=151_936)
    with_costs = decode_seconds(qwen, est, device_rates(FIXED_COSTS_CPU), 0)
    without = decode_seconds(qwen, est, device_rates(NO_FIXED_COSTS_CPU), 0)
    assert with_costs - without == pytest.approx(24 * LAYER_S + 151_936 * ROW_S)


def test_layers_and_output_on_the_gpu_pay_no_cpu_fixed_costs() -> None:
    entry = load_catalog().get("deepseek-coder-6.7b-instruct:Q4_K_M")
    shape, est = model_shape(entry), estimate_memory(entry, n_gpu_layers=-1, n_ctx=4096)
    with_gpu = dataclasses.replace(FIXED_COSTS_CPU, gpus=(GpuSpeed("Card", 500e9, 50e12),))
    flat_gpu = dataclasses.replace(NO_FIXED_COSTS_CPU, gpus=(GpuSpeed("Card", 500e9, 50e12),))
    assert decode_seconds(shape, est, device_rates(with_gpu, (GPU,)), 0) == pytest.approx(
        decode_seconds(shape, est, device_rates(flat_gpu, (GPU,)), 0)
    )


def test_the_fixed_costs_are_kept_and_read_back_and_an_old_result_has_none() -> None:
    data = FIXED_COSTS_CPU.to_json()
    assert MachineSpeed.from_json(data).cpu_layer_overhead_s == LAYER_S
    assert MachineSpeed.from_json(data).cpu_output_row_s == ROW_S
    old = {key: value for key, value in data.items() if key not in ("cpu_layer_overhead_s", "cpu_output_row_s")}
    assert MachineSpeed.from_json(old).cpu_layer_overhead_s == 0.0
    with pytest.raises(ValueError):
        MachineSpeed.from_json({**data, "cpu_layer_overhead_s": -1.0})


def _bench_model(name: str, quant: QuantType, n_layer: int, shape: BenchShape) -> BenchModel:
    """The model the child would write, without writing it: its byte counts."""
    layer = sum(matrix_bytes(rows, cols, quant) for _n, rows, cols in layer_matrices(shape)) * n_layer
    output = matrix_bytes(shape.n_vocab, shape.n_embd, shape.output_quant or quant)
    return BenchModel(Path(name), n_layer, quant, layer + output, layer + output, 0, shape, output)


def test_the_child_recovers_the_fixed_costs_from_the_thin_models_times() -> None:
    """Token times made from known costs and a known Q8_0 rate: the child's arithmetic gives them back."""
    models = {name: _bench_model(name, quant, layers, shape) for name, quant, layers, shape in THIN_MODELS}
    models["Q8_0"] = _bench_model("Q8_0", QuantType.Q8_0, 2, DEFAULT_SHAPE)
    truth = DecodeFixedCosts(LAYER_S, ROW_S)
    q8_rate = 15e9

    def token_s(model: BenchModel) -> float:
        return model.streamed_bytes_per_token / q8_rate + model.n_layer * LAYER_S + model.shape.n_vocab * ROW_S

    seconds = {name: token_s(model) for name, model in models.items()}
    costs = _fixed_costs(models, seconds)
    assert costs.layer_s == pytest.approx(truth.layer_s, rel=0.02)
    assert costs.output_row_s == pytest.approx(truth.output_row_s, rel=0.02)
    # The Q8_0 model's own bytes then stream at the rate they were made with.
    q8 = models["Q8_0"]
    assert q8.streamed_bytes_per_token / costs.streaming_s(q8, seconds["Q8_0"]) == pytest.approx(q8_rate, rel=0.02)
    assert {FEW_LAYERS_KEY, MANY_LAYERS_KEY, BIG_VOCAB_KEY} <= set(models)


def test_noise_never_leaves_a_model_less_than_a_share_of_its_time_to_stream() -> None:
    costs = DecodeFixedCosts(layer_s=1.0, output_row_s=0.0)  # absurd: a second a layer
    model = _bench_model("Q4_K", QuantType.Q4_K, 2, DEFAULT_SHAPE)
    assert 0 < costs.streaming_s(model, 0.01) <= 0.01


def test_a_thin_model_counts_its_fastest_token_and_a_type_model_its_faster_half() -> None:
    """A burst of load that preempts a thread mid-token adds as much as the fixed costs themselves."""
    seconds = [0.002, 0.009, 0.003, 0.030]
    assert _token_seconds(FEW_LAYERS_KEY, seconds) == 0.002
    assert _token_seconds("Q4_K", seconds) == pytest.approx(0.0025)
