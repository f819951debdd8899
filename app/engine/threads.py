"""How many CPU threads the engine uses when the settings leave it to the engine.

Decoding one token is bound by memory bandwidth and runs in lock-step across threads,
so it wants one thread per *physical performance* core: a second hyper-thread on the
same core adds nothing, and an efficiency core makes every other thread wait for it.
Prompt evaluation (batches) is bound by arithmetic and gains from every logical core.

This follows llama.cpp's own `cpu_get_num_math()` (common/common.cpp): on a hybrid
Intel CPU under Linux it counts the performance cores only (it pins itself to each CPU
and asks CPUID whether it is an Atom core), on macOS it reads
`hw.perflevel0.physicalcpu` (the performance cores of Apple Silicon), elsewhere the
physical cores. Here the same is read without pinning: Linux names the performance
cores of a hybrid CPU in /sys/devices/cpu_core/cpus. llama-cpp-python's own default,
`cpu_count() // 2`, halves the machine where there is no SMT (VMs, Apple Silicon).
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import psutil

HYBRID_CORE_CPUS = Path("/sys/devices/cpu_core/cpus")  # the performance cores of an Intel hybrid CPU
SYS_CPU = Path("/sys/devices/system/cpu")


@dataclass(frozen=True)
class ThreadPlan:
    decode: int  # threads for generating tokens
    batch: int  # threads for evaluating prompts
    source: str  # how `decode` was chosen, for the engine's info

    def as_dict(self) -> dict[str, object]:
        return {"decode": self.decode, "batch": self.batch, "source": self.source}


def parse_cpu_list(text: str) -> set[int]:
    """'0-3,8,10-11' -> {0, 1, 2, 3, 8, 10, 11}."""
    cpus: set[int] = set()
    for part in text.strip().split(","):
        if not part:
            continue
        low, _, high = part.partition("-")
        cpus.update(range(int(low), int(high or low) + 1))
    return cpus


def _usable_cpus() -> set[int] | None:
    try:
        return set(os.sched_getaffinity(0))  # type: ignore[attr-defined,unused-ignore]
    except (AttributeError, OSError):
        return None


def _physical_cores_of(cpus: set[int], sys_cpu: Path = SYS_CPU) -> int:
    """Distinct (package, core) pairs among `cpus`, from Linux's topology files."""
    cores: set[tuple[str, str]] = set()
    for cpu in cpus:
        topology = sys_cpu / f"cpu{cpu}" / "topology"
        try:
            package = (topology / "physical_package_id").read_text().strip()
            core = (topology / "core_id").read_text().strip()
        except OSError:
            return len(cpus)
        cores.add((package, core))
    return len(cores)


def _apple_performance_cores() -> int | None:
    try:
        out = subprocess.run(
            ["sysctl", "-n", "hw.perflevel0.physicalcpu"], capture_output=True, text=True, timeout=2, check=True
        ).stdout
        return int(out.strip()) or None
    except (OSError, ValueError, subprocess.SubprocessError):
        return None


def performance_cores(
    *, hybrid_cpus: Path = HYBRID_CORE_CPUS, sys_cpu: Path = SYS_CPU, usable: set[int] | None = None
) -> tuple[int, str]:
    """(physical performance cores this process may use, how that was found)."""
    usable = _usable_cpus() if usable is None else usable
    if sys.platform.startswith("linux") and hybrid_cpus.is_file():
        try:
            performance = parse_cpu_list(hybrid_cpus.read_text())
        except (OSError, ValueError):
            performance = set()
        if usable is not None:
            performance &= usable
        if performance:
            return _physical_cores_of(performance, sys_cpu), "physical performance cores (hybrid CPU)"
    if sys.platform == "darwin":
        apple = _apple_performance_cores()
        if apple:
            return apple, "performance cores (hw.perflevel0)"
    physical = psutil.cpu_count(logical=False) or psutil.cpu_count() or 1
    if usable:
        physical = min(physical, len(usable))
    return max(1, physical), "physical cores"


def logical_cpus(usable: set[int] | None = None) -> int:
    usable = _usable_cpus() if usable is None else usable
    return max(1, len(usable) if usable else (psutil.cpu_count() or 1))


def plan_threads(decode: int = 0, batch: int = 0) -> ThreadPlan:
    """The threads to use: the requested counts, or the defaults for 0."""
    if decode > 0:
        chosen, source = decode, "settings"
    else:
        chosen, source = performance_cores()
    return ThreadPlan(decode=chosen, batch=batch if batch > 0 else max(chosen, logical_cpus()), source=source)
