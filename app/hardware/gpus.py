"""GPU discovery: NVIDIA (NVML, nvidia-smi), AMD (sysfs, rocm-smi), Apple, Intel, and
which of them the installed llama.cpp build can drive (ggml backend registry).

This runs in a child process (`python -m app.engine.gpu_child`, or
`dscoder probe --gpu-child` in a frozen build) started by `discover_gpus_isolated`
with a timeout, as Ollama does: a driver that hangs or crashes takes the child
down, never the app. Every reader is a small function that tests replace.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import psutil

log = logging.getLogger(__name__)

GPU_DISCOVERY_TIMEOUT_S = 20.0
SMI_TIMEOUT_S = 8.0
SYSFS_DRM = Path("/sys/class/drm")
# Share of unified memory that Metal lets one process use (recommendedMaxWorkingSetSize):
# about two thirds on Macs up to 36 GB and three quarters above, as llama.cpp logs it.
APPLE_METAL_SHARE_SMALL = 0.67
APPLE_METAL_SHARE_LARGE = 0.75
APPLE_LARGE_RAM_BYTES = 36 * 1024**3
# ggml backend registry names that can drive each vendor's GPUs.
VENDOR_BACKENDS = {
    "nvidia": ("CUDA", "Vulkan"),
    "amd": ("ROCm", "HIP", "Vulkan"),
    "apple": ("Metal", "MTL"),
    "intel": ("SYCL", "Vulkan"),
}
PCI_VENDORS = {"0x10de": "nvidia", "0x1002": "amd", "0x8086": "intel"}


@dataclass(frozen=True)
class GpuInfo:
    name: str
    vendor: str  # nvidia, amd, apple, intel
    vram_total_bytes: int
    vram_free_bytes: int
    driver: str | None = None
    compute_capability: str | None = None
    unified_memory: bool = False  # Apple: VRAM is a share of RAM
    source: str = ""  # nvml, nvidia-smi, sysfs, rocm-smi, sysctl
    backend_usable: bool = False  # set by discovery: can this llama.cpp build offload to it?
    backend: str | None = None  # the ggml backend that would drive it
    unusable_reason: str = ""


@dataclass(frozen=True)
class BackendInfo:
    gpu_offload: bool  # llama_supports_gpu_offload()
    registry: tuple[str, ...] = ()  # ggml backend registry names, e.g. ("CUDA", "CPU")
    devices: tuple[str, ...] = ()  # ggml devices, e.g. ("CUDA0: NVIDIA GeForce RTX 4090",)
    error: str = ""


@dataclass(frozen=True)
class GpuDiscovery:
    gpus: tuple[GpuInfo, ...]
    backends: BackendInfo
    notes: tuple[str, ...] = ()


# --- GPUs: run inside the child process ---------------------------------------------------


def read_nvidia_nvml() -> list[GpuInfo]:
    import pynvml  # nvidia-ml-py

    pynvml.nvmlInit()
    try:
        driver = decode_text(pynvml.nvmlSystemGetDriverVersion())
        gpus = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            mem = pynvml.nvmlDeviceGetMemoryInfo(handle)
            try:
                major, minor = pynvml.nvmlDeviceGetCudaComputeCapability(handle)
                capability: str | None = f"{major}.{minor}"
            except pynvml.NVMLError:
                capability = None
            gpus.append(
                GpuInfo(
                    decode_text(pynvml.nvmlDeviceGetName(handle)),
                    "nvidia",
                    int(mem.total),
                    int(mem.free),
                    driver=driver,
                    compute_capability=capability,
                    source="nvml",
                )
            )
        return gpus
    finally:
        pynvml.nvmlShutdown()


def read_nvidia_smi() -> list[GpuInfo]:
    if not shutil.which("nvidia-smi"):
        return []
    out = _run_text(
        [
            "nvidia-smi",
            "--query-gpu=name,memory.total,memory.free,driver_version,compute_cap",
            "--format=csv,noheader,nounits",
        ]
    )
    gpus = []
    for line in (out or "").splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) < 3:
            continue
        mib = 1024 * 1024
        gpus.append(
            GpuInfo(
                parts[0],
                "nvidia",
                int(float(parts[1]) * mib),
                int(float(parts[2]) * mib),
                driver=parts[3] if len(parts) > 3 else None,
                compute_capability=parts[4] if len(parts) > 4 and parts[4] not in ("", "[N/A]") else None,
                source="nvidia-smi",
            )
        )
    return gpus


def read_nvidia() -> list[GpuInfo]:
    try:
        return read_nvidia_nvml()
    except Exception as exc:  # noqa: BLE001 - NVML missing or failing: no driver, wrong library version, ...
        log.debug("NVML unavailable (%s); trying nvidia-smi", exc)
    return read_nvidia_smi()


def read_drm_sysfs(vendor: str, root: Path = SYSFS_DRM) -> list[GpuInfo]:
    """GPUs of one PCI vendor ('amd' or 'intel') from /sys/class/drm/card*/device."""
    gpus = []
    try:
        cards = sorted(p for p in root.iterdir() if re.fullmatch(r"card\d+", p.name))
    except OSError:
        return []
    for card in cards:
        device = card / "device"
        if PCI_VENDORS.get(_read(device / "vendor").lower()) != vendor:
            continue
        total = _read_int(device / "mem_info_vram_total")
        used = _read_int(device / "mem_info_vram_used")
        if vendor == "amd" and total is None:
            continue  # not an amdgpu-driven card
        name = _read(device / "product_name") or f"{vendor.upper()} GPU {_read(device / 'device')}".strip()
        driver_link = device / "driver"
        driver = driver_link.resolve().name if driver_link.exists() else None
        gpus.append(
            GpuInfo(
                name,
                vendor,
                total or 0,
                (total or 0) - (used or 0),
                driver=driver,
                source="sysfs",
                unified_memory=total is None,
            )
        )
    return gpus


def read_rocm_smi() -> list[GpuInfo]:
    if not shutil.which("rocm-smi"):
        return []
    out = _run_text(["rocm-smi", "--showmeminfo", "vram", "--showproductname", "--json"])
    try:
        data = json.loads(out or "{}")
    except json.JSONDecodeError:
        return []
    gpus = []
    for key, card in sorted(data.items()):
        if not key.startswith("card") or not isinstance(card, dict):
            continue
        total = int(card.get("VRAM Total Memory (B)", 0) or 0)
        used = int(card.get("VRAM Total Used Memory (B)", 0) or 0)
        name = card.get("Card Series") or card.get("Card series") or card.get("Card model") or "AMD GPU"
        gpus.append(GpuInfo(str(name), "amd", total, total - used, source="rocm-smi"))
    return gpus


def read_amd(root: Path = SYSFS_DRM) -> list[GpuInfo]:
    return read_drm_sysfs("amd", root) or read_rocm_smi()


def read_intel(root: Path = SYSFS_DRM) -> list[GpuInfo]:
    return read_drm_sysfs("intel", root)


def read_apple(total_ram: int | None = None) -> list[GpuInfo]:
    if sys.platform != "darwin" or platform.machine() != "arm64":
        return []
    total = total_ram or int(psutil.virtual_memory().total)
    share = APPLE_METAL_SHARE_LARGE if total > APPLE_LARGE_RAM_BYTES else APPLE_METAL_SHARE_SMALL
    name = _run_text(["sysctl", "-n", "machdep.cpu.brand_string"]) or "Apple Silicon"
    usable = int(total * share)
    free = min(usable, int(psutil.virtual_memory().available))
    return [GpuInfo(f"{name} GPU", "apple", usable, free, unified_memory=True, source="sysctl")]


@dataclass
class GpuReaders:
    nvidia: Callable[[], list[GpuInfo]] = read_nvidia
    amd: Callable[[], list[GpuInfo]] = read_amd
    intel: Callable[[], list[GpuInfo]] = read_intel
    apple: Callable[[], list[GpuInfo]] = read_apple
    # What the llama.cpp build can drive: read by the discovery child, which may load
    # llama.cpp (app.engine.gpu_child); the GUI process never does.
    backends: Callable[[], BackendInfo] = lambda: BackendInfo(False, error="llama.cpp's backends were not read")


def collect_gpus(readers: GpuReaders | None = None) -> GpuDiscovery:
    """Run every GPU reader in this process and mark which GPUs the llama.cpp build can use."""
    readers = readers or GpuReaders()
    found: list[GpuInfo] = []
    notes: list[str] = []
    for vendor in ("nvidia", "amd", "apple", "intel"):
        try:
            found.extend(getattr(readers, vendor)())
        except Exception as exc:  # noqa: BLE001 - one failing vendor must not hide the others
            notes.append(f"{vendor} GPU discovery failed: {exc}")
    backends = readers.backends()
    return GpuDiscovery(tuple(mark_usability(g, backends) for g in found), backends, tuple(notes))


def mark_usability(gpu: GpuInfo, backends: BackendInfo) -> GpuInfo:
    wanted = VENDOR_BACKENDS.get(gpu.vendor, ())
    available = [name for name in backends.registry if name in wanted]
    if backends.gpu_offload and (available or (not backends.registry and backends.error)):
        return replace(gpu, backend_usable=True, backend=available[0] if available else None, unusable_reason="")
    have = ", ".join(backends.registry) or "CPU only"
    reason = (
        f"this llama.cpp build has no {' or '.join(wanted[:2])} support (it has: {have}); "
        f"install a build with {wanted[0]} to use the {gpu.name}"
    )
    return replace(gpu, backend_usable=False, backend=None, unusable_reason=reason)


def discovery_to_json(discovery: GpuDiscovery) -> str:
    return json.dumps(asdict(discovery))


def discovery_from_json(text: str) -> GpuDiscovery:
    data = json.loads(text)
    backends = data["backends"]
    return GpuDiscovery(
        tuple(GpuInfo(**g) for g in data["gpus"]),
        BackendInfo(
            backends["gpu_offload"], tuple(backends["registry"]), tuple(backends["devices"]), backends["error"]
        ),
        tuple(data.get("notes", ())),
    )


def child_command() -> list[str]:
    if getattr(sys, "frozen", False):
        return [sys.executable, "probe", "--gpu-child"]
    return [sys.executable, "-m", "app.engine.gpu_child"]


def discover_gpus_isolated(command: list[str] | None = None, timeout: float = GPU_DISCOVERY_TIMEOUT_S) -> GpuDiscovery:
    """Run GPU discovery in a child process; a hang or a crash gives a note, never an exception."""
    command = command or child_command()
    env = dict(os.environ)
    project_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (project_root, env.get("PYTHONPATH", "")) if p)
    no_gpu = BackendInfo(False, error="GPU discovery did not finish")
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env, check=False)
    except subprocess.TimeoutExpired:
        return GpuDiscovery(
            (),
            no_gpu,
            (
                f"GPU discovery took longer than {timeout:.0f} s and was stopped; "
                "the GPU driver may be hung, so only the CPU is planned for",
            ),
        )
    except OSError as exc:
        return GpuDiscovery((), no_gpu, (f"GPU discovery could not start: {exc}",))
    if proc.returncode != 0:
        tail = (proc.stderr or "").strip().splitlines()[-1:] or [f"exit status {proc.returncode}"]
        return GpuDiscovery((), no_gpu, (f"GPU discovery crashed ({tail[0]}); only the CPU is planned for",))
    try:
        return discovery_from_json(proc.stdout.strip().splitlines()[-1])
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        return GpuDiscovery((), no_gpu, (f"GPU discovery gave an unreadable answer: {exc}",))


# --- small helpers ------------------------------------------------------------------------


def decode_text(value: Any) -> str:
    """C strings from drivers and llama.cpp arrive as bytes; names are shown as text."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return ""


def _read_int(path: Path) -> int | None:
    text = _read(path)
    return int(text) if text.isdigit() else None


def _run_text(command: list[str]) -> str | None:
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=SMI_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None
