"""Where the app keeps its files.

Everything lives in the platform's standard places (platformdirs). `DSCODER_HOME`
moves all user data (config, data, cache, logs, models) under one folder, which is
what the tests use; `DSCODER_MODELS_DIR` moves only the models folder.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import platformdirs

_APP = "dscoder"


def _home() -> Path | None:
    home = os.environ.get("DSCODER_HOME")
    return Path(home).expanduser() if home else None


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _user_dir(home_folder: str, platform_dir: Callable[[str], str]) -> Path:
    """`DSCODER_HOME`/`home_folder` when that is set, else the platform's folder; made if missing."""
    home = _home()
    return _ensure(home / home_folder if home else Path(platform_dir(_APP)))


def config_dir() -> Path:
    return _user_dir("config", platformdirs.user_config_dir)


def data_dir() -> Path:
    return _user_dir("data", platformdirs.user_data_dir)


def cache_dir() -> Path:
    """Files the app can rebuild: the engine's spilled prompt states."""
    return _user_dir("cache", platformdirs.user_cache_dir)


def log_dir() -> Path:
    return _user_dir("logs", platformdirs.user_log_dir)


def default_models_dir() -> Path:
    """The models folder when settings name none."""
    override = os.environ.get("DSCODER_MODELS_DIR")
    if override:
        return _ensure(Path(override).expanduser())
    return _ensure(data_dir() / "models")
