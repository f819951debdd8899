"""Recorded machine profiles: what the probe's readers returned on real machine types.

Each profile gives the readers' raw answers (CPU, memory, GPUs as the vendor tools
report them, the llama.cpp backend registry, disk) and the machine speed the
benchmark measures there (decode bytes/s and prompt FLOP/s per device, matching
llama.cpp's published results for such machines: llama-bench tg128 and pp512 of a
7B Q4_0 times its weight bytes and its 2 x 6.7e9 operations per token).
`readers_for(profile)` turns a profile into `ProbeReaders` so `probe_machine` runs
its real code on them; the AMD profile is read from a fake sysfs tree by the real
sysfs reader.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from app.hardware.machine_speed import GpuSpeed
from app.hardware.probe import (
    BackendInfo,
    CpuInfo,
    GpuInfo,
    GpuReaders,
    MachineSpeed,
    MemoryInfo,
    ProbeReaders,
    collect_gpus,
    read_drm_sysfs,
)
from app.utils.units import GIB, MIB

CPU_ONLY_BUILD = BackendInfo(False, ("CPU",), ("CPU: x86",))
CUDA_BUILD = BackendInfo(True, ("CUDA", "CPU"), ("CUDA0: NVIDIA", "CPU: x86"))
CUDA_BUILD_2 = BackendInfo(True, ("CUDA", "CPU"), ("CUDA0: NVIDIA A100", "CUDA1: NVIDIA A100", "CPU: x86"))
METAL_BUILD = BackendInfo(True, ("Metal", "BLAS", "CPU"), ("MTL0: Apple M2", "CPU: Apple M2"))
ROCM_BUILD = BackendInfo(True, ("ROCm", "CPU"), ("ROCm0: AMD Radeon RX 7900 XTX", "CPU: x86"))

X86_LAPTOP = CpuInfo(
    "Intel(R) Core(TM) i5-1135G7 @ 2.40GHz", "x86_64", 4, 8, ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f")
)
X86_DESKTOP = CpuInfo("AMD Ryzen 7 5800X 8-Core Processor", "x86_64", 8, 16, ("sse4_2", "avx", "avx2", "fma", "f16c"))
X86_WORKSTATION = CpuInfo(
    "AMD Ryzen 9 7950X 16-Core Processor", "x86_64", 16, 32, ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f")
)
X86_SERVER = CpuInfo("AMD EPYC 7763 64-Core Processor", "x86_64", 64, 128, ("sse4_2", "avx", "avx2", "fma", "f16c"))
APPLE_M2 = CpuInfo("Apple M2", "arm64", 8, 8, ("neon", "asimd", "dotprod"))


@dataclass(frozen=True)
class RecordedProfile:
    name: str
    cpu: CpuInfo
    memory: MemoryInfo
    nvidia: tuple[GpuInfo, ...] = ()
    apple: tuple[GpuInfo, ...] = ()
    backends: BackendInfo = CPU_ONLY_BUILD
    disk_free_bytes: int = 200 * 10**9
    amd_sysfs: dict[str, dict[str, str]] = field(default_factory=dict)  # card -> file -> content
    machine_speed: MachineSpeed | None = None


def _mem(total_gib: float, available_gib: float, swap_gib: float = 2) -> MemoryInfo:
    return MemoryInfo(int(total_gib * GIB), int(available_gib * GIB), int(swap_gib * GIB), int(swap_gib * GIB))


def _speed(cpu: tuple[float, float], *gpus: tuple[str, float, float]) -> MachineSpeed:
    """CPU (GB/s decode, GFLOP/s prompt) and per GPU (name, GB/s, TFLOP/s)."""
    return MachineSpeed(
        cpu[0] * 1e9, cpu[1] * 1e9, tuple(GpuSpeed(name, gbs * 1e9, tflops * 1e12) for name, gbs, tflops in gpus)
    )


LAPTOP_SPEED = (16, 380)  # 4 cores, dual-channel LPDDR4x: 7B Q4_0 at 4.5 tokens/s, pp512 28 tokens/s
DESKTOP_SPEED = (36, 670)  # 8 cores, DDR4-3200: 10 tokens/s, pp512 50 tokens/s
WORKSTATION_SPEED = (55, 1700)  # 16 cores, DDR5: 15 tokens/s, pp512 125 tokens/s
SERVER_SPEED = (120, 5000)  # 64 cores, 8-channel DDR4
# The 2-core cloud VM of issue 15: 11.5 GB/s effective (the test model's 0.46 GB at 25 tokens/s)
# and the 0.5B model's 92 prompt tokens/s (2 x 0.36e9 operations a token).
VM_SPEED = (11.5, 66)


def _nv(name: str, total_mib: int, free_mib: int, cc: str) -> GpuInfo:
    return GpuInfo(
        name, "nvidia", total_mib * MIB, free_mib * MIB, driver="550.54.14", compute_capability=cc, source="nvml"
    )


PROFILES: dict[str, RecordedProfile] = {
    "laptop_8gb": RecordedProfile(
        "8 GB laptop, no GPU", X86_LAPTOP, _mem(7.6, 4.9), machine_speed=_speed(LAPTOP_SPEED)
    ),
    "laptop_16gb": RecordedProfile(
        "16 GB laptop, no GPU", X86_LAPTOP, _mem(15.4, 10.8), machine_speed=_speed(LAPTOP_SPEED)
    ),
    "rtx3060_32gb": RecordedProfile(
        "32 GB + RTX 3060 12 GB",
        X86_DESKTOP,
        _mem(31.3, 25.0),
        nvidia=(_nv("NVIDIA GeForce RTX 3060", 12288, 11730, "8.6"),),
        backends=CUDA_BUILD,
        machine_speed=_speed(DESKTOP_SPEED, ("NVIDIA GeForce RTX 3060", 230, 30)),
    ),
    "rtx4090_64gb": RecordedProfile(
        "64 GB + RTX 4090 24 GB",
        X86_WORKSTATION,
        _mem(62.6, 55.0),
        nvidia=(_nv("NVIDIA GeForce RTX 4090", 24564, 23980, "8.9"),),
        backends=CUDA_BUILD,
        machine_speed=_speed(WORKSTATION_SPEED, ("NVIDIA GeForce RTX 4090", 500, 180)),
    ),
    "a100x2_128gb": RecordedProfile(
        "128 GB + 2 x A100 80 GB",
        X86_SERVER,
        _mem(125.7, 118.0),
        nvidia=(_nv("NVIDIA A100-SXM4-80GB", 81920, 81050, "8.0"), _nv("NVIDIA A100-SXM4-80GB", 81920, 81050, "8.0")),
        backends=CUDA_BUILD_2,
        disk_free_bytes=1500 * 10**9,
        machine_speed=_speed(SERVER_SPEED, ("NVIDIA A100-SXM4-80GB", 550, 80)),
    ),
    "macbook_m2_16gb": RecordedProfile(
        "MacBook M2 16 GB",
        APPLE_M2,
        _mem(16, 9.5, 0),
        apple=(
            GpuInfo(
                "Apple M2 GPU", "apple", int(16 * GIB * 0.67), int(9.5 * GIB), unified_memory=True, source="sysctl"
            ),
        ),
        backends=METAL_BUILD,
        machine_speed=_speed((60, 400), ("Apple M2 GPU", 75, 2.4)),
    ),
    "rx7900xtx_32gb": RecordedProfile(
        "32 GB + Radeon RX 7900 XTX 24 GB (sysfs)",
        X86_DESKTOP,
        _mem(31.3, 25.0),
        backends=ROCM_BUILD,
        machine_speed=_speed(DESKTOP_SPEED, ("AMD Radeon RX 7900 XTX", 430, 47)),
        amd_sysfs={
            "card1": {
                "vendor": "0x1002",
                "device": "0x744c",
                "product_name": "AMD Radeon RX 7900 XTX",
                "mem_info_vram_total": str(24 * GIB),
                "mem_info_vram_used": str(400 * MIB),
            },
            "card0": {
                "vendor": "0x1002",
                "device": "0x164e",
                "mem_info_vram_total": str(512 * MIB),
                "mem_info_vram_used": str(100 * MIB),
            },
        },
    ),
    "unusable_gpu_32gb": RecordedProfile(
        "32 GB + RTX 3060 12 GB, CPU-only llama.cpp build",
        X86_DESKTOP,
        _mem(31.3, 25.0),
        nvidia=(_nv("NVIDIA GeForce RTX 3060", 12288, 11730, "8.6"),),
        backends=CPU_ONLY_BUILD,
        machine_speed=_speed(DESKTOP_SPEED),
    ),
    "cloud_vm_23gb": RecordedProfile(
        "2-core cloud VM with 23 GB (issue 15's machine)",
        CpuInfo("Intel(R) Xeon(R) Platinum 8480+", "x86_64", 2, 2, ("avx2", "avx512f", "amx_tile")),
        _mem(23.4, 22.9, 0),
        machine_speed=_speed(VM_SPEED),
    ),
}


def write_fake_sysfs(root: Path, cards: dict[str, dict[str, str]]) -> Path:
    """A /sys/class/drm-like tree: root/cardN/device/<file>."""
    for card, files in cards.items():
        device = root / card / "device"
        device.mkdir(parents=True, exist_ok=True)
        for name, content in files.items():
            (device / name).write_text(content + "\n", encoding="utf-8")
    (root / "card1-DP-1").mkdir(parents=True, exist_ok=True)  # connectors must be skipped
    return root


def readers_for(profile: RecordedProfile, sysfs_root: Path | None = None) -> ProbeReaders:
    """ProbeReaders that answer with the recorded profile (GPU discovery in-process)."""
    if profile.amd_sysfs and sysfs_root is None:
        raise ValueError("this profile reads a fake sysfs tree: pass sysfs_root")

    def amd() -> list[GpuInfo]:
        return read_drm_sysfs("amd", write_fake_sysfs(sysfs_root, profile.amd_sysfs)) if sysfs_root else []

    gpu_readers = GpuReaders(
        nvidia=lambda: list(profile.nvidia),
        amd=amd,
        intel=lambda: [],
        apple=lambda: list(profile.apple),
        backends=lambda: profile.backends,
    )
    return ProbeReaders(
        cpu=lambda: profile.cpu,
        memory=lambda: profile.memory,
        gpus=lambda: collect_gpus(gpu_readers),
        disk_free=lambda _folder: profile.disk_free_bytes,
        os_name=lambda: profile.name,
        speed=lambda _key: profile.machine_speed,
    )
