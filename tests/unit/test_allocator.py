"""The engine's malloc settings: set for an engine the supervisor starts, unless asked not to."""

from __future__ import annotations

import sys

import pytest

from app.utils.allocator import DEFAULTS_VARIABLE, engine_malloc_env, limit_malloc_growth


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's settings")
def test_engines_get_a_fixed_mmap_threshold_and_two_arenas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DEFAULTS_VARIABLE, raising=False)
    assert engine_malloc_env() == {"MALLOC_ARENA_MAX": "2", "MALLOC_MMAP_THRESHOLD_": str(1024 * 1024)}
    monkeypatch.setenv(DEFAULTS_VARIABLE, "1")
    assert engine_malloc_env() == {}
    assert limit_malloc_growth() is True  # mallopt takes them in this process (dscoder serve)
