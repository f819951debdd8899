"""Reading the app's own JSON files (settings, the model manifest, the secrets file).

Such a file may be missing (first start), or broken by a crash or a hand edit; either way
the caller starts from its defaults, so the reader says which happened in the log and
never raises. Writing goes through app.utils.atomic.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any


def read_json_object(path: Path, what: str, consequence: str, log: logging.Logger | None) -> dict[str, Any] | None:
    """The JSON object in `path`; None when the file is missing, unreadable, not JSON or not an object.

    When it is there but cannot be read or parsed, `log` (the caller's logger; None: say
    nothing) gets a warning: "<what> <path> is unreadable (<cause>); <consequence>".
    """
    try:
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        if log is not None:
            log.warning("%s %s is unreadable (%s); %s", what, path, exc, consequence)
        return None
    return raw if isinstance(raw, dict) else None
