"""Loading llama.cpp's compute backends when they are built as separate libraries.

The portable bundle builds llama.cpp with GGML_BACKEND_DL: the CPU backend comes as
several variants (AVX2, AVX-512, ...) that ggml loads at run time, picking the best one
for the CPU it runs on. llama-cpp-python does not load them, and llama.cpp refuses to
load a model with no backend, so this does it once. With an ordinary build the CPU
backend is built in, the registry is not empty, and nothing happens.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
from collections.abc import Iterator
from typing import Any

log = logging.getLogger(__name__)
_done = False


def ensure_backends_loaded() -> int:
    """Load the backend libraries next to libllama if none is registered; returns the count."""
    global _done
    import llama_cpp

    lib = llama_cpp.llama_cpp._lib
    lib.ggml_backend_reg_count.restype = ctypes.c_size_t
    count = int(lib.ggml_backend_reg_count())
    if count or _done:
        return count
    _done = True
    load_from = getattr(lib, "ggml_backend_load_all_from_path", None)
    if load_from is None:
        return count
    load_from.argtypes = [ctypes.c_char_p]
    load_from.restype = None
    package = os.path.dirname(llama_cpp.__file__)
    # The bundle keeps the variants next to libllama; a pip install of the portable build
    # leaves them in <site-packages>/bin (they are CMake modules, installed as "runtime").
    for folder in (os.path.join(package, "lib"), os.path.join(os.path.dirname(package), "bin")):
        if os.path.isdir(folder):
            load_from(folder.encode())
            count = int(lib.ggml_backend_reg_count())
            if count:
                log.info("loaded %d llama.cpp backend(s) from %s", count, folder)
                break
    return count


# -- the CPU's extra buffer types (AMX, weight repacking) -------------------------------------
EXTRA_BUFFERS_ENV = "DSCODER_EXTRA_BUFFERS"  # auto (default), on or off


def cpu_flags(cpuinfo: str = "/proc/cpuinfo") -> set[str]:
    """The CPU's feature flags as Linux reports them (empty elsewhere)."""
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("flags"):
                    return set(line.partition(":")[2].split())
    except OSError:
        pass
    return set()


def use_extra_buffers(flags: set[str] | None = None, setting: str | None = None) -> bool:
    """Whether llama.cpp may move weights into the CPU's extra buffer types.

    With them, a CPU with Intel AMX multiplies quantized weights with AMX tiles. On
    AMX machines (Sapphire Rapids and later, often as cloud VMs) llama.cpp 0.3.36's AMX
    kernels crashed with a segmentation fault on the first prompt of a Q4_K_M model, so
    there the weights stay in ordinary CPU buffers, which run the same model correctly
    (measured: 24 tokens/s on 2 cores of such a VM). `DSCODER_EXTRA_BUFFERS=on` turns
    them back on for a llama.cpp build whose AMX path works.
    """
    setting = (setting if setting is not None else os.environ.get(EXTRA_BUFFERS_ENV, "auto")).strip().lower()
    if setting in ("on", "1", "yes"):
        return True
    if setting in ("off", "0", "no"):
        return False
    flags = cpu_flags() if flags is None else flags
    return not any(flag.startswith("amx") for flag in flags)


@contextlib.contextmanager
def model_params_for_this_cpu() -> Iterator[None]:
    """Within the block, `Llama(...)` loads with the extra buffer types this CPU should use.

    llama-cpp-python's `Llama` takes no argument for llama.cpp's `use_extra_bufts`; it
    reads `llama_model_default_params()` when it loads, so that is what is wrapped here,
    for the length of one load.
    """
    if use_extra_buffers():
        yield
        return
    import llama_cpp

    module = llama_cpp.llama_cpp
    original = module.llama_model_default_params

    def without_extra_buffers() -> Any:
        params = original()
        params.use_extra_bufts = False
        return params

    log.info("this CPU has AMX: llama.cpp loads the weights without its extra buffer types")
    module.llama_model_default_params = without_extra_buffers
    try:
        yield
    finally:
        module.llama_model_default_params = original
