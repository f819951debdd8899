"""Numbered migrations of the settings file, applied when the settings are loaded.

The file's "version" key is the number of steps it has had; a file without one is version 0
(every file written before versions were kept). `STEPS[n]` takes a version-n dict to version
n + 1. A step works on the raw JSON dict, before it becomes a `Settings`, so it can rename or
convert keys that the dataclass no longer has.

A step must also accept a dict already in the newer shape: an older release that saves a newer
file keeps the keys it does not know and writes its own version, so the newer release runs the
step again over them (the older release's values win, as the user's latest choices).

To change what a key means: append a step here (never edit a released one), and add a test
that loads a file of the previous version.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

log = logging.getLogger(__name__)

VERSION_KEY = "version"

Step = Callable[[dict[str, Any]], dict[str, Any]]


def _stamp_version(raw: dict[str, Any]) -> dict[str, Any]:
    """0 → 1: files before versions; their keys mean what they mean in version 1."""
    return raw


PERSISTED_PROMPT_CACHE_MIB = 4096  # the default of Settings.prompt_cache_disk_mib since step 2


def _persist_prompt_states(raw: dict[str, Any]) -> dict[str, Any]:
    """1 → 2: prompt states persist on disk by default (issue 20). Every file before held the
    old default 0 ("RAM only") with no sign of a choice, so 0 becomes the new default cap.
    (An older release that writes the file again makes this step run again: a 0 chosen in
    this release then comes back as the default; turn it off again in Settings.)"""
    if raw.get("prompt_cache_disk_mib") == 0:
        raw = {**raw, "prompt_cache_disk_mib": PERSISTED_PROMPT_CACHE_MIB}
    return raw


STEPS: tuple[Step, ...] = (_stamp_version, _persist_prompt_states)
LATEST_VERSION = len(STEPS)


def file_version(raw: dict[str, Any]) -> int:
    """The version a settings dict was written at (0: before versions; a broken value counts as 0)."""
    version = raw.get(VERSION_KEY, 0)
    return version if isinstance(version, int) and not isinstance(version, bool) and version >= 0 else 0


def migrate_settings(raw: dict[str, Any], steps: Sequence[Step] = STEPS) -> tuple[dict[str, Any], int]:
    """(the dict at version len(steps), the version it had). A dict from a newer release is
    returned as it is: its known keys still load, and the loader says it is newer."""
    found = file_version(raw)
    migrated = dict(raw)
    for version in range(found, len(steps)):
        migrated = steps[version](migrated)
    if found < len(steps):
        migrated[VERSION_KEY] = len(steps)
    return migrated, found
