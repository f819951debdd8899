"""The hardware probe: the real machine, recorded profiles, fake sysfs, isolated discovery."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest

from app.hardware import gpus as gpu_discovery
from app.hardware.gpus import (
    BackendInfo,
    GpuInfo,
    discover_gpus_isolated,
    discovery_from_json,
    discovery_to_json,
    mark_usability,
    read_drm_sysfs,
    read_nvidia,
)
from app.hardware.machine_speed import MachineSpeed, load_cached_speed, save_speed
from app.hardware.machine_speed_benchmark import measure_machine_speed, with_machine_speed
from app.hardware.probe import MachineProfile, ProbeReaders, _cpuinfo_name_and_flags, probe_machine, read_disk_free
from app.models.gguf import read_gguf_info
from app.models.synthetic.bench import write_bench_gguf
from app.utils.errors import CancelledError, DscoderError
from app.utils.jobs import JobControl
from tests.helpers.hardware_profiles import (
    CPU_ONLY_BUILD,
    CUDA_BUILD,
    GIB,
    MIB,
    PROFILES,
    readers_for,
    write_fake_sysfs,
)
from tests.helpers.machine_speed import SMALL_BENCHMARK_BYTES, small_measurement


@pytest.mark.slow
def test_probe_of_this_machine_is_sane(tmp_path: Path) -> None:
    machine = probe_machine(tmp_path)  # real readers, real discovery child
    assert machine.memory.ram_total_bytes > 512 * MIB
    assert 0 < machine.memory.ram_available_bytes <= machine.memory.ram_total_bytes
    assert machine.cpu.logical_cores >= machine.cpu.physical_cores >= 1
    assert machine.cpu.name
    assert machine.disk_free_bytes > 0
    assert "CPU" in machine.backends.registry or machine.backends.error
    for gpu in machine.gpus:
        assert gpu.backend_usable or gpu.unusable_reason


@pytest.mark.slow
def test_discovery_child_that_hangs_is_stopped() -> None:
    result = discover_gpus_isolated([sys.executable, "-c", "import time; time.sleep(60)"], timeout=1)
    assert result.gpus == ()
    assert "longer than" in result.notes[0]


@pytest.mark.slow
def test_discovery_child_that_crashes_is_reported() -> None:
    # Killed by a signal, as a driver fault would (SIGKILL leaves no core file behind).
    result = discover_gpus_isolated(
        [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"], timeout=30
    )
    assert result.gpus == ()
    assert "crashed" in result.notes[0]


@pytest.mark.slow
def test_discovery_child_with_garbage_output() -> None:
    result = discover_gpus_isolated([sys.executable, "-c", "print('hello')"], timeout=30)
    assert "unreadable" in result.notes[0]


def test_discovery_round_trips_through_json() -> None:
    machine = probe_machine(Path("."), readers_for(PROFILES["a100x2_128gb"]))
    from app.hardware.gpus import GpuDiscovery

    original = GpuDiscovery(machine.gpus, machine.backends, ("a note",))
    assert discovery_from_json(discovery_to_json(original)) == original


def test_amd_gpu_from_fake_sysfs(tmp_path: Path) -> None:
    root = write_fake_sysfs(tmp_path, PROFILES["rx7900xtx_32gb"].amd_sysfs)
    write_fake_sysfs(tmp_path, {"card2": {"vendor": "0x10de", "mem_info_vram_total": "1"}})  # NVIDIA: not AMD's
    gpus = read_drm_sysfs("amd", root)
    assert [g.name for g in gpus] == ["AMD GPU 0x164e", "AMD Radeon RX 7900 XTX"]
    big = gpus[1]
    assert big.vram_total_bytes == 24 * GIB
    assert big.vram_free_bytes == 24 * GIB - 400 * MIB
    assert big.source == "sysfs"
    assert read_drm_sysfs("amd", tmp_path / "missing") == []


def test_intel_gpu_without_vram_files_is_unified(tmp_path: Path) -> None:
    root = write_fake_sysfs(tmp_path, {"card0": {"vendor": "0x8086", "device": "0x46a6"}})
    (gpu,) = read_drm_sysfs("intel", root)
    assert gpu.vendor == "intel" and gpu.unified_memory and gpu.vram_total_bytes == 0


def test_nvml_failure_falls_back_to_nvidia_smi(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_nvml() -> list[GpuInfo]:
        raise RuntimeError("NVML Shared Library Not Found")

    monkeypatch.setattr(gpu_discovery, "read_nvidia_nvml", broken_nvml)
    monkeypatch.setattr(gpu_discovery.shutil, "which", lambda name: "/usr/bin/" + name)
    monkeypatch.setattr(gpu_discovery, "_run_text", lambda cmd: "NVIDIA GeForce RTX 3060, 12288, 11730, 550.54.14, 8.6")
    (gpu,) = read_nvidia()
    assert gpu.name == "NVIDIA GeForce RTX 3060"
    assert gpu.vram_total_bytes == 12288 * MIB
    assert gpu.compute_capability == "8.6" and gpu.driver == "550.54.14"
    assert gpu.source == "nvidia-smi"


def test_gpu_the_build_cannot_use_is_reported() -> None:
    gpu = GpuInfo("NVIDIA GeForce RTX 3060", "nvidia", 12 * GIB, 11 * GIB)
    unusable = mark_usability(gpu, CPU_ONLY_BUILD)
    assert not unusable.backend_usable
    assert "CUDA" in unusable.unusable_reason and "RTX 3060" in unusable.unusable_reason
    usable = mark_usability(gpu, CUDA_BUILD)
    assert usable.backend_usable and usable.backend == "CUDA"
    amd = mark_usability(GpuInfo("Radeon", "amd", GIB, GIB), CUDA_BUILD)
    assert not amd.backend_usable  # a CUDA build cannot drive an AMD card
    vulkan = mark_usability(GpuInfo("Radeon", "amd", GIB, GIB), BackendInfo(True, ("Vulkan", "CPU")))
    assert vulkan.backend_usable and vulkan.backend == "Vulkan"


@pytest.mark.parametrize("key", sorted(PROFILES))
def test_recorded_profiles_probe(key: str, tmp_path: Path) -> None:
    profile = PROFILES[key]
    machine = probe_machine(tmp_path, readers_for(profile, tmp_path / "sys"))
    assert machine.memory == profile.memory
    assert machine.cpu == profile.cpu
    assert machine.disk_free_bytes == profile.disk_free_bytes
    if key == "unusable_gpu_32gb":
        assert machine.gpus and not machine.gpus[0].backend_usable
    elif key.startswith(("laptop", "cloud_vm")):
        assert machine.gpus == ()
    else:
        assert machine.usable_gpus


def test_cpuinfo_flags_x86_and_arm(tmp_path: Path) -> None:
    x86 = tmp_path / "x86"
    x86.write_text(
        "processor\t: 0\nmodel name\t: AMD Ryzen 9\nflags\t\t: fpu sse4_2 avx avx2 fma avx512f\n\n"
        "processor\t: 1\nmodel name\t: AMD Ryzen 9\nflags\t\t: fpu\n"
    )
    assert _cpuinfo_name_and_flags(x86) == ("AMD Ryzen 9", {"fpu", "sse4_2", "avx", "avx2", "fma", "avx512f"})
    arm = tmp_path / "arm"
    arm.write_text("processor\t: 0\nFeatures\t: fp asimd evtstrm aes asimddp\nCPU part\t: 0xd0c\n")
    name, flags = _cpuinfo_name_and_flags(arm)
    assert "asimd" in flags and name == ""
    assert _cpuinfo_name_and_flags(tmp_path / "none") == ("", set())


def test_disk_free_of_a_folder_not_yet_made(tmp_path: Path) -> None:
    assert read_disk_free(tmp_path / "models" / "not" / "yet") > 0


def test_probe_readers_are_replaceable(tmp_path: Path) -> None:
    calls: list[str] = []
    base = readers_for(PROFILES["laptop_8gb"])

    def gpus():  # type: ignore[no-untyped-def]
        calls.append("gpus")
        return base.gpus()

    machine = probe_machine(
        tmp_path,
        ProbeReaders(cpu=base.cpu, memory=base.memory, gpus=gpus, disk_free=base.disk_free, os_name=lambda: "test OS"),
    )
    assert calls == ["gpus"] and machine.os == "test OS"


# -- the machine's speed: the benchmark child, its cache, its failures ---------------------------
def test_the_benchmark_model_is_a_real_q4_k_gguf_past_the_caches(tmp_path: Path) -> None:
    model = write_bench_gguf(tmp_path / "bench.gguf")
    info = read_gguf_info(model.path)
    assert info.architecture == "llama" and info.quant == "Q4_K_M" and info.block_count == model.n_layer
    assert 240 * MIB <= model.path.stat().st_size <= 290 * MIB  # larger than any CPU's last-level cache
    assert model.streamed_bytes_per_token > 0.95 * model.weight_bytes - 2 * MIB
    small = write_bench_gguf(tmp_path / "small.gguf", SMALL_BENCHMARK_BYTES)
    assert small.n_layer == 1


@pytest.mark.slow
def test_the_benchmark_measures_this_machine_in_a_child_and_caches_it(tmp_path: Path) -> None:
    machine = probe_machine(tmp_path)
    steps: list[tuple[float, str]] = []
    speed = small_measurement(machine, progress=lambda fraction, step: steps.append((fraction, step)))
    # A machine busy with other programs measures slow, and the result says so (test_machine_load.py).
    assert (speed.cpu_decode_bytes_per_s > 1e8 and speed.cpu_prompt_flops > 1e9) or speed.measured_under_load
    assert speed.gpus == () or machine.usable_gpus
    assert speed.measured_at and 0 < speed.run_s and speed.hardware == machine.hardware_key()
    assert speed.run_s < 60 or speed.measured_under_load
    assert steps[0] == (0.0, "writing the test model") and steps[-1][0] == 1.0
    assert [fraction for fraction, _step in steps] == sorted(fraction for fraction, _step in steps)
    assert any("Q8_0" in step for _fraction, step in steps)
    assert load_cached_speed(machine.hardware_key()) == speed
    assert probe_machine(tmp_path).machine_speed == speed  # the next probe reads it from the cache
    assert with_machine_speed(probe_machine(tmp_path), measure=_never).machine_speed == speed
    issue_fields = {"cpu_decode_bytes_per_s", "cpu_prompt_flops", "gpus", "measured_at"}
    assert set(speed.to_json()) == issue_fields | {
        "cpu_type_factors",
        "cpu_attention_flops",
        "cpu_decode_attention_flops",
        "cpu_decode_attention_row_s",
        "cpu_flash_decode_attention_flops",
        "cpu_flash_decode_attention_row_s",
        "cpu_layer_overhead_s",
        "cpu_output_row_s",
        "measured_under_load",
        "runs",
    }
    assert speed.cpu_layer_overhead_s >= 0 and speed.cpu_output_row_s >= 0
    factors = {f.type_name: f for f in speed.cpu_type_factors}
    assert set(factors) == {"Q4_K", "Q8_0"} and (factors["Q4_K"].decode, factors["Q4_K"].prompt) == (1.0, 1.0)
    assert factors["Q8_0"].decode > 0 and factors["Q8_0"].prompt > 0
    assert 0 < speed.cpu_attention_flops <= speed.cpu_prompt_flops  # guarded: never faster than the matmuls
    # Decode attention's rate is capped by the small Q4_K model's matmul rate, which a burst of
    # load can put above the main model's: only its sign is the benchmark's promise.
    assert speed.cpu_decode_attention_flops > 0 and speed.cpu_decode_attention_row_s >= 0
    assert speed.cpu_flash_decode_attention_flops > 0  # measured with flash attention on too


def _never(*_args: object, **_kwargs: object) -> MachineSpeed:
    raise AssertionError("a cached speed must not be measured again")


def test_a_new_gpu_or_driver_means_a_new_measurement(tmp_path: Path) -> None:
    machine = probe_machine(tmp_path, readers_for(PROFILES["rtx3060_32gb"]))
    save_speed(MachineSpeed(30e9, 600e9, hardware=machine.hardware_key()))
    assert load_cached_speed(machine.hardware_key()) is not None
    newer = dataclasses.replace(machine.gpus[0], driver="560.1")
    assert load_cached_speed(dataclasses.replace(machine, gpus=(newer,)).hardware_key()) is None
    assert load_cached_speed(machine.hardware_key(n_threads=4)) is None  # another thread setting
    measured: list[bool] = []

    def measure(_machine: MachineProfile, **_kwargs: object) -> MachineSpeed:
        measured.append(True)
        return MachineSpeed(1e9, 1e9, hardware=_machine.hardware_key())

    unmeasured = dataclasses.replace(machine, machine_speed=None, gpus=(newer,))
    assert with_machine_speed(unmeasured, measure=measure).machine_speed is not None and measured == [True]
    with_machine_speed(dataclasses.replace(machine, machine_speed=None), again=True, measure=measure)
    assert measured == [True, True]  # "Measure again"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("script", "words"),
    [
        ("import time; time.sleep(60)", "ran past its time"),
        ('print(\'DSCODER_SPEED_FAILED {"what": "no backend"}\', flush=True)', "no backend"),
        ("import os; os._exit(3)", "exit code 3"),
    ],
)
def test_a_benchmark_child_that_hangs_fails_or_dies_is_an_error_that_says_so(
    tmp_path: Path, script: str, words: str
) -> None:
    machine = probe_machine(tmp_path, readers_for(PROFILES["laptop_8gb"]))
    with pytest.raises(DscoderError) as caught:
        measure_machine_speed(machine, child=[sys.executable, "-c", script, "--"], timeout_s=2)
    assert words in str(caught.value) and "Measure again" in str(caught.value)


@pytest.mark.slow
def test_a_benchmark_can_be_cancelled(tmp_path: Path) -> None:
    control = JobControl()
    control.cancel()
    machine = probe_machine(tmp_path, readers_for(PROFILES["laptop_8gb"]))
    with pytest.raises(CancelledError):
        measure_machine_speed(machine, control=control, child=[sys.executable, "-c", "import time; time.sleep(60)"])
