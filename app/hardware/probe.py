"""The hardware probe: CPU, memory, GPUs, llama.cpp backends and disk, Qt-free.

Every reading is a small function; `ProbeReaders` bundles them so tests swap in
recorded profiles. GPU discovery and the llama.cpp backend check run in a child
process with a timeout (see app/hardware/gpus.py): a broken driver that hangs
or crashes takes the child down, never the app.
"""

from __future__ import annotations

import dataclasses
import platform
import shutil
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

from app.hardware.gpus import (
    BackendInfo,
    GpuDiscovery,
    GpuInfo,
    GpuReaders,
    _run_text,
    collect_gpus,
    discover_gpus_isolated,
    read_drm_sysfs,
)
from app.hardware.machine_speed import MachineSpeed, hardware_key, load_cached_speed

SIMD_FLAGS = (
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx512f",
    "avx512bw",
    "avx512_vnni",
    "avx512_bf16",
    "amx_tile",
    "neon",
    "asimd",
    "sve",
    "dotprod",
    "i8mm",
)


@dataclass(frozen=True)
class CpuInfo:
    name: str
    arch: str
    physical_cores: int
    logical_cores: int
    flags: tuple[str, ...]  # the SIMD flags from SIMD_FLAGS that this CPU has


@dataclass(frozen=True)
class MemoryInfo:
    ram_total_bytes: int
    ram_available_bytes: int
    swap_total_bytes: int
    swap_free_bytes: int


@dataclass(frozen=True)
class MachineProfile:
    cpu: CpuInfo
    memory: MemoryInfo
    gpus: tuple[GpuInfo, ...]
    backends: BackendInfo
    disk_free_bytes: int
    models_dir: str
    os: str
    notes: tuple[str, ...] = ()
    machine_speed: MachineSpeed | None = None  # measured llama.cpp speed; None: not measured yet

    @property
    def usable_gpus(self) -> tuple[GpuInfo, ...]:
        return tuple(g for g in self.gpus if g.backend_usable and g.vram_total_bytes > 0)

    def hardware_key(self, n_threads: int = 0) -> str:
        """What the machine's speed depends on (see app/hardware/machine_speed.py)."""
        cpu = self.cpu
        return hardware_key(
            cpu.name,
            cpu.physical_cores,
            cpu.logical_cores,
            self.memory.ram_total_bytes,
            self.gpus,
            n_threads,
            cpu.flags,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- CPU, memory, disk: cheap, in-process ------------------------------------------------


def read_cpu() -> CpuInfo:
    name, flags = _cpuinfo_name_and_flags(Path("/proc/cpuinfo"))
    if not name:
        name = platform.processor() or platform.machine()
        if sys.platform == "darwin":
            name = _run_text(["sysctl", "-n", "machdep.cpu.brand_string"]) or name
    machine = platform.machine().lower()
    if machine in ("arm64", "aarch64") and "neon" not in flags:
        flags = flags | {"neon"}  # NEON is mandatory on 64-bit ARM
    return CpuInfo(
        name=name,
        arch=machine,
        physical_cores=psutil.cpu_count(logical=False) or psutil.cpu_count() or 1,
        logical_cores=psutil.cpu_count() or 1,
        flags=tuple(f for f in SIMD_FLAGS if f in flags),
    )


def _cpuinfo_name_and_flags(path: Path) -> tuple[str, set[str]]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "", set()
    name = ""
    flags: set[str] = set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key in ("model name", "hardware", "cpu model") and not name:
            name = value.strip()
        elif key in ("flags", "features") and not flags:
            flags = set(value.split())
    return name, flags


def read_memory() -> MemoryInfo:
    vm = psutil.virtual_memory()
    sw = psutil.swap_memory()
    return MemoryInfo(int(vm.total), int(vm.available), int(sw.total), int(sw.free))


def read_disk_free(folder: Path) -> int:
    folder = Path(folder)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        return int(shutil.disk_usage(folder).free)
    except OSError:
        return 0


# --- the whole probe ----------------------------------------------------------------------


@dataclass
class ProbeReaders:
    cpu: Callable[[], CpuInfo] = read_cpu
    memory: Callable[[], MemoryInfo] = read_memory
    gpus: Callable[[], GpuDiscovery] = field(default=discover_gpus_isolated)
    disk_free: Callable[[Path], int] = read_disk_free
    os_name: Callable[[], str] = lambda: f"{platform.system()} {platform.release()}"
    speed: Callable[[str], MachineSpeed | None] = load_cached_speed  # hardware key -> cached speed


def probe_machine(models_dir: Path | None = None, readers: ProbeReaders | None = None) -> MachineProfile:
    """Read this machine. Takes up to GPU_DISCOVERY_TIMEOUT_S; call it off the GUI thread."""
    readers = readers or ProbeReaders()
    if models_dir is None:
        from app.config.settings import load_settings

        models_dir = load_settings().resolved_models_dir()
    discovery = readers.gpus()
    machine = MachineProfile(
        cpu=readers.cpu(),
        memory=readers.memory(),
        gpus=discovery.gpus,
        backends=discovery.backends,
        disk_free_bytes=readers.disk_free(Path(models_dir)),
        models_dir=str(models_dir),
        os=readers.os_name(),
        notes=discovery.notes,
    )
    return dataclasses.replace(machine, machine_speed=readers.speed(machine.hardware_key()))


__all__ = [
    "BackendInfo",
    "CpuInfo",
    "GpuDiscovery",
    "GpuInfo",
    "GpuReaders",
    "MachineProfile",
    "MachineSpeed",
    "MemoryInfo",
    "ProbeReaders",
    "collect_gpus",
    "discover_gpus_isolated",
    "probe_machine",
    "read_cpu",
    "read_disk_free",
    "read_drm_sysfs",
    "read_memory",
]
