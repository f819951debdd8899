"""Where the app keeps its files.

Everything lives in the platform's standard places (platformdirs). `DSCODER_HOME`
moves all user data (config, data, cache, logs, models) under one folder, which is
what the tests use; `DSCODER_MODELS_DIR` moves only the models folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

_APP = "dscoder"


def _home() -> Path | None:
    home = os.environ.get("DSCODER_HOME")
    return Path(home).expanduser() if home else None


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def config_dir() -> Path:
    home = _home()
    return _ensure(home / "config" if home else Path(platformdirs.user_config_dir(_APP)))


def data_dir() -> Path:
    home = _home()
    return _ensure(home / "data" if home else Path(platformdirs.user_data_dir(_APP)))


def cache_dir() -> Path:
    """Files the app can rebuild: the engine's spilled prompt states."""
    home = _home()
    return _ensure(home / "cache" if home else Path(platformdirs.user_cache_dir(_APP)))


def log_dir() -> Path:
    home = _home()
    return _ensure(home / "logs" if home else Path(platformdirs.user_log_dir(_APP)))


def default_models_dir() -> Path:
    """The models folder when settings name none."""
    override = os.environ.get("DSCODER_MODELS_DIR")
    if override:
        return _ensure(Path(override).expanduser())
    return _ensure(data_dir() / "models")
