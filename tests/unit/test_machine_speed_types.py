"""The benchmark's weight types: the synthetic models of each type, and the factors a MachineSpeed keeps."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from app.engine.backends import ensure_backends_loaded, model_params_for_this_cpu
from app.hardware.machine_speed import MachineSpeed, TypeFactor, load_cached_speed, save_speed
from app.models.gguf import read_gguf_info
from app.models.planning.shape import model_shape
from app.models.synthetic.bench import BENCH_TYPES, QuantType, write_bench_gguf

MEASURED = MachineSpeed(
    7.8e9,
    311e9,
    measured_at="2026-05-01T10:58:00+00:00",
    run_s=8.9,
    hardware="key",
    cpu_type_factors=(TypeFactor("Q4_K", 1.0, 1.0), TypeFactor("Q5_0", 0.78, 0.46), TypeFactor("Q8_0", 1.47, 0.54)),
    cpu_attention_flops=34e9,
)


@pytest.mark.parametrize("quant", BENCH_TYPES, ids=[q.name for q in BENCH_TYPES])
def test_a_benchmark_model_of_each_type_says_its_types(tmp_path: Path, quant: QuantType) -> None:
    model = write_bench_gguf(tmp_path / "m.gguf", quant=quant, n_layer=1)
    info = read_gguf_info(model.path)
    shape = model_shape(info)
    assert dict(shape.layer_types).keys() == {quant.name, "F32"}
    assert shape.output_type == quant.name
    assert info.block_count == 1 and info.context_length == 4096


def test_every_benchmark_type_loads_and_runs_in_llama_cpp_with_finite_logits(tmp_path: Path) -> None:
    import llama_cpp

    ensure_backends_loaded()
    for quant in BENCH_TYPES:
        model = write_bench_gguf(tmp_path / f"{quant.name}.gguf", quant=quant, n_layer=1)
        with model_params_for_this_cpu():
            llm = llama_cpp.Llama(
                model_path=str(model.path), n_ctx=256, n_threads=1, n_threads_batch=1, logits_all=True, verbose=False
            )
        try:
            assert llm.n_ctx() == 256 and llm._model.n_ctx_train() == 4096  # the header's context reached it
            llm.eval([5, 6, 7, 8])
            logits = llm.scores[:4].ravel()
            assert all(math.isfinite(float(value)) for value in logits) and logits.any(), quant.name
        finally:
            llm.close()
        model.path.unlink()


def test_the_type_factors_and_attention_rate_are_kept_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "speed.json"
    save_speed(MEASURED, path)
    assert load_cached_speed("key", path) == MEASURED
    assert MEASURED.cpu_attention_rate == 34e9
    data = MEASURED.to_json()
    assert data["cpu_type_factors"]["Q8_0"] == {"decode": 1.47, "prompt": 0.54}
    assert data["cpu_attention_flops"] == 34e9


def test_a_speed_saved_without_factors_reads_as_one_rate_for_everything(tmp_path: Path) -> None:
    path = tmp_path / "speed.json"
    old = {"cpu_decode_bytes_per_s": 11.5e9, "cpu_prompt_flops": 66e9, "gpus": [], "measured_at": "", "run_s": 6.0}
    path.write_text(json.dumps({"schema": 1, "machines": {"old": old}}))
    speed = load_cached_speed("old", path)
    assert speed is not None and speed.cpu_type_factors == () and speed.cpu_attention_rate == 66e9
    assert "cpu_attention_flops" not in speed.to_json()


def test_a_damaged_factor_means_measuring_again(tmp_path: Path) -> None:
    path = tmp_path / "speed.json"
    damaged = {**MEASURED.to_json(), "cpu_type_factors": {"Q8_0": {"decode": 0.0, "prompt": 1.0}}}
    path.write_text(json.dumps({"schema": 1, "machines": {"key": damaged}}))
    assert load_cached_speed("key", path) is None
