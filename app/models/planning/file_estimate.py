"""Memory and speed for one model file with one set of load options, measured when known.

`estimate_file` is what `dscoder estimate`, the load recorder and the check before a
load share: the estimator's memory and the speed model's prediction, replaced by
what a load of this very file with these settings measured (and marked so), or
corrected by the speed real answers measured on this machine (every model alike).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from dataclasses import dataclass
from pathlib import Path

from app.hardware.machine_speed import load_cached_speed
from app.hardware.probe import MachineProfile, ProbeReaders, probe_machine
from app.models.gguf import GgufInfo, read_gguf_info
from app.models.planning.estimator import MemoryEstimate, estimate_load, repacked_types
from app.models.planning.gpu_layers import discover_once
from app.models.planning.measured import (
    LoadRecord,
    LoadSettings,
    MeasuredLoads,
    ModelFileId,
    measured_memory,
    placement_of,
)
from app.models.planning.shape import ModelMemoryShape, model_shape
from app.models.planning.speed_prediction import (
    CALIBRATED,
    MEASURED,
    DeviceRates,
    SpeedEstimate,
    device_rates,
    predict_speed,
)
from app.protocol.options import LoadOptions, prompt_cache_budget

log = logging.getLogger(__name__)

OFF_BY_WARNING = 0.10  # an estimate this far from the measurement is logged with both numbers


@dataclass(frozen=True)
class FileEstimate:
    memory: MemoryEstimate
    speed: SpeedEstimate
    record: LoadRecord | None  # the measured load of this file with these settings, if any

    @property
    def measured(self) -> bool:
        return self.record is not None

    def cli_dict(self) -> dict[str, object]:
        return {**self.memory.cli_dict(), **self.speed.cli_dict(), "measured": self.measured}


def this_machine(n_threads: int = 0) -> MachineProfile:
    """This machine now, with the speed measured for it (GPU discovery runs once per process)."""
    machine = probe_machine(Path("."), ProbeReaders(gpus=discover_once, speed=lambda _key: None))
    return dataclasses.replace(machine, machine_speed=load_cached_speed(machine.hardware_key(n_threads)))


@functools.lru_cache(maxsize=16)
def _header(path: str, mtime_ns: int) -> GgufInfo:
    return read_gguf_info(path)


def file_header(path: str | Path) -> GgufInfo:
    """The GGUF header, read once per file version."""
    file = ModelFileId.of(path)
    return _header(file.path if file else str(path), file.mtime_ns if file else 0)


def rates_for(machine: MachineProfile, n_gpu_layers: int) -> DeviceRates:
    """The device rates for a load with n_gpu_layers: assumed for a GPU this machine lacks."""
    gpus = machine.usable_gpus if n_gpu_layers and machine.backends.gpu_offload else ()
    rates = device_rates(machine.machine_speed, gpus)
    return dataclasses.replace(rates, assumed=True) if n_gpu_layers and not gpus else rates


def memory_for(
    model: GgufInfo | ModelMemoryShape, options: LoadOptions, machine: MachineProfile, *, as_asked: bool = False
) -> MemoryEstimate:
    """The memory of a load on this machine: no GPU layers without a usable GPU, unless
    `as_asked` (a what-if for another machine: the layers asked for, on one GPU)."""
    gpus = machine.usable_gpus if machine.backends.gpu_offload else ()
    return estimate_load(
        model,
        options,
        n_gpu_layers=options.n_gpu_layers if gpus or as_asked else 0,
        n_gpus=max(1, len(gpus)),
        unified_memory=any(g.unified_memory for g in gpus),
        prompt_cache_bytes=prompt_cache_budget(options.prompt_cache_bytes, machine.memory.ram_total_bytes),
        repacked=repacked_types(machine.cpu.flags, machine.cpu.arch),
    )


def estimate_file(
    info: GgufInfo,
    options: LoadOptions,
    machine: MachineProfile,
    store: MeasuredLoads | None = None,
    *,
    as_asked: bool = False,
) -> FileEstimate:
    """Memory and speed of `info`'s file loaded with `options` on `machine` (see `memory_for`)."""
    shape = model_shape(info)
    memory = memory_for(info, options, machine, as_asked=as_asked)
    speed = predict_speed(shape, memory, rates_for(machine, memory.n_gpu_layers))
    store = store if store is not None else MeasuredLoads()
    file = ModelFileId.of(info.path)
    settings = LoadSettings.of(options, shape.n_layer)
    record = store.get(file, settings) if file else None
    if record is not None:
        memory = measured_memory(memory, record)
        decode, prompt = record.speed_ratio("decode"), record.speed_ratio("prompt")
        if decode or prompt:
            speed = speed.scaled(decode or 1.0, prompt or 1.0, MEASURED)
        return FileEstimate(memory, speed, record)
    hardware = machine.machine_speed.hardware if machine.machine_speed else ""
    correction = store.machine_correction(hardware, placement_of(settings, shape.n_layer)) if hardware else None
    if correction is not None:
        speed = speed.scaled(correction.decode, correction.prompt, CALIBRATED)
    return FileEstimate(memory, speed, None)


def log_if_off(what: str, name: str, predicted: float, measured: float, unit: str) -> bool:
    """Log an estimate that was more than 10% off, with both numbers; True when it was."""
    if measured <= 0 or predicted <= 0:
        return False
    off = predicted / measured - 1
    if abs(off) <= OFF_BY_WARNING:
        return False
    log.warning(
        "%s estimate for %s was %+.0f%% off: predicted %.1f %s, measured %.1f %s",
        what,
        name,
        off * 100,
        predicted,
        unit,
        measured,
        unit,
    )
    return True
