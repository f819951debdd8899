"""Auto GPU layers (`AUTO_GPU_LAYERS`, -1) made concrete for one model file.

Auto means: as many layers as the estimator says fit in the free memory of the GPUs
this llama.cpp build can drive; none when there is no such GPU (a CPU-only build, or
no GPU). Called off the GUI thread: GPU discovery runs a child process.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Callable

from app.hardware.gpus import GpuDiscovery, discover_gpus_isolated
from app.models.planning.estimator import estimate_load, estimate_memory
from app.protocol.options import AUTO_GPU_LAYERS, LoadOptions

log = logging.getLogger(__name__)

VRAM_HEADROOM = 0.9  # leave some of the free VRAM to the desktop and other programs


@functools.cache
def discover_once() -> GpuDiscovery:
    """GPU discovery (a child process) once per app run: the GPUs do not change meanwhile."""
    return discover_gpus_isolated()


def planned_gpu_layers(options: LoadOptions, discover: Callable[[], GpuDiscovery] = discover_once) -> int:
    """Most layers of `options.model_path` that fit on the usable GPUs (0: none usable)."""
    discovery = discover()
    gpus = [g for g in discovery.gpus if g.backend_usable]
    if not gpus or not discovery.backends.gpu_offload:
        return 0
    from app.models.gguf import read_gguf_info

    try:
        info = read_gguf_info(options.model_path)
    except Exception as exc:  # noqa: BLE001 - the engine reports a bad file properly; here: stay on the CPU
        log.info("no GPU plan for %s: %s", options.model_path, exc)
        return 0
    budget = sum(g.vram_free_bytes for g in gpus) * VRAM_HEADROOM
    unified = all(g.unified_memory for g in gpus)

    def fits(layers: int) -> bool:
        est = estimate_load(info, options, n_gpu_layers=layers, n_gpus=len(gpus), unified_memory=unified)
        return est.vram_bytes <= budget

    n_layer = estimate_memory(info, n_gpu_layers=0, n_ctx=options.n_ctx).n_layer
    lo, hi = 0, n_layer + 1
    while lo < hi:  # the most layers that fit
        mid = (lo + hi + 1) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def resolve_auto_gpu_layers(options: LoadOptions, discover: Callable[[], GpuDiscovery] = discover_once) -> LoadOptions:
    """`options` with the planner's layer count when its GPU layers are auto; else unchanged."""
    if options.n_gpu_layers != AUTO_GPU_LAYERS:
        return options
    return dataclasses.replace(options, n_gpu_layers=planned_gpu_layers(options, discover))
