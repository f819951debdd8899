"""`dscoder probe` and `dscoder estimate`: the JSON keys other tools read."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import pytest

from app import cli
from app.commands import probe as probe_command
from app.hardware import machine_speed_benchmark
from app.hardware.machine_speed import TypeFactor
from app.hardware.probe import probe_machine
from app.models.synthetic.shapes import SHAPE_6_7B, write_synthetic_gguf
from tests.helpers.hardware_profiles import PROFILES, readers_for
from tests.helpers.machine_speed import cache_speed_for_this_machine

SPEED_KEYS = {"decode_tokens_per_s", "prompt_tokens_per_s", "first_token_s_at_2k", "plain_decode_tokens_per_s"}
MEMORY_KEYS = {"weights_bytes", "kv_bytes", "compute_bytes", "ram_bytes", "vram_bytes", "measured"}
MEMORY_KEYS |= {"prompt_cache_bytes", "worst_case_ram_bytes", "ram_includes"}  # the cache on its own line
ESTIMATE_KEYS = MEMORY_KEYS | SPEED_KEYS | {"speed_source"}
PROBE_KEYS = {
    "ram_total_bytes",
    "ram_available_bytes",
    "cpu",
    "gpus",
    "disk_free_bytes",
    "machine_speed",
    "recommendation",
    "alternative",
    "completion_model",
}
RECOMMENDATION_KEYS = {"variant", "quant", "repo", "file", "gpu_layers", "ctx", "ram_bytes", "vram_bytes", "reason"}


@pytest.mark.slow
def test_probe_json_keys_on_this_machine(capsys: pytest.CaptureFixture[str]) -> None:
    speed = cache_speed_for_this_machine()  # measured before: no benchmark now
    assert cli.main(["probe", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == PROBE_KEYS
    assert data["ram_total_bytes"] >= data["ram_available_bytes"] > 0
    assert data["cpu"]["logical_cores"] >= 1
    assert data["machine_speed"] == speed.to_json()
    issue_keys = {"cpu_decode_bytes_per_s", "cpu_prompt_flops", "gpus", "measured_at"}
    fixed_costs = {"cpu_layer_overhead_s", "cpu_output_row_s"}
    assert set(data["machine_speed"]) == issue_keys | {"cpu_type_factors", "measured_under_load", "runs"} | fixed_costs
    assert data["machine_speed"]["measured_under_load"] is False  # no attention rate measured either


@pytest.mark.slow
def test_probe_says_when_the_benchmark_fails_and_plans_with_typical_speeds(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = [sys.executable, "-c", "import os; os._exit(3)"]  # a llama.cpp build that dies on load
    monkeypatch.setattr(machine_speed_benchmark, "speed_child_command", lambda: broken)
    assert cli.main(["probe", "--json"]) == 0
    captured = capsys.readouterr()
    assert "Could not measure this machine's speed" in captured.err and "exit code 3" in captured.err
    data = json.loads(captured.out)
    assert data["machine_speed"] is None
    assert data["recommendation"] is None or data["recommendation"]["speed_source"] == "assumed"


def test_probe_json_for_a_recorded_profile(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    machine = probe_machine(tmp_path, readers_for(PROFILES["rtx4090_64gb"]))
    monkeypatch.setattr(probe_command, "probe_machine", lambda models_dir: machine)
    assert cli.main(["probe", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    (gpu,) = data["gpus"]
    assert set(gpu) == {"name", "vram_total_bytes", "vram_free_bytes", "backend_usable"}
    assert gpu["backend_usable"] is True
    rec = data["recommendation"]
    assert set(rec) == RECOMMENDATION_KEYS | SPEED_KEYS | {"speed_source"}
    assert rec["gpu_layers"] == 28 and rec["vram_bytes"] > 0
    assert rec["decode_tokens_per_s"] > 8 and rec["first_token_s_at_2k"] < 15
    assert data["machine_speed"]["gpus"] == [
        {"name": "NVIDIA GeForce RTX 4090", "decode_bytes_per_s": 500e9, "prompt_flops": 180e12}
    ]


def test_probe_text_table(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    machine = probe_machine(tmp_path, readers_for(PROFILES["unusable_gpu_32gb"]))
    monkeypatch.setattr(probe_command, "probe_machine", lambda models_dir: machine)
    assert cli.main(["probe", "--purpose", "completion"]) == 0
    out = capsys.readouterr().out
    assert "Recommendation:" in out and "NOT usable" in out
    assert "deepseek-coder-33b-base:Q8_0" in out
    assert "Speed      CPU 36.0 GB/s decode, 670 GFLOP/s prompt (recorded)" in out
    # Only the edited tokens are evaluated after a keystroke, so the MoE's ghost text is in time.
    assert "Recommendation: V2-Lite Base" in out and "first ghost text in" in out
    row = next(line for line in out.splitlines() if line.startswith("*"))
    assert "deepseek-coder-v2-lite-base" in row and " s " in row  # the speed columns
    assert "Weight types" not in out  # a recorded speed without per-type factors


def test_probe_text_shows_the_attention_rate_and_the_weight_types(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    machine = probe_machine(tmp_path, readers_for(PROFILES["unusable_gpu_32gb"]))
    assert machine.machine_speed is not None
    factors = (TypeFactor("Q4_K", 1.0, 1.0), TypeFactor("Q8_0", 1.47, 0.54))
    speed = dataclasses.replace(machine.machine_speed, cpu_type_factors=factors, cpu_attention_flops=34e9)
    monkeypatch.setattr(
        probe_command, "probe_machine", lambda models_dir: dataclasses.replace(machine, machine_speed=speed)
    )
    assert cli.main(["probe"]) == 0
    out = capsys.readouterr().out
    assert "670 GFLOP/s prompt, 34 GFLOP/s attention (recorded)" in out
    line = next(line for line in out.splitlines() if line.startswith("Weight types"))
    assert line.endswith("CPU decode/prompt speed against Q4_K: Q8_0 1.5/0.5")  # Q4_K itself goes without saying


@pytest.mark.slow
def test_estimate_json_for_a_file_and_a_catalog_id(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    cache_speed_for_this_machine()
    path = write_synthetic_gguf(tmp_path / "m.gguf", SHAPE_6_7B)
    assert cli.main(["estimate", "--model", str(path), "--ctx", "4096", "--gpu-layers", "all", "--json"]) == 0
    from_file = json.loads(capsys.readouterr().out)
    assert set(from_file) == ESTIMATE_KEYS
    # The chat KV context and the engine's completion KV context (2K tokens) both hold a KV cache.
    assert from_file["kv_bytes"] == 524_288 * (4096 + 2048) and from_file["vram_bytes"] > from_file["ram_bytes"]
    assert cli.main(["estimate", "--model", "deepseek-coder-6.7b-instruct:Q4_K_M", "--kv-type", "q8_0", "--json"]) == 0
    from_catalog = json.loads(capsys.readouterr().out)
    assert set(from_catalog) == ESTIMATE_KEYS and from_catalog["vram_bytes"] == 0
    # 3.8 GB streamed per token at 11.5 GB/s; 2 x 6.5e9 operations per prompt token at 66 GFLOP/s.
    assert 2.0 < from_catalog["decode_tokens_per_s"] < 3.2 and 4 < from_catalog["prompt_tokens_per_s"] < 6
    assert from_catalog["first_token_s_at_2k"] > 300 and from_catalog["measured"] is False
    assert cli.main(["estimate", "--model", "deepseek-coder-6.7b-instruct:Q4_K_M"]) == 0
    out = capsys.readouterr().out
    # 2.1: a 2K past also costs its attention's operations (at the prompt rate: no decode rate measured).
    assert "KV cache (f16)" in out and "Speed (predicted): 2.1 tokens/s while answering" in out


def test_estimate_errors_are_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert cli.main(["estimate", "--model", "deepseek-coder-6.7b:Q4_K_M"]) == 1
    assert "Did you mean" in capsys.readouterr().err
    assert cli.main(["estimate", "--model", str(tmp_path / "missing.gguf")]) == 1
    assert "does not exist" in capsys.readouterr().err
