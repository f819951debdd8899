"""Loading llama.cpp's compute backends when they are built as separate libraries.

The portable bundle builds llama.cpp with GGML_BACKEND_DL: the CPU backend comes as
several variants (AVX2, AVX-512, ...) that ggml loads at run time, picking the best one
for the CPU it runs on. llama-cpp-python does not load them, and llama.cpp refuses to
load a model with no backend, so this does it once. With an ordinary build the CPU
backend is built in, the registry is not empty, and nothing happens.
"""

from __future__ import annotations

import ctypes
import logging
import os

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
