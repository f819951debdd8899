"""The planner on recorded machine profiles: what each machine is told to run, and why.

Each profile carries the speed the benchmark measures on such a machine, so the plan
is for use: it fits with headroom left and meets the speed floors, or says why not.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from app.config.settings import Settings
from app.config.validation import validate_settings
from app.hardware.probe import MachineProfile, MemoryInfo, probe_machine
from app.models.catalog import load_catalog
from app.models.planning.planner import (
    FIT_CPU_ONLY,
    FIT_FULL_GPU,
    FIT_NONE,
    FIT_PARTIAL_GPU,
    FIT_REMOTE,
    Headroom,
    Plan,
    PlanOptions,
    SpeedFloors,
    plan_for_machine,
    plan_options,
)
from app.models.planning.speed_prediction import ASSUMED, PREDICTED
from tests.helpers.hardware_profiles import GIB, PROFILES, readers_for

# profile -> (recommended chat entry, fit, words the reason must contain)
EXPECTED_CHAT = {
    # 4.9 GB available less 1.9 GB of headroom and 0.8 GB of prompt cache leaves 2.2 GB, and the
    # engine's completion context (2K tokens of a 1.3B's full-width KV) counts too: a 1.3B at 3K
    # (Q5_K_M since issue 20's compute buffers, measured smaller: scores and activations overlap).
    "laptop_8gb": (
        "deepseek-coder-1.3b-instruct:Q5_K_M",
        FIT_CPU_ONLY,
        ["1.3B Instruct Q5_K_M on the CPU", "3K context"],
    ),
    # The 6.7B no longer fits beside 3.9 GB of headroom and 1.5 GB of prompt cache.
    "laptop_16gb": ("deepseek-coder-1.3b-instruct:Q8_0", FIT_CPU_ONLY, ["1.3B Instruct Q8_0 on the CPU", "tokens/s"]),
    "rtx3060_32gb": (
        "deepseek-coder-v2-lite-instruct:Q8_0",
        FIT_PARTIAL_GPU,
        ["of 28 layers on the NVIDIA GeForce RTX 3060 (12.0 GB)", "a 2K-token question in"],
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
    # Unified memory: 9.5 GB available less 4 GB of headroom and 1.6 GB of prompt cache, and the
    # completion KV context beside the chat's: Q8_0 at an 8K chat KV context.
    "macbook_m2_16gb": ("deepseek-coder-1.3b-instruct:Q8_0", FIT_FULL_GPU, ["all layers on the Apple M2 GPU"]),
    "rx7900xtx_32gb": ("deepseek-coder-v2-lite-instruct:Q8_0", FIT_FULL_GPU, ["AMD Radeon RX 7900 XTX (24.0 GB)"]),
    # V2-Lite fits on the CPU but reads a 2K-token question too slowly: the 1.3B it is.
    "unusable_gpu_32gb": (
        "deepseek-coder-1.3b-instruct:Q8_0",
        FIT_CPU_ONLY,
        ["cannot use the NVIDIA GeForce RTX 3060"],
    ),
    # Nothing meets the floors on 2 cores: the closest, and the reason says so (with a 2K
    # question's attention counted in its decode, the faster-decoding Q4_K_M is the closest).
    "cloud_vm_23gb": (
        "deepseek-coder-1.3b-instruct:Q4_K_M",
        FIT_CPU_ONLY,
        ["No model in the catalog meets your speed floors", "the closest is 1.3B Instruct Q4_K_M on the CPU"],
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
            assert fit.estimate.needed_ram_bytes < machine.memory.ram_available_bytes
        else:
            assert fit.why
    rec = plan.recommendation
    if rec is not None:
        assert rec.fits and rec.suitable and not rec.entry.remote_only
        assert plan.reason.endswith(".") and plan.reason.count(". ") == 0  # one sentence
        assert rec.entry.quant in plan.reason
        headroom = Headroom()
        total = machine.memory.ram_total_bytes
        keep = headroom.system(total) + headroom.prompt_cache(total)
        assert rec.estimate is not None and rec.estimate.needed_ram_bytes <= machine.memory.ram_available_bytes - keep


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
    machine = dataclasses.replace(machine_for("rtx4090_64gb", tmp_path), disk_free_bytes=5 * 10**9)
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
    assert set(rec) == RECOMMENDATION_KEYS
    assert rec["file"] == "DeepSeek-Coder-V2-Lite-Instruct-Q8_0.gguf"
    assert rec["decode_tokens_per_s"] > 8 and rec["speed_source"] == PREDICTED  # type: ignore[operator]


RECOMMENDATION_KEYS = {
    "variant",
    "quant",
    "repo",
    "file",
    "gpu_layers",
    "ctx",
    "ram_bytes",
    "vram_bytes",
    "decode_tokens_per_s",
    "prompt_tokens_per_s",
    "first_token_s_at_2k",
    "plain_decode_tokens_per_s",
    "speed_source",
    "reason",
}


def test_unknown_purpose() -> None:
    with pytest.raises(ValueError):
        plan_for_machine(probe_machine(Path("."), readers_for(PROFILES["laptop_8gb"])), PlanOptions(purpose="poetry"))


# -- planning for use: speed floors, headroom, the split, two models -----------------------------
def test_a_bigger_model_that_fits_but_is_too_slow_is_the_second_line(tmp_path: Path) -> None:
    machine = machine_for("unusable_gpu_32gb", tmp_path)  # 8 cores, 25 GB free, no usable GPU
    plan = plan_for_machine(machine, PlanOptions(purpose="chat"))
    rec, alt = plan.recommendation, plan.alternative
    assert rec is not None and alt is not None
    assert rec.entry.family == "1.3b" and rec.meets_floors
    assert alt.entry.family == "v2-lite" and alt.fits and not alt.meets_floors and alt.score > rec.score
    assert alt.speed is not None and alt.speed.first_token_s > plan.floors.question_s
    assert plan.alternative_reason.startswith(f"V2-Lite Instruct {alt.entry.quant} also fits but answers at ")
    assert "to read a 2K-token question." in plan.alternative_reason
    # The trade-off in numbers: the recommendation's own speed is in its reason.
    assert rec.speed is not None and f"a 2K-token question in {rec.speed.first_token_s:.1f} s" in plan.reason
    # Relax the floors and the bigger model is the recommendation.
    relaxed = plan_for_machine(machine, PlanOptions(purpose="chat", floors=SpeedFloors(question_s=60)))
    assert relaxed.recommendation is not None and relaxed.recommendation.entry.family == "v2-lite"


def test_headroom_rules_out_the_biggest_fit(tmp_path: Path) -> None:
    machine = machine_for("laptop_16gb", tmp_path)  # 15.4 GB, 10.8 GB available
    no_headroom = Headroom(fraction=0.0, max_bytes=0, prompt_cache_bytes=1)
    bare = plan_for_machine(machine, PlanOptions(purpose="chat", headroom=no_headroom, floors=SpeedFloors(1, 600)))
    kept = plan_for_machine(machine, PlanOptions(purpose="chat", floors=SpeedFloors(1, 600)))
    biggest = bare.recommendation
    assert biggest is not None and biggest.entry.family in ("v2-lite", "6.7b")  # the largest in all 10.8 GB
    kept_fits = {f.entry.id: f for f in kept.fits}
    assert kept_fits[biggest.entry.id].fit == FIT_NONE  # 3.9 GB for the system + 1.5 GB of cache stay free
    assert "is free to use" in kept_fits[biggest.entry.id].why
    assert all(f.fit == FIT_NONE for f in kept.fits if f.entry.family == "v2-lite")
    assert all(f.fit == FIT_NONE or f.ctx <= 4096 for f in kept.fits if f.entry.family == "6.7b")  # Q2_K at 2.5K
    assert kept.recommendation is not None and kept.recommendation.entry.family == "1.3b"


def test_a_gpu_plus_cpu_split_is_faster_than_the_cpu_and_slower_than_the_gpu(tmp_path: Path) -> None:
    machine = machine_for("rtx3060_32gb", tmp_path)  # V2-Lite Q8_0 (16.7 GB) on a 12 GB card
    plan = plan_for_machine(machine, PlanOptions(purpose="chat"))
    rec = plan.recommendation
    assert rec is not None and rec.fit == FIT_PARTIAL_GPU and rec.speed is not None and rec.meets_floors
    assert rec.estimate is not None and rec.estimate.vram_bytes > 0 and rec.estimate.weights_ram_bytes > 0
    cpu_only = dataclasses.replace(machine, gpus=())
    on_cpu = {f.entry.id: f for f in plan_for_machine(cpu_only, PlanOptions(purpose="chat")).fits}[rec.entry.id]
    assert on_cpu.speed is not None and on_cpu.speed.decode_tokens_per_s < rec.speed.decode_tokens_per_s
    assert on_cpu.speed.first_token_s > rec.speed.first_token_s
    full = {f.entry.id: f for f in plan_for_machine(machine_for("rtx4090_64gb", tmp_path)).fits}[rec.entry.id]
    assert full.speed is not None and full.speed.decode_tokens_per_s > rec.speed.decode_tokens_per_s


def test_chat_and_completion_get_two_models_when_one_cannot_serve_both_well(tmp_path: Path) -> None:
    # A 16-core workstation with 55 GB free and no GPU, and a user who wants ghost text within
    # 0.1 s: V2-Lite chats fast enough, but its ghost text comes later; the 1.3B base
    # completes in time beside it.
    machine = dataclasses.replace(machine_for("rtx4090_64gb", tmp_path), gpus=())
    plan = plan_for_machine(machine, PlanOptions(purpose="both", floors=SpeedFloors(completion_s=0.1)))
    chat, completion = plan.recommendation, plan.completion
    assert chat is not None and completion is not None
    assert chat.entry.family == "v2-lite" and chat.entry.serves_chat and chat.meets_floors
    assert completion.entry.fim is True and completion.entry.family == "1.3b"
    assert completion.speed is not None and completion.speed.completion_s <= plan.floors.completion_s
    assert "for chat on the CPU" in plan.reason and "for completion (first ghost text in" in plan.reason
    assert chat.estimate and completion.estimate
    assert "of RAM for the two" in plan.reason
    one = plan_for_machine(machine, PlanOptions(purpose="both", floors=SpeedFloors(completion_s=5.0)))
    assert one.completion is None  # a lax ghost-text floor: one model does both


def test_when_nothing_meets_the_floors_the_reason_says_so_and_by_how_much(tmp_path: Path) -> None:
    plan = plan_for_machine(machine_for("cloud_vm_23gb", tmp_path), PlanOptions(purpose="chat"))
    rec = plan.recommendation
    assert rec is not None and not rec.meets_floors and rec.speed is not None
    assert rec.speed.decode_tokens_per_s >= plan.floors.decode_tokens_per_s  # it meets the one it can
    assert "(8.0 tokens/s, a 2K-token question in 15 s)" in plan.reason
    assert plan.alternative is not None and plan.alternative.entry.family == "v2-lite"


def test_an_unmeasured_machine_gets_typical_speeds_and_says_so(tmp_path: Path) -> None:
    machine = dataclasses.replace(machine_for("laptop_16gb", tmp_path), machine_speed=None)
    plan = plan_for_machine(machine)
    assert plan.recommendation is not None and plan.recommendation.speed is not None
    assert plan.recommendation.speed.source == ASSUMED
    assert "typical speeds: this machine is not measured yet" in plan.reason


def test_plan_options_come_from_the_settings() -> None:
    settings = Settings(
        plan_min_tokens_per_s=12.0,
        plan_max_question_s=30.0,
        plan_max_completion_s=1.0,
        plan_headroom_percent=10.0,
        plan_headroom_max_gb=2.0,
        prompt_cache_bytes=512 * 1024 * 1024,
        n_ctx=8192,
    )
    opts = plan_options(settings, "completion")
    assert opts.floors == SpeedFloors(12.0, 30.0, 1.0) and opts.purpose == "completion" and opts.ctx_cap == 8192
    assert opts.headroom.system(64 * GIB) == 2 * GIB and opts.headroom.system(8 * GIB) == int(0.8 * GIB)
    assert opts.headroom.prompt_cache(64 * GIB) == 512 * 1024 * 1024
    assert Headroom().prompt_cache(64 * GIB) == 2 * GIB and Headroom().prompt_cache(8 * GIB) == int(0.8 * GIB)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("plan_min_tokens_per_s", 0.0),
        ("plan_max_question_s", 0.5),
        ("plan_max_completion_s", 31.0),
        ("plan_headroom_percent", 95.0),
        ("plan_headroom_max_gb", -1.0),
        ("prompt_cache_bytes", -5),
    ],
)
def test_planner_settings_out_of_range_are_named(field: str, value: float) -> None:
    problems = validate_settings(dataclasses.replace(Settings(), **{field: value}))
    assert [p.field for p in problems] == [field]
    assert str(value) in problems[0].message or repr(value) in problems[0].message
