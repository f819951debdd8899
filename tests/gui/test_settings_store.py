"""The settings store: one Settings object, saved atomically, and a signal naming what changed."""

from __future__ import annotations

import dataclasses

import pytest

from app.config.settings import Settings, load_settings
from app.config.ui.store import SettingsStore


def test_update_saves_and_names_the_fields_that_changed(qtbot) -> None:
    settings = Settings()
    store = SettingsStore(settings)
    assert store.settings is settings  # everyone shares this one object
    with qtbot.waitSignal(store.changed) as changed:
        assert store.update(theme="dark", max_tokens=settings.max_tokens) == {"theme"}
    assert changed.args == [frozenset({"theme"})]
    assert load_settings().theme == "dark"
    with qtbot.assertNotEmitted(store.changed):
        assert store.update(theme="dark") == frozenset()  # nothing changed: nothing to say
    with pytest.raises(AttributeError, match="no field colour"):
        store.update(colour="red")


def test_replace_takes_the_dialogs_outcome_into_the_shared_object(qtbot) -> None:
    store = SettingsStore(Settings())
    shared = store.settings
    new = dataclasses.replace(shared, n_ctx=2048, recent_files=["/a.py"])
    with qtbot.waitSignal(store.changed) as changed:
        store.replace(new)
    assert changed.args == [frozenset({"n_ctx", "recent_files"})]
    assert store.settings is shared and shared.n_ctx == 2048
    new.recent_files.append("/b.py")  # the dialog's copy stays its own
    assert shared.recent_files == ["/a.py"]


def test_save_after_a_direct_change_names_it(qtbot) -> None:
    store = SettingsStore(Settings())
    store.settings.hub_offline = True  # code handed the plain object (the model manager)
    assert store.changes() == {"hub_offline"}
    with qtbot.waitSignal(store.changed) as changed:
        store.save()
    assert changed.args == [frozenset({"hub_offline"})] and store.changes() == frozenset()
    assert load_settings().hub_offline


def test_a_failed_save_keeps_the_change_and_says_so(qtbot, tmp_path) -> None:
    not_a_folder = tmp_path / "config"
    not_a_folder.write_text("a file where the config folder should be")
    store = SettingsStore(Settings(), path=not_a_folder / "settings.json")
    with qtbot.waitSignal(store.saveFailed) as failed, qtbot.waitSignal(store.changed):
        store.update(theme="light")
    assert "could not be saved" in failed.args[0]
    assert store.settings.theme == "light"
    store.settings.theme = "dark"
    with pytest.raises(OSError):
        store.save()


def test_a_full_disk_keeps_the_saved_file_says_so_once_and_saves_later(qtbot, small_disk) -> None:
    path = small_disk.folder / "settings.json"
    store = SettingsStore(Settings(), path=path)
    store.update(theme="light")
    saved = path.read_bytes()
    small_disk.fill()
    failures: list[str] = []
    store.saveFailed.connect(failures.append)
    store.update(n_ctx=2048)
    store.update(editor_font_size=15)
    store.update(theme="dark")
    assert len(failures) == 1 and "the disk is full" in failures[0]  # said once, not at every change
    assert path.read_bytes() == saved  # the file holds what was saved before, whole
    assert not [p for p in small_disk.folder.iterdir() if p.name.endswith(".tmp")]
    small_disk.free()
    store.update(editor_font_size=16)  # the next save writes the changes that failed too
    on_disk = load_settings(path)
    assert (on_disk.n_ctx, on_disk.editor_font_size, on_disk.theme) == (2048, 16, "dark")
