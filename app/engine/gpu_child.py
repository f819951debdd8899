"""The GPU discovery child process: `python -m app.engine.gpu_child` (or `dscoder probe
--gpu-child` in a frozen build), started by `app.hardware.gpus.discover_gpus_isolated`.

It runs the GPU readers and asks the installed llama.cpp build which backends it can
drive, then prints one JSON line. Loading llama.cpp and GPU drivers happens here, in a
child with a timeout, so a driver that hangs or crashes never takes the app down.
"""

from __future__ import annotations

import ctypes
import logging
import sys
from typing import Any

from app.hardware.gpus import BackendInfo, GpuReaders, collect_gpus, decode_text, discovery_to_json

log = logging.getLogger(__name__)


def read_backends() -> BackendInfo:
    """What the installed llama.cpp build can use, through llama-cpp-python and the ggml registry."""
    try:
        import llama_cpp
    except Exception as exc:  # noqa: BLE001 - a broken build is reported, not raised
        return BackendInfo(False, error=f"llama_cpp cannot be imported: {exc}")
    try:
        from app.engine.backends import ensure_backends_loaded

        ensure_backends_loaded()  # a portable build keeps its backends in separate libraries
    except Exception as exc:  # noqa: BLE001 - reported below as an unreadable registry
        log.warning("could not load llama.cpp backends: %s", exc)
    offload = bool(llama_cpp.llama_supports_gpu_offload())
    try:
        registry, devices = _ggml_registry(llama_cpp)
    except Exception as exc:  # noqa: BLE001 - symbols not exported by this build
        return BackendInfo(offload, error=f"ggml backend registry not readable: {exc}")
    return BackendInfo(offload, registry, devices)


def _ggml_registry(llama_cpp: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:

    lib = llama_cpp.llama_cpp._lib
    lib.ggml_backend_reg_count.restype = ctypes.c_size_t
    lib.ggml_backend_reg_get.restype = ctypes.c_void_p
    lib.ggml_backend_reg_get.argtypes = [ctypes.c_size_t]
    lib.ggml_backend_reg_name.restype = ctypes.c_char_p
    lib.ggml_backend_reg_name.argtypes = [ctypes.c_void_p]
    lib.ggml_backend_dev_count.restype = ctypes.c_size_t
    lib.ggml_backend_dev_get.restype = ctypes.c_void_p
    lib.ggml_backend_dev_get.argtypes = [ctypes.c_size_t]
    lib.ggml_backend_dev_name.restype = ctypes.c_char_p
    lib.ggml_backend_dev_name.argtypes = [ctypes.c_void_p]
    lib.ggml_backend_dev_description.restype = ctypes.c_char_p
    lib.ggml_backend_dev_description.argtypes = [ctypes.c_void_p]
    registry = tuple(
        decode_text(lib.ggml_backend_reg_name(lib.ggml_backend_reg_get(i))) for i in range(lib.ggml_backend_reg_count())
    )
    devices = []
    for i in range(lib.ggml_backend_dev_count()):
        dev = lib.ggml_backend_dev_get(i)
        devices.append(
            f"{decode_text(lib.ggml_backend_dev_name(dev))}: {decode_text(lib.ggml_backend_dev_description(dev))}"
        )
    return registry, tuple(devices)


def child_main() -> int:
    """Print one JSON line with the GPUs found and the backends llama.cpp offers."""
    print(discovery_to_json(collect_gpus(GpuReaders(backends=read_backends))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(child_main())
