"""Shared test set-up: user data in a temp folder, Qt offscreen, no network."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Tests never reach the hub; a test that wants the fake hub sets HF_ENDPOINT itself.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Every test gets its own DSCODER_HOME, so no test reads or writes real user data."""
    home = tmp_path_factory.mktemp("dscoder-home")
    monkeypatch.setenv("DSCODER_HOME", str(home))
    monkeypatch.delenv("DSCODER_MODELS_DIR", raising=False)
    yield home
