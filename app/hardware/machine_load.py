"""How busy the machine was while the speed benchmark ran: other programs' CPU, and steal time.

A benchmark that shares its cores with another busy program measures a slower machine
than the user has, and every plan made from it is too pessimistic. `LoadWatch` reads
the system's CPU time counters (/proc/stat through psutil: user, system, idle, steal...)
and our own process's CPU time when the benchmark starts and when it ends; the child
reports its own CPU time with its result. What the system spent beyond the two of us
was other programs'; steal is what the hypervisor gave to other guests.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import psutil

# A run counts as busy when other programs took this share of the machine's CPU time
# (all cores together; a desktop's background stays well under it) ...
OTHERS_BUSY_SHARE = 0.10
# ... or the hypervisor stole this share of it from our virtual machine.
STEAL_BUSY_SHARE = 0.05


@dataclass(frozen=True)
class CpuCounters:
    """Seconds of CPU time since boot, summed over the cores, and our own process's."""

    busy_s: float  # user, nice, system, irq, softirq: work done by anything on this machine
    idle_s: float  # idle and iowait
    steal_s: float  # time the hypervisor ran another guest on our virtual cores
    own_s: float  # our process's user and system time, its threads included

    @classmethod
    def now(cls) -> CpuCounters:
        times = psutil.cpu_times()
        own = psutil.Process().cpu_times()
        busy = times.user + times.system + sum(getattr(times, n, 0.0) for n in ("nice", "irq", "softirq"))
        idle = times.idle + getattr(times, "iowait", 0.0)
        return cls(busy, idle, getattr(times, "steal", 0.0), own.user + own.system)


@dataclass(frozen=True)
class MachineLoad:
    """The load on the machine over one benchmark run, as shares of its CPU time."""

    others_share: float  # other programs' CPU time / all cores' time
    steal_share: float  # stolen time / all cores' time
    logical_cores: int

    @property
    def busy(self) -> bool:
        return self.others_share >= OTHERS_BUSY_SHARE or self.steal_share >= STEAL_BUSY_SHARE

    def describe(self) -> str:
        """ "other programs used 1.3 of 2 cores, 0% stolen by the hypervisor" """
        cores = self.others_share * self.logical_cores
        return f"other programs used {cores:.1f} of {self.logical_cores} cores, {self.steal_share:.0%} stolen by the hypervisor"

    def to_json(self) -> dict[str, float]:
        return {"others_share": round(self.others_share, 3), "steal_share": round(self.steal_share, 3)}


QUIET = MachineLoad(0.0, 0.0, 1)


def load_between(before: CpuCounters, after: CpuCounters, child_cpu_s: float, logical_cores: int) -> MachineLoad:
    """The load between two readings, given the CPU seconds the benchmark child used between them."""
    total = (after.busy_s - before.busy_s) + (after.idle_s - before.idle_s) + (after.steal_s - before.steal_s)
    if total <= 0:
        return MachineLoad(0.0, 0.0, logical_cores)
    others = (after.busy_s - before.busy_s) - (after.own_s - before.own_s) - child_cpu_s
    steal = after.steal_s - before.steal_s
    return MachineLoad(max(0.0, others / total), max(0.0, steal / total), logical_cores)


class LoadWatch:
    """Start when the benchmark child starts; `load(child_cpu_s)` when its result arrives."""

    def __init__(self) -> None:
        self.before = CpuCounters.now()

    def load(self, child_cpu_s: float) -> MachineLoad:
        return load_between(self.before, CpuCounters.now(), child_cpu_s, os.cpu_count() or 1)
