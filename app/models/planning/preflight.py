"""Never an out-of-memory load: check a load against the RAM and VRAM free right now.

The plan was made when the model manager opened; since then a browser or a build may
have taken memory. Before the engine starts, `check_load` compares the load's
estimate (the measured one when this file was loaded so before) with what is free
at this moment, and when it no longer fits, works out loads that do: fewer GPU
layers, or a smaller context. `require_fits_now` turns that into an error that
names them, for callers that stop before the engine tries.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass

from app.hardware.gpus import GpuDiscovery, discover_gpus_isolated
from app.hardware.probe import MachineProfile, MemoryInfo, read_memory
from app.models.planning.estimator import MemoryEstimate
from app.models.planning.file_estimate import estimate_file, file_header, this_machine
from app.models.planning.gpu_layers import resolve_auto_gpu_layers
from app.models.planning.measured import MeasuredLoads
from app.models.planning.planner import ctx_label
from app.protocol.options import LoadOptions
from app.utils.errors import DscoderError, ModelFileError
from app.utils.units import memory_size

log = logging.getLogger(__name__)

SAFETY_BYTES = 256 * 1024 * 1024  # estimates are within ~10%; a load that needs the last bytes is not planned
MIN_CONTEXT = 512


@dataclass(frozen=True)
class LoadCheck:
    options: LoadOptions
    estimate: MemoryEstimate
    ram_free: int
    vram_free: int
    fewer_layers: LoadOptions | None = None  # the most GPU layers that fit now, when VRAM is short
    smaller_context: LoadOptions | None = None  # the largest context that fits now

    @property
    def fits(self) -> bool:
        return _fits(self.estimate, self.ram_free, self.vram_free)

    def problem(self) -> str:
        est, where = self.estimate, f" at {ctx_label(self.estimate.n_ctx)} context"
        short = []
        if est.needed_ram_bytes > self.ram_free:
            short.append(
                f"{memory_size(est.needed_ram_bytes)} of RAM{where}, but {memory_size(max(0, self.ram_free))} is free right now"
            )
        if est.vram_bytes > self.vram_free:
            short.append(
                f"{memory_size(est.vram_bytes)} of VRAM, but {memory_size(max(0, self.vram_free))} is free right now"
            )
        return "; ".join(short)

    def offers(self) -> list[str]:
        offers = []
        if self.fewer_layers is not None:
            offers.append(f"load it with {self.fewer_layers.n_gpu_layers} GPU layers")
        if self.smaller_context is not None:
            offers.append(f"load it with a {ctx_label(self.smaller_context.n_ctx)} context")
        return offers

    def error(self) -> DscoderError:
        name = self.options.model_path.rsplit("/", 1)[-1]
        todo = " or ".join(self.offers()) or "choose a smaller quantization"
        return DscoderError(
            f"{name} would not fit in memory now: it needs {self.problem()} (other programs use the rest)",
            f"{todo[0].upper()}{todo[1:]}, or close other programs and load it again",
        )


def _fits(est: MemoryEstimate, ram_free: int, vram_free: int) -> bool:
    return est.needed_ram_bytes <= ram_free and est.vram_bytes <= vram_free


def _free_now(
    memory: Callable[[], MemoryInfo], discover: Callable[[], GpuDiscovery], use_gpu: bool
) -> tuple[MachineProfile, int, int]:
    """This machine with its memory read now (and its GPUs asked again when the load uses one)."""
    machine = dataclasses.replace(this_machine(), memory=memory())
    if use_gpu:
        fresh = discover()
        machine = dataclasses.replace(machine, gpus=fresh.gpus, backends=fresh.backends)
    usable = machine.usable_gpus if machine.backends.gpu_offload else ()
    vram_free = sum(g.vram_free_bytes for g in usable) - SAFETY_BYTES * len(usable)
    return machine, machine.memory.ram_available_bytes - SAFETY_BYTES, vram_free


def check_load(
    options: LoadOptions,
    *,
    memory: Callable[[], MemoryInfo] = read_memory,
    discover: Callable[[], GpuDiscovery] = discover_gpus_isolated,
    store: MeasuredLoads | None = None,
) -> LoadCheck:
    """Does this load fit in the memory free now? If not, what would (blocking: off the GUI thread)."""
    info = file_header(options.model_path)
    machine, ram_free, vram_free = _free_now(memory, discover, options.n_gpu_layers != 0)
    store = store if store is not None else MeasuredLoads()

    def estimate(candidate: LoadOptions) -> MemoryEstimate:
        return estimate_file(info, candidate, machine, store).memory

    est = estimate(options)
    check = LoadCheck(options, est, ram_free, vram_free)
    if check.fits:
        return check

    def fits(candidate: LoadOptions) -> bool:
        return _fits(estimate(candidate), ram_free, vram_free)

    fewer = None
    if est.vram_bytes > vram_free and est.n_gpu_layers > 0:
        lo, hi = 0, est.n_gpu_layers - 1  # the most layers that fit: the rest runs on the CPU
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if fits(dataclasses.replace(options, n_gpu_layers=mid)):
                lo = mid
            else:
                hi = mid - 1
        candidate = dataclasses.replace(options, n_gpu_layers=lo)
        fewer = candidate if fits(candidate) else None
    smaller = None
    lo, hi = MIN_CONTEXT // 256, est.n_ctx // 256 - 1  # the largest context that fits, in 256-token steps
    if hi >= lo and fits(dataclasses.replace(options, n_ctx=lo * 256)):
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if fits(dataclasses.replace(options, n_ctx=mid * 256)):
                lo = mid
            else:
                hi = mid - 1
        ctx = lo * 256 if lo * 256 <= 4096 else lo * 256 // 1024 * 1024
        smaller = dataclasses.replace(options, n_ctx=ctx)
    return dataclasses.replace(check, fewer_layers=fewer, smaller_context=smaller)


def require_fits_now(
    options: LoadOptions,
    *,
    memory: Callable[[], MemoryInfo] = read_memory,
    discover: Callable[[], GpuDiscovery] = discover_gpus_isolated,
) -> None:
    """Raise a DscoderError naming a load that fits, when `options` does not fit now."""
    check = check_load(options, memory=memory, discover=discover)
    if not check.fits:
        raise check.error()


def plan_and_check_load(options: LoadOptions) -> LoadOptions:
    """The engine's GPU-layer planner with the check above: "auto" layers made concrete, then
    the load compared with the memory free now (a `GpuLayerPlanner`, in place of
    `resolve_auto_gpu_layers`; raises DscoderError when it does not fit, naming loads that would)."""
    options = resolve_auto_gpu_layers(options)
    try:
        check = check_load(options)
    except ModelFileError as exc:  # an unreadable file: the engine's load explains it best
        log.info("no memory check for %s: %s", options.model_path, exc)
        return options
    if not check.fits:
        raise check.error()
    return options
