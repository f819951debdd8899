"""Self-correction: a real load is recorded, and the next estimate for that file and those settings uses it."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path

import pytest

from app import cli
from app.hardware.probe import probe_machine
from app.llm.client import OpenAIClient
from app.llm.info import local_engine_info
from app.llm.supervisor import EngineSupervisor
from app.models.catalog import load_catalog
from app.models.gguf import read_gguf_info
from app.models.planning.estimator import estimate_memory
from app.models.planning.load_recorder import parse_buffer_sizes, record_engine_load, record_engine_request
from app.models.planning.measured import LoadRecord, LoadSettings, MeasuredLoads, ModelFileId, SpeedSample
from app.models.planning.planner import PlanOptions, plan_for_machine
from app.models.planning.speed_prediction import MEASURED, PREDICTED
from app.models.synthetic.shapes import SHAPE_6_7B, write_synthetic_gguf
from app.models.synthetic.tiny import TINY, write_tiny_gguf
from app.protocol.options import LoadOptions, SamplingParams
from app.utils.units import MIB
from tests.helpers.hardware_profiles import PROFILES, readers_for
from tests.helpers.machine_speed import cache_speed_for_this_machine

PROMPT = "def add(a, b):\n    return a + b\n\n" * 20  # about 200 tokens of the tiny vocabulary


def estimate_json(capsys: pytest.CaptureFixture[str], model: Path, *args: str) -> dict[str, object]:
    assert cli.main(["estimate", "--model", str(model), "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def recorded_tiny(tmp_path: Path) -> tuple[Path, LoadRecord]:
    """The tiny model loaded by the real engine at 2K context, one request served, all recorded."""
    cache_speed_for_this_machine()
    model = write_tiny_gguf(tmp_path / "tiny.gguf", TINY)
    with EngineSupervisor(LoadOptions(model_path=str(model), n_ctx=2048), log_path=tmp_path / "engine.log") as engine:
        endpoint = engine.start()
        loaded = record_engine_load(endpoint.pid, engine.log_path, endpoint.info)
        assert loaded is not None
        client = OpenAIClient(endpoint.base_url, endpoint.api_key)
        try:
            events = list(client.stream_completion(PROMPT, params=SamplingParams(max_tokens=24)))
        finally:
            client.close()
        stats = events[-1].stats
        assert stats is not None
        # The GUI passes the session's EngineInfo; the engine's own dict works as well (above).
        info = local_engine_info(endpoint.info, pid=endpoint.pid, base_url=endpoint.base_url)
        record = record_engine_request(endpoint.pid, info, stats.usage)
    assert record is not None
    return model, record


@pytest.mark.slow
def test_a_load_records_what_llama_cpp_allocated(recorded_tiny: tuple[Path, LoadRecord]) -> None:
    model, record = recorded_tiny
    info = read_gguf_info(model)
    est = estimate_memory(info, n_ctx=2048, completion_ctx=None)  # the engine's chat and completion contexts
    assert record.settings == LoadSettings(2048, 0)
    assert record.buffer_bytes("kv", True) == est.kv_bytes  # the estimator's KV formula, to the byte
    assert record.buffer_bytes("model", True) > 0.9 * info.tensor_data_bytes
    assert record.buffer_bytes("compute", True) > 0 and record.buffer_bytes("model", False) == 0
    assert record.rss_at_load > 20 * MIB and record.rss_peak >= record.rss_at_load
    assert {s.kind for s in record.samples} == {"prompt", "decode"}
    prompt = next(s for s in record.samples if s.kind == "prompt")
    assert prompt.tokens > 100 and prompt.seconds > 0 and prompt.predicted_s > 0
    assert record.hardware and record.placement == "cpu"
    assert MeasuredLoads().get(record.file, record.settings) == record  # kept in the data folder


@pytest.mark.slow
def test_the_next_estimate_for_that_file_and_settings_is_measured(
    recorded_tiny: tuple[Path, LoadRecord], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    model, record = recorded_tiny
    measured = estimate_json(capsys, model, "--ctx", "2048")
    assert measured["measured"] is True
    assert measured["kv_bytes"] == record.buffer_bytes("kv", True)
    assert measured["ram_bytes"] >= record.rss_at_load  # type: ignore[operator]
    ratio = record.speed_ratio("decode")
    assert ratio is not None
    assert cli.main(["estimate", "--model", str(model), "--ctx", "2048"]) == 0
    text = capsys.readouterr().out
    assert "Total (measured)" in text and "Speed (measured)" in text

    # Measured only for the same file and the same settings.
    assert estimate_json(capsys, model, "--ctx", "4096")["measured"] is False
    assert estimate_json(capsys, model, "--ctx", "2048", "--batch", "256")["measured"] is False
    copy = Path(shutil.copy(model, tmp_path / "copy.gguf"))
    assert estimate_json(capsys, copy, "--ctx", "2048")["measured"] is False
    os.utime(model, ns=(record.file.mtime_ns + 10**9, record.file.mtime_ns + 10**9))  # the file changed
    assert estimate_json(capsys, model, "--ctx", "2048")["measured"] is False


@pytest.mark.slow
def test_a_tiny_models_answers_do_not_correct_the_machine(
    recorded_tiny: tuple[Path, LoadRecord], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    model, _record = recorded_tiny
    other = estimate_json(capsys, model, "--ctx", "4096")  # another load of the same file: not measured
    assert other["measured"] is False and other["speed_source"] == PREDICTED
    # Its time is mostly fixed costs: it corrects neither itself at another size nor a 6.7B
    # (tests/unit/test_machine_correction.py has the loads that do correct every model).
    big = write_synthetic_gguf(tmp_path / "big.gguf", SHAPE_6_7B)
    assert cli.main(["estimate", "--model", str(big), "--ctx", "4096"]) == 0
    assert f"Speed ({PREDICTED})" in capsys.readouterr().out


def test_an_installed_catalog_file_loaded_just_so_is_measured_in_the_plan(tmp_path: Path) -> None:
    machine = probe_machine(tmp_path, readers_for(PROFILES["laptop_16gb"]))
    entry_id = "deepseek-coder-1.3b-instruct:Q4_K_M"
    fit = {f.entry.id: f for f in plan_for_machine(machine).fits}[entry_id]
    assert fit.estimate is not None and fit.speed is not None and fit.speed.source == PREDICTED
    path = tmp_path / "deepseek-coder-1.3b-instruct.Q4_K_M.gguf"
    path.write_bytes(b"GGUF")
    file = ModelFileId.of(path)
    assert file is not None
    settings = LoadSettings(fit.ctx, fit.gpu_layers)
    store = MeasuredLoads(tmp_path / "loads.json")
    store.put(
        LoadRecord(
            file,
            settings,
            24,
            buffers={"model": {"CPU_Mapped": 800 * MIB}, "kv": {"CPU": 3072 * MIB}, "compute": {"CPU": 300 * MIB}},
            rss_at_load=900 * MIB,
            samples=[SpeedSample("decode", 100, 10.0, 2048, 5.0)],  # half the predicted speed
        )
    )
    opts = PlanOptions(installed={entry_id: str(path)}, measured=store)
    measured = {f.entry.id: f for f in plan_for_machine(machine, opts).fits}[entry_id]
    assert measured.speed is not None and measured.speed.source == MEASURED
    assert measured.speed.decode_tokens_per_s == pytest.approx(fit.speed.decode_tokens_per_s / 2)
    assert measured.estimate is not None and measured.estimate.measured
    assert measured.estimate.kv_ram_bytes == 3072 * MIB
    other_ctx = dataclasses.replace(opts, ctx_cap=fit.ctx // 2)  # another context: not this load
    assert {f.entry.id: f for f in plan_for_machine(machine, other_ctx).fits}[entry_id].speed.source != MEASURED  # type: ignore[union-attr]
    assert entry_id in {e.id for e in load_catalog().entries}


def test_buffer_lines_of_several_llama_cpp_versions_are_read() -> None:
    log = """
