"""The settings' one owner in the GUI process: it holds the Settings, saves them and says what changed.

Every part of the window shares one `Settings` object (`store.settings`), and reads it
directly. Changes go through the store: `update(name=value)`, `replace(new)` for the
settings dialog's outcome, or `save()` for code handed the plain object that changed it
itself (the model manager). Each saves atomically (`save_settings`) and emits
`changed(frozenset[str])` with the names of the fields that differ from what was saved
before, so whoever depends on a setting reacts to it (menus rebuild, completion checks
again, the engine session restarts for the fields that need it), instead of every caller
remembering whom to tell.

Qt-free code never sees the store: it keeps taking a plain Settings.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.config.settings import Settings, load_settings, save_settings, settings_path
from app.utils.atomic import WriteFailures

log = logging.getLogger(__name__)

FIELD_NAMES = frozenset(f.name for f in dataclasses.fields(Settings))


class SettingsStore(QObject):
    changed = Signal(frozenset)  # frozenset[str]: the Settings fields that changed (already saved)
    saveFailed = Signal(str)  # the settings changed in memory, but the file could not be written

    def __init__(
        self, settings: Settings | None = None, path: Path | None = None, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._settings = settings if settings is not None else load_settings(path)
        self._path = path
        self._saved = copy.deepcopy(self._settings)  # what the file holds, to tell what changed
        self._failures = WriteFailures("the settings")  # a failing save is said once, not at every change

    @property
    def settings(self) -> Settings:
        """The one Settings object; read it freely, change it through the store."""
        return self._settings

    def update(self, **values: Any) -> frozenset[str]:
        """Set some fields, save, and tell who listens; returns the names that changed."""
        unknown = set(values) - FIELD_NAMES
        if unknown:
            raise AttributeError(f"Settings has no field {', '.join(sorted(unknown))}")
        for name, value in values.items():
            setattr(self._settings, name, value)
        return self._commit(raise_errors=False)

    def replace(self, new: Settings) -> frozenset[str]:
        """Take every field of `new` (the settings dialog's outcome) into the shared object."""
        for name in FIELD_NAMES:
            setattr(self._settings, name, copy.deepcopy(getattr(new, name)))
        return self._commit(raise_errors=False)

    def save(self) -> frozenset[str]:
        """Save changes made directly to `settings`; raises OSError when the file cannot be written."""
        return self._commit(raise_errors=True)

    def changes(self) -> frozenset[str]:
        """Fields that differ from the file (changed in memory, not saved yet)."""
        return frozenset(n for n in FIELD_NAMES if getattr(self._settings, n) != getattr(self._saved, n))

    def _commit(self, *, raise_errors: bool) -> frozenset[str]:
        changed = self.changes()
        if not changed:
            return changed
        error: OSError | None = None
        try:
            save_settings(self._settings, self._path)
        except OSError as exc:
            error = exc  # the file keeps its last good contents (an atomic write); retried at the next save
        else:
            self._saved = copy.deepcopy(self._settings)
            self._failures.succeeded()
        self.changed.emit(changed)
        if error is not None:
            message = self._failures.failed(self._path or settings_path(), error)
            if message is not None:
                self.saveFailed.emit(f"The settings could not be saved: {message}")
            if raise_errors:
                raise error
        return changed
