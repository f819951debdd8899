"""`dscoder probe` and `dscoder estimate`: the JSON keys other tools read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app import cli
from app.commands import probe as probe_command
from app.hardware.probe import probe_machine
from tests.helpers.hardware_profiles import PROFILES, readers_for
from tests.helpers.synthetic_gguf import SHAPE_6_7B, write_synthetic_gguf

ESTIMATE_KEYS = {"weights_bytes", "kv_bytes", "compute_bytes", "ram_bytes", "vram_bytes"}


def test_probe_json_keys_on_this_machine(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["probe", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"ram_total_bytes", "ram_available_bytes", "cpu", "gpus", "disk_free_bytes", "recommendation"}
    assert data["ram_total_bytes"] >= data["ram_available_bytes"] > 0
    assert data["cpu"]["logical_cores"] >= 1


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
    assert set(rec) == {"variant", "quant", "repo", "file", "gpu_layers", "ctx", "ram_bytes", "vram_bytes", "reason"}
    assert rec["gpu_layers"] == 28 and rec["vram_bytes"] > 0


def test_probe_text_table(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    machine = probe_machine(tmp_path, readers_for(PROFILES["unusable_gpu_32gb"]))
    monkeypatch.setattr(probe_command, "probe_machine", lambda models_dir: machine)
    assert cli.main(["probe", "--purpose", "completion"]) == 0
    out = capsys.readouterr().out
    assert "Recommendation:" in out and "NOT usable" in out
    assert "deepseek-coder-33b-base:Q8_0" in out


def test_estimate_json_for_a_file_and_a_catalog_id(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write_synthetic_gguf(tmp_path / "m.gguf", SHAPE_6_7B)
    assert cli.main(["estimate", "--model", str(path), "--ctx", "4096", "--gpu-layers", "all", "--json"]) == 0
    from_file = json.loads(capsys.readouterr().out)
    assert set(from_file) == ESTIMATE_KEYS
    assert from_file["kv_bytes"] == 524_288 * 4096 and from_file["vram_bytes"] > from_file["ram_bytes"]
    assert cli.main(["estimate", "--model", "deepseek-coder-6.7b-instruct:Q4_K_M", "--kv-type", "q8_0", "--json"]) == 0
    from_catalog = json.loads(capsys.readouterr().out)
    assert set(from_catalog) == ESTIMATE_KEYS and from_catalog["vram_bytes"] == 0
    assert cli.main(["estimate", "--model", "deepseek-coder-6.7b-instruct:Q4_K_M"]) == 0
    assert "KV cache (f16)" in capsys.readouterr().out


def test_estimate_errors_are_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert cli.main(["estimate", "--model", "deepseek-coder-6.7b:Q4_K_M"]) == 1
    assert "Did you mean" in capsys.readouterr().err
    assert cli.main(["estimate", "--model", str(tmp_path / "missing.gguf")]) == 1
    assert "does not exist" in capsys.readouterr().err
