"""The app's small JSON stores on disk (measured loads, quality checks): read leniently, write atomically."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from app.utils.atomic import atomic_write_text

log = logging.getLogger(__name__)


def read_json_file(path: Path, what: str) -> Any | None:
    """The JSON in `path`; None when there is none yet, or when it is unreadable (logged, and
    the caller starts afresh: these stores hold measurements that can be taken again)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("the %s file %s is unreadable (%s); starting afresh", what, path, exc)
        return None


def write_json_file(path: Path, data: Any) -> None:
    """Replace `path` with `data` as indented JSON, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(data, indent=1, sort_keys=True))
