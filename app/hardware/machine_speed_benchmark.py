"""Measure this machine's llama.cpp speed once, in a child process with a timeout.

`measure_machine_speed` starts the benchmark child (app/engine/machine_speed_child.py: the
GUI process never loads llama.cpp), relays its progress lines, stops it when it runs
past its time or is cancelled, and saves the result in the data folder under the
hardware key. While the child runs it watches the machine's load (app/hardware/
machine_load.py): a run that shared the cores with another busy program is repeated, up
to MAX_RUNS in all, and the fastest quiet run is kept; when every run was busy the
fastest is kept and marked `measured_under_load`. `with_machine_speed` gives a probed machine its speed: the cached one,
or a new measurement when there is none for this hardware (or when asked again).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from app.hardware.gpus import GpuInfo
from app.hardware.machine_load import LoadWatch, MachineLoad
from app.hardware.machine_speed import (
    CPU_BENCH_TYPES,
    DEFAULT_WEIGHTS_BYTES,
    FAILED_MARK,
    PROGRESS_MARK,
    RESULT_MARK,
    GpuSpeed,
    MachineSpeed,
    load_cached_speed,
    save_speed,
    type_factors_from_json,
)
from app.hardware.probe import MachineProfile
from app.utils import paths
from app.utils.errors import CancelledError, DscoderError
from app.utils.jobs import JobControl

log = logging.getLogger(__name__)

MEASURE_TIMEOUT_S = 90.0  # a healthy run takes under 10 s; this only stops a hung child
# Seconds of measuring, all devices and steps together (plus writing and loading the models:
# the whole benchmark stays under 10 s on a 2-core machine).
MEASURE_BUDGET_S = 3.5
MAX_RUNS = 3  # benchmark runs while the machine is busy: the first and up to two more
RETRY_PAUSE_S = 2.0  # between a busy run and the next: a burst of load may pass
SpeedProgress = Callable[[float, str], None]  # fraction done, what it is doing


def speed_child_command() -> list[str]:
    if getattr(sys, "frozen", False):
        return [sys.executable, "probe", "--speed-child"]
    return [sys.executable, "-m", "app.engine.machine_speed_child"]


def _failure(what: str, log_path: Path) -> DscoderError:
    return DscoderError(
        f"Could not measure this machine's speed: {what}",
        f"The estimates use typical speeds until it works; try Measure again (details in {log_path})",
    )


def _read_lines(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def _next_result(
    proc: subprocess.Popen[str],
    lines: queue.Queue[str | None],
    progress: SpeedProgress | None,
    control: JobControl | None,
    deadline: float,
    log_path: Path,
) -> dict[str, object]:
    """Relay the child's progress lines until its result; raise on failure, timeout or cancel."""
    while True:
        if control is not None and control.stop_requested:
            raise CancelledError("The speed measurement was cancelled")
        if time.monotonic() > deadline:
            raise _failure("it ran past its time and was stopped", log_path)
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            continue
        if line is None:
            raise _failure(f"the benchmark stopped without a result (exit code {proc.wait()})", log_path)
        mark, _, payload = line.strip().partition(" ")
        if mark == PROGRESS_MARK and progress is not None:
            step = json.loads(payload)
            progress(float(step.get("fraction", 0.0)), str(step.get("step", "")))
        elif mark == FAILED_MARK:
            raise _failure(str(json.loads(payload).get("what", "unknown error")), log_path)
        elif mark == RESULT_MARK:
            result: dict[str, object] = json.loads(payload)
            return result


def _run_child(
    command: list[str], progress: SpeedProgress | None, control: JobControl | None, timeout_s: float, log_path: Path
) -> dict[str, object]:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as stderr:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, stdin=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    lines: queue.Queue[str | None] = queue.Queue()
    reader = threading.Thread(target=_read_lines, args=(proc.stdout, lines), name="speed-child-reader", daemon=True)
    reader.start()
    try:
        return _next_result(proc, lines, progress, control, time.monotonic() + timeout_s, log_path)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        reader.join(timeout=5)
        proc.stdout.close()


def _speed_of(
    result: dict[str, object], machine: MachineProfile, gpus: Sequence[GpuInfo], n_threads: int, started: float
) -> MachineSpeed:
    cpu = result["cpu"]
    on_gpus = result.get("gpus", [])
    assert isinstance(cpu, dict) and isinstance(on_gpus, list)
    return MachineSpeed(
        cpu_decode_bytes_per_s=float(cpu["decode_bytes_per_s"]),
        cpu_prompt_flops=float(cpu["prompt_flops"]),
        gpus=tuple(
            GpuSpeed(gpu.name, float(g["decode_bytes_per_s"]), float(g["prompt_flops"]))
            for gpu, g in zip(gpus, on_gpus, strict=False)
        ),
        measured_at=datetime.now(UTC).isoformat(timespec="seconds"),
        run_s=time.monotonic() - started,
        hardware=machine.hardware_key(n_threads),
        cpu_type_factors=type_factors_from_json(cpu.get("type_factors") or {}),
        cpu_attention_flops=float(cpu.get("attention_flops") or 0.0),
        cpu_decode_attention_row_s=float(cpu.get("decode_attention_row_s") or 0.0),
        cpu_decode_attention_flops=float(cpu.get("decode_attention_flops") or 0.0),
        cpu_flash_decode_attention_row_s=float(cpu.get("flash_decode_attention_row_s") or 0.0),
        cpu_flash_decode_attention_flops=float(cpu.get("flash_decode_attention_flops") or 0.0),
        cpu_layer_overhead_s=float(cpu.get("layer_overhead_s") or 0.0),
        cpu_output_row_s=float(cpu.get("output_row_s") or 0.0),
    )


