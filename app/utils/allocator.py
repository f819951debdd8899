"""glibc malloc settings that keep a long-running engine's memory flat.

What grew beside the prompt cache in a soak (issue 20): glibc's malloc raises its mmap
threshold each time a large block is freed (up to 32 MiB), so after the first prompt
state or logits copy is freed, later blocks of that size come from the heap arenas
instead of their own mappings, and a heap keeps what it was given: freed states leave
holes that RSS keeps counting. Each thread that allocates may also get an arena of its
own (up to 8 per core), each with its own high-water mark.

A fixed threshold (which also turns the raising off) keeps every block of MMAP_THRESHOLD
or more in its own mapping, returned to the system when it is freed, and two arenas bound
the per-thread high-water marks. Other C libraries ignore both (macOS, Windows, musl).
Measured (tests/bench/soak.py, the test model, 10 minutes, two engines side by side on a
busy 2-core EPYC): RSS less the cache went 800 -> 922 MiB with glibc's own settings (+10.3%
over the second half), 793 -> 808 MiB with these (-0.1%).
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys

log = logging.getLogger(__name__)

MMAP_THRESHOLD = 1024 * 1024  # a prompt state, a batch's logits: their own mapping, freed whole
# Set to 1 to start engines with glibc's own malloc settings (tests/bench/soak.py compares).
DEFAULTS_VARIABLE = "DSCODER_MALLOC_DEFAULTS"
ARENA_MAX = 2
# mallopt's parameter numbers (glibc malloc.h)
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8


def engine_malloc_env() -> dict[str, str]:
    """Environment for an engine process started by the supervisor (read by glibc at start)."""
    if not sys.platform.startswith("linux") or os.environ.get(DEFAULTS_VARIABLE) == "1":
        return {}
    return {"MALLOC_ARENA_MAX": str(ARENA_MAX), "MALLOC_MMAP_THRESHOLD_": str(MMAP_THRESHOLD)}


def limit_malloc_growth() -> bool:
    """The same settings for this process, now (an engine run in-process: `dscoder serve`).
    False where the C library has no mallopt."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # this process's C library (glibc on Linux; musl has none)
    except (OSError, AttributeError):
        return False
    ok = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_ARENA_MAX, ARENA_MAX))
    if not ok:
        log.info("mallopt refused the engine's malloc settings; memory may grow between requests")
    return ok
