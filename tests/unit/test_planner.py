"""The planner on recorded machine profiles: what each machine is told to run, and why."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.hardware.probe import MachineProfile, MemoryInfo, probe_machine
from app.models.catalog import load_catalog
from app.models.planner import (
    FIT_CPU_ONLY,
    FIT_FULL_GPU,
    FIT_NONE,
    FIT_PARTIAL_GPU,
    FIT_REMOTE,
    Plan,
    PlanOptions,
    plan_for_machine,
)
from tests.helpers.hardware_profiles import GIB, PROFILES, readers_for

# profile -> (recommended chat entry, fit, words the reason must contain)
EXPECTED_CHAT = {
    "laptop_8gb": ("deepseek-coder-1.3b-instruct:Q8_0", FIT_CPU_ONLY, ["1.3B Instruct Q8_0 on the CPU"]),
    "laptop_16gb": ("deepseek-coder-6.7b-instruct:Q6_K", FIT_CPU_ONLY, ["6.7B Instruct Q6_K on the CPU"]),
    "rtx3060_32gb": (
        "deepseek-coder-v2-lite-instruct:Q8_0",
        FIT_PARTIAL_GPU,
        ["of 28 layers on the NVIDIA GeForce RTX 3060 (12.0 GB)"],
    ),
    "rtx4090_64gb": (
        "deepseek-coder-v2-lite-instruct:Q8_0",
        FIT_FULL_GPU,
        ["all layers on the NVIDIA GeForce RTX 4090 (24.0 GB)", "16K context"],
    ),
    "a100x2_128gb": (
        "deepseek-coder-v2-lite-instruct:Q8_0",
        FIT_FULL_GPU,
        ["2 × NVIDIA A100-SXM4-80GB", "16K context"],
    ),
    "macbook_m2_16gb": ("deepseek-coder-6.7b-instruct:Q5_K_M", FIT_FULL_GPU, ["all layers on the Apple M2 GPU"]),
    "rx7900xtx_32gb": ("deepseek-coder-v2-lite-instruct:Q8_0", FIT_FULL_GPU, ["AMD Radeon RX 7900 XTX (24.0 GB)"]),
    "unusable_gpu_32gb": (
        "deepseek-coder-v2-lite-instruct:Q8_0",
        FIT_CPU_ONLY,
        ["cannot use the NVIDIA GeForce RTX 3060"],
    ),
}


def machine_for(key: str, tmp_path: Path) -> MachineProfile:
    return probe_machine(tmp_path, readers_for(PROFILES[key], tmp_path / "sys"))


def check_plan_invariants(plan: Plan, machine: MachineProfile) -> None:
    catalog = load_catalog()
    assert [f.entry.id for f in plan.fits] == [e.id for e in catalog.entries]  # every quant is listed
    for fit in plan.fits:
        if fit.fits:
            assert fit.ctx % 256 == 0 and 256 <= fit.ctx <= fit.entry.context_length
            assert fit.estimate is not None and fit.estimate.n_ctx == fit.ctx
            assert fit.estimate.ram_bytes < machine.memory.ram_available_bytes
        else:
            assert fit.why
    rec = plan.recommendation
    if rec is not None:
        assert rec.fits and rec.suitable and not rec.entry.remote_only
        assert plan.reason.endswith(".") and plan.reason.count(". ") == 0  # one sentence
        assert rec.entry.quant in plan.reason


@pytest.mark.parametrize("key", sorted(EXPECTED_CHAT))
def test_recorded_profile_chat_plan(key: str, tmp_path: Path) -> None:
    machine = machine_for(key, tmp_path)
    plan = plan_for_machine(machine, PlanOptions(purpose="chat"))
    entry_id, fit, words = EXPECTED_CHAT[key]
    assert plan.recommendation is not None
    assert (plan.recommendation.entry.id, plan.recommendation.fit) == (entry_id, fit)
    for word in words:
        assert word in plan.reason
    check_plan_invariants(plan, machine)
    rec = plan.recommendation
    if fit == FIT_FULL_GPU:
        assert rec.gpu_layers == rec.entry.hyperparameters.n_layer + 1
        usable_vram = sum(g.vram_free_bytes for g in machine.usable_gpus)
        assert rec.estimate is not None and rec.estimate.vram_bytes < usable_vram
    elif fit == FIT_PARTIAL_GPU:
        assert 1 <= rec.gpu_layers <= rec.entry.hyperparameters.n_layer
    else:
        assert rec.gpu_layers == 0 and rec.estimate is not None and rec.estimate.vram_bytes == 0


@pytest.mark.parametrize("key", sorted(PROFILES))
def test_completion_plans_pick_fim_models(key: str, tmp_path: Path) -> None:
    plan = plan_for_machine(machine_for(key, tmp_path), PlanOptions(purpose="completion"))
    assert plan.recommendation is not None
    assert plan.recommendation.entry.fim is True


@pytest.mark.parametrize("key", sorted(PROFILES))
def test_both_plans_pick_a_chat_model_that_completes(key: str, tmp_path: Path) -> None:
    plan = plan_for_machine(machine_for(key, tmp_path), PlanOptions(purpose="both"))
    assert plan.recommendation is not None
    entry = plan.recommendation.entry
    assert entry.serves_chat and entry.fim is not False


def test_236b_is_never_local_and_points_to_a_remote_engine(tmp_path: Path) -> None:
    plan = plan_for_machine(machine_for("a100x2_128gb", tmp_path))
    remote = [f for f in plan.fits if f.entry.family == "v2"]
    assert remote and all(f.fit == FIT_REMOTE for f in remote)
    assert all("remote engine" in f.why for f in remote)
    assert any("remote engine" in note and "V2 236B" in note for note in plan.notes)


def test_too_small_a_machine_gets_no_local_model(tmp_path: Path) -> None:
    tiny = machine_for("laptop_8gb", tmp_path)
    tiny = MachineProfile(tiny.cpu, MemoryInfo(2 * GIB, int(1.2 * GIB), 0, 0), (), tiny.backends, 10**11, "", "")
    plan = plan_for_machine(tiny)
    assert plan.recommendation is None and plan.recommendation_dict() is None
    assert "remote engine" in plan.reason
    assert all(f.fit in (FIT_NONE, FIT_REMOTE) for f in plan.fits)
    assert all("needs" in f.why and "RAM" in f.why for f in plan.fits if f.fit == FIT_NONE)


def test_context_respects_the_user_cap_and_the_model_limit(tmp_path: Path) -> None:
    machine = machine_for("a100x2_128gb", tmp_path)
    plan = plan_for_machine(machine, PlanOptions(ctx_cap=8000))
    assert all(f.ctx <= 8000 for f in plan.fits if f.fits)
    big = plan_for_machine(machine, PlanOptions(ctx_cap=65536))
    by_id = {f.entry.id: f for f in big.fits}
    assert by_id["deepseek-coder-7b-instruct-v1.5:Q8_0"].ctx == 4096
    assert by_id["deepseek-coder-6.7b-instruct:Q8_0"].ctx == 16384
    assert by_id["deepseek-coder-v2-lite-instruct:Q8_0"].ctx > 16384


def test_full_list_explains_each_fit(tmp_path: Path) -> None:
    plan = plan_for_machine(machine_for("rtx3060_32gb", tmp_path))
    kinds = {f.fit for f in plan.fits}
    assert {FIT_FULL_GPU, FIT_PARTIAL_GPU, FIT_REMOTE} <= kinds
    by_id = {f.entry.id: f for f in plan.fits}
    assert by_id["deepseek-coder-1.3b-instruct:Q8_0"].fit == FIT_FULL_GPU
    assert "of 63 layers on the GPU" in by_id["deepseek-coder-33b-instruct:Q4_K_M"].why


def test_not_enough_disk_blocks_the_recommendation(tmp_path: Path) -> None:
    machine = machine_for("rtx4090_64gb", tmp_path)
    machine = MachineProfile(machine.cpu, machine.memory, machine.gpus, machine.backends, 5 * 10**9, "", "")
    plan = plan_for_machine(machine)
    assert plan.recommendation is not None and plan.recommendation.entry.size < 5e9
    blocked = next(f for f in plan.fits if f.entry.id == "deepseek-coder-v2-lite-instruct:Q8_0")
    assert not blocked.suitable and "disk" in blocked.why


def test_unusable_gpu_is_named_in_the_notes(tmp_path: Path) -> None:
    plan = plan_for_machine(machine_for("unusable_gpu_32gb", tmp_path))
    assert any("RTX 3060 is not used" in note and "CUDA" in note for note in plan.notes)
    assert plan.gpus == ()


def test_recommendation_dict_keys(tmp_path: Path) -> None:
    plan = plan_for_machine(machine_for("rtx4090_64gb", tmp_path))
    rec = plan.recommendation_dict()
    assert rec is not None
    assert set(rec) == {"variant", "quant", "repo", "file", "gpu_layers", "ctx", "ram_bytes", "vram_bytes", "reason"}
    assert rec["file"] == "DeepSeek-Coder-V2-Lite-Instruct-Q8_0.gguf"


def test_unknown_purpose() -> None:
    with pytest.raises(ValueError):
        plan_for_machine(probe_machine(Path("."), readers_for(PROFILES["laptop_8gb"])), PlanOptions(purpose="poetry"))
