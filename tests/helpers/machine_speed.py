"""Machine speeds for tests: a recorded one cached for this machine, and a small real measurement.

`dscoder probe` and `dscoder estimate` measure the machine when its speed is not cached
(about 10 s). Tests that run them on this machine cache a recorded speed for its
hardware key first; the benchmark itself is tested with a small model.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

from app.hardware.machine_speed import MachineSpeed, save_speed
from app.hardware.machine_speed_benchmark import measure_machine_speed
from app.hardware.probe import MachineProfile, probe_machine

# The 2-core VM of issue 15: 11.5 GB/s effective decode, 66 GFLOP/s on prompts.
VM_SPEED = MachineSpeed(11.5e9, 66e9)
SMALL_BENCHMARK_BYTES = 30_000_000  # one layer of the benchmark model: a few seconds in all
SMALL_BENCHMARK_TYPES = ("Q4_K", "Q8_0")  # the reference and one other type: the comparison works


@functools.cache
def _this_machine(models_dir: str) -> MachineProfile:
    return probe_machine(Path(models_dir))


def cache_speed_for_this_machine(speed: MachineSpeed = VM_SPEED, n_threads: int = 0) -> MachineSpeed:
    """Save `speed` as this machine's measured speed in the current DSCODER_HOME."""
    key = _this_machine(".").hardware_key(n_threads)
    cached = dataclasses.replace(speed, measured_at="2026-01-01T00:00:00+00:00", run_s=6.0, hardware=key)
    save_speed(cached)
    return cached


def small_measurement(
    machine: MachineProfile, *, progress=None, control=None, n_threads: int = 0, save: bool = True, max_runs: int = 1
) -> MachineSpeed:  # type: ignore[no-untyped-def]
    """The real benchmark child on a one-layer model and two weight types (a `measure_machine_speed` for tests;
    one run, however busy the machine: the repeats are tested with recorded loads)."""
    return measure_machine_speed(
        machine,
        progress=progress,
        control=control,
        n_threads=n_threads,
        weights_bytes=SMALL_BENCHMARK_BYTES,
        budget_s=0.6,
        save=save,
        types=SMALL_BENCHMARK_TYPES,
        max_runs=max_runs,
    )
