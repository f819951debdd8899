"""Real answers correct the speed prediction of every model on this machine, per forward pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.hardware.probe import probe_machine
from app.models.planning.load_recorder import forward_passes
from app.models.planning.measured import (
    MIN_CORRECTING_BYTES,
    LoadRecord,
    LoadSettings,
    MeasuredLoads,
    ModelFileId,
    SpeedSample,
)
from app.models.planning.planner import PlanOptions, plan_for_machine
from app.models.planning.speed_prediction import CALIBRATED, PREDICTED
from tests.helpers.hardware_profiles import PROFILES, readers_for

MIB = 1024 * 1024
CHAT_1P3B = "deepseek-coder-1.3b-instruct:Q4_K_M"
BASE_1P3B_Q8 = "deepseek-coder-1.3b-base:Q8_0"


def _record(tmp_path: Path, name: str, hardware: str, streamed: int, decode: float, prompt: float) -> LoadRecord:
    """A recorded load whose answers ran at decode x and prompt x the predicted speed."""
    path = tmp_path / name
    path.write_bytes(b"GGUF")
    file = ModelFileId.of(path)
    assert file is not None
    samples = [
        SpeedSample("decode", 100, 10.0, 2048, 10.0 * decode),  # 100 forward passes
        SpeedSample("prompt", 2000, 20.0, 0, 20.0 * prompt),
    ]
    return LoadRecord(file, LoadSettings(4096, 0), 24, hardware, "cpu", streamed, samples=samples)


def test_a_drafted_answer_is_judged_per_forward_pass() -> None:
    plain = {"completion_tokens": 101, "draft_accepted": 0, "decode_ms": 2000.0}
    drafted = {"completion_tokens": 101, "draft_tokens": 80, "draft_accepted": 50, "decode_ms": 1000.0}
    assert forward_passes(plain) == 100 and forward_passes(drafted) == 50
    # The same 20 ms a pass: drafting halved the answer's time, not the machine's speed.
    assert plain["decode_ms"] / forward_passes(plain) == drafted["decode_ms"] / forward_passes(drafted)
    assert forward_passes({**drafted, "forward_passes": 61}) == 61  # the engine's own count when it reports one


def test_one_models_answers_correct_another_models_prediction(tmp_path: Path) -> None:
    machine = probe_machine(tmp_path, readers_for(PROFILES["laptop_16gb"]))
    assert machine.machine_speed is not None
    hardware = machine.machine_speed.hardware
    before = {f.entry.id: f for f in plan_for_machine(machine).fits}
    store = MeasuredLoads(tmp_path / "loads.json")
    store.put(_record(tmp_path, "some-1.3b.gguf", hardware, 700 * MIB, decode=0.8, prompt=1.25))
    store.put(_record(tmp_path, "another.gguf", hardware, 300 * MIB, decode=0.8, prompt=1.25))
    correction = store.machine_correction(hardware, "cpu")
    assert correction is not None and correction.loads == 2
    assert (correction.decode, correction.prompt) == pytest.approx((0.8, 1.25))
    assert correction.describe() == "decode ×0.80, prompt ×1.25 from 2 measured models"

    plan = plan_for_machine(machine, PlanOptions(measured=store))
    after = {f.entry.id: f for f in plan.fits}
    for entry_id in (CHAT_1P3B, BASE_1P3B_Q8):  # neither file was ever loaded
        old, new = before[entry_id].speed, after[entry_id].speed
        assert old is not None and new is not None and new.source == CALIBRATED and old.source == PREDICTED
        assert new.decode_tokens_per_s == pytest.approx(old.decode_tokens_per_s * 0.8)
        assert new.prompt_tokens_per_s == pytest.approx(old.prompt_tokens_per_s * 1.25)
        assert new.cli_dict()["speed_correction"] == {"decode": 0.8, "prompt": 1.25}
    assert "corrected by this machine's real answers: decode ×0.80, prompt ×1.25" in plan.reason


def test_tiny_models_other_machines_and_other_placements_do_not_correct(tmp_path: Path) -> None:
    store = MeasuredLoads(tmp_path / "loads.json")
    store.put(_record(tmp_path, "tiny.gguf", "this machine", MIN_CORRECTING_BYTES - 1, decode=0.1, prompt=0.1))
    store.put(_record(tmp_path, "elsewhere.gguf", "another machine", 700 * MIB, decode=0.5, prompt=0.5))
    assert store.machine_correction("this machine", "cpu") is None
    assert store.machine_correction("another machine", "gpu") is None
    assert store.machine_correction("another machine", "cpu") is not None