def fastest_quiet(runs: Sequence[tuple[MachineSpeed, MachineLoad]]) -> MachineSpeed:
    """The run to keep: the fastest of the quiet runs (decode and prompt rates together), or,
    when every run was busy, the fastest of them marked as measured under load."""
    quiet = [speed for speed, load in runs if not load.busy]
    candidates = quiet or [speed for speed, _load in runs]
    best = max(candidates, key=lambda speed: speed.cpu_decode_bytes_per_s * speed.cpu_prompt_flops)
    return dataclasses.replace(best, measured_under_load=not quiet, runs=len(runs))


def measure_machine_speed(
    machine: MachineProfile,
    *,
    progress: SpeedProgress | None = None,
    control: JobControl | None = None,
    n_threads: int = 0,
    weights_bytes: int = DEFAULT_WEIGHTS_BYTES,
    budget_s: float = MEASURE_BUDGET_S,
    timeout_s: float = MEASURE_TIMEOUT_S,
    save: bool = True,
    child: list[str] | None = None,
    types: Sequence[str] = CPU_BENCH_TYPES,
    max_runs: int = MAX_RUNS,
    watch: Callable[[], LoadWatch] = LoadWatch,
) -> MachineSpeed:
    """Run the benchmark child on the CPU and every usable GPU (blocking: off the GUI thread),
    again while the machine is busy (up to max_runs in all), and keep the fastest quiet run.

    `types`: the weight types to compare with Q4_K on the CPU. `child` replaces the child's
    command (tests: a child that hangs or fails); `watch` the load watch (tests: a recorded load)."""
    gpus = machine.usable_gpus if machine.backends.gpu_offload else ()
    command = (child or speed_child_command()) + ["--weights-bytes", str(weights_bytes), "--budget-s", str(budget_s)]
    command += ["--threads", str(n_threads), "--types", ",".join(types)]
    for index in range(len(gpus)):
        command += ["--gpu", str(index)]
    log_path = paths.log_dir() / "speed-benchmark.log"
    runs: list[tuple[MachineSpeed, MachineLoad]] = []
    while len(runs) < max(1, max_runs):
        if runs:
            time.sleep(RETRY_PAUSE_S)
        run_progress = _run_progress(progress, len(runs))
        started = time.monotonic()
        load_watch = watch()
        result = _run_child(command, run_progress, control, timeout_s, log_path)
        load = load_watch.load(float(result.get("cpu_s") or 0.0))  # type: ignore[arg-type]
        try:
            speed = _speed_of(result, machine, gpus, n_threads, started)
        except (AssertionError, KeyError, TypeError, ValueError) as exc:
            raise _failure(f"its result was unreadable ({exc})", log_path) from exc
        log.info(
            "machine speed run %d in %.1f s (%s): %s", len(runs) + 1, speed.run_s, load.describe(), speed.to_json()
        )
        runs.append((speed, load))
        if not load.busy:
            break
    speed = fastest_quiet(runs)
    if speed.measured_under_load:
        log.warning("the machine was busy in all %d speed benchmark runs; keeping the fastest", len(runs))
    if save:
        save_speed(speed)
    return speed


def _run_progress(progress: SpeedProgress | None, run_index: int) -> SpeedProgress | None:
    """Progress of a repeated run: the same fractions, its step saying it is measured again."""
    if progress is None or run_index == 0:
        return progress

    def relay(fraction: float, step: str) -> None:
        progress(fraction, f"the machine was busy; measuring again: {step}")

    return relay


def with_machine_speed(
    machine: MachineProfile,
    *,
    again: bool = False,
    n_threads: int = 0,
    progress: SpeedProgress | None = None,
    control: JobControl | None = None,
    measure: Callable[..., MachineSpeed] = measure_machine_speed,
) -> MachineProfile:
    """The machine with its speed: as probed, else cached, else measured now (and cached)."""
    key = machine.hardware_key(n_threads)
    speed = None if again else machine.machine_speed or load_cached_speed(key)
    if speed is None or speed.hardware not in ("", key):
        speed = measure(machine, progress=progress, control=control, n_threads=n_threads)
    return dataclasses.replace(machine, machine_speed=speed)