load_tensors:   CPU_Mapped model buffer size =   462.96 MiB
load_tensors:        CUDA0 model buffer size =  3918.00 MiB
llama_kv_cache:        CPU KV buffer size =    24.00 MiB
llama_kv_cache:      CUDA0 KV buffer size =   992.00 MiB
llama_context:        CPU  output buffer size =     0.58 MiB
sched_reserve:      CUDA0 compute buffer size =   300.25 MiB
sched_reserve:  CUDA_Host compute buffer size =    12.01 MiB
llm_load_tensors:        CPU buffer size =   100.00 MiB
"""
    buffers = parse_buffer_sizes(log)
    assert buffers["model"] == {"CPU_Mapped": int(462.96 * MIB), "CUDA0": 3918 * MIB, "CPU": 100 * MIB}
    assert buffers["kv"] == {"CPU": 24 * MIB, "CUDA0": 992 * MIB}
    assert buffers["compute"] == {"CUDA0": int(300.25 * MIB), "CUDA_Host": int(12.01 * MIB)}
    record = LoadRecord(ModelFileId("/m", 1, 1), LoadSettings(4096, 33), 32, buffers=buffers)
    assert record.buffer_bytes("compute", True) == int(12.01 * MIB)  # pinned host memory is RAM
    assert record.buffer_bytes("kv", False) == 992 * MIB


def test_a_broken_or_missing_measured_loads_file_starts_afresh_and_is_rewritten(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert MeasuredLoads(tmp_path / "missing.json").for_file(ModelFileId("/m", 1, 1)) == []
    path = tmp_path / "loads.json"
    path.write_text("{not json", encoding="utf-8")
    store = MeasuredLoads(path)
    assert "the measured-loads file" in caplog.text and "starting afresh" in caplog.text
    record = LoadRecord(ModelFileId("/m", 1, 1), LoadSettings(4096, 0), 24, rss_at_load=900 * MIB)
    store.put(record)
    assert MeasuredLoads(path).get(record.file, record.settings) == record
