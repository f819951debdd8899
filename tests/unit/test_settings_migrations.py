"""Migrations of the settings file: a file of each earlier version loads at the latest and is
written back; keys of a newer release are kept; a newer file still loads what this one knows."""

from __future__ import annotations

import json
import logging

import pytest

from app.config.migrations import (
    LATEST_VERSION,
    PERSISTED_PROMPT_CACHE_MIB,
    STEPS,
    VERSION_KEY,
    file_version,
    migrate_settings,
)
from app.config.settings import Settings, load_settings, save_settings, settings_path

# A settings file as releases before versions (version 0) wrote it: no "version" key.
VERSION_0_FILE = {
    "chat_model_path": "/models/deepseek-coder-1.3b-instruct.Q4_K_M.gguf",
    "n_ctx": 8192,
    "temperature": 0.2,
    "theme": "dark",
    "recent_files": ["/src/app.py"],
}


def written() -> dict:
    return json.loads(settings_path().read_text(encoding="utf-8"))


def test_a_version_0_file_loads_and_is_written_back_at_the_latest_version():
    settings_path().parent.mkdir(parents=True, exist_ok=True)
    settings_path().write_text(json.dumps(VERSION_0_FILE), encoding="utf-8")
    loaded = load_settings()
    assert (loaded.chat_model_path, loaded.n_ctx, loaded.temperature, loaded.theme, loaded.recent_files) == (
        "/models/deepseek-coder-1.3b-instruct.Q4_K_M.gguf",
        8192,
        0.2,
        "dark",
        ["/src/app.py"],
    )
    assert written() == {**VERSION_0_FILE, VERSION_KEY: LATEST_VERSION}
    assert load_settings() == loaded  # the migrated file reads the same


@pytest.mark.parametrize("previous", range(LATEST_VERSION))
def test_each_step_applies_to_a_file_of_the_version_before(previous):
    raw = {**VERSION_0_FILE, VERSION_KEY: previous} if previous else dict(VERSION_0_FILE)
    migrated, found = migrate_settings(raw)
    assert found == previous
    assert migrated[VERSION_KEY] == LATEST_VERSION
    assert migrate_settings(migrated) == (migrated, LATEST_VERSION)  # nothing left to do


def test_a_later_step_sees_the_raw_file_and_can_rename_a_key():
    def rename_dark_mode(raw: dict) -> dict:  # a step as a later release would add it
        if "dark_mode" in raw:
            raw["theme"] = "dark" if raw.pop("dark_mode") else "light"
        return raw

    migrated, found = migrate_settings({VERSION_KEY: 1, "dark_mode": True}, (*STEPS, rename_dark_mode))
    assert found == 1
    assert migrated == {VERSION_KEY: LATEST_VERSION + 1, "theme": "dark"}


def test_save_writes_the_version_and_keeps_keys_this_version_does_not_know():
    settings_path().parent.mkdir(parents=True, exist_ok=True)
    settings_path().write_text(json.dumps({VERSION_KEY: LATEST_VERSION, "from_a_newer_release": [1, 2]}))
    save_settings(Settings(theme="light"))
    data = written()
    assert data[VERSION_KEY] == LATEST_VERSION
    assert data["from_a_newer_release"] == [1, 2]
    assert data["theme"] == "light"


def test_a_file_from_a_newer_release_loads_what_this_one_knows_and_is_not_rewritten(caplog):
    newer = {VERSION_KEY: LATEST_VERSION + 1, "theme": "dark", "n_ctx": 4096, "run_profiles": {"tests": "pytest"}}
    settings_path().parent.mkdir(parents=True, exist_ok=True)
    settings_path().write_text(json.dumps(newer))
    with caplog.at_level(logging.WARNING, logger="app.config.settings"):
        loaded = load_settings()
    assert (loaded.theme, loaded.n_ctx) == ("dark", 4096)
    assert "newer version" in caplog.text
    assert written() == newer


@pytest.mark.parametrize("broken", ["two", -1, 1.5, True, None])
def test_a_broken_version_counts_as_version_0(broken):
    assert file_version({VERSION_KEY: broken}) == 0


def test_step_2_turns_on_prompt_states_on_disk_for_existing_users():
    settings_path().parent.mkdir(parents=True, exist_ok=True)
    settings_path().write_text(
        json.dumps({VERSION_KEY: 1, "prompt_cache_disk_mib": 0, "n_ctx": 8192}), encoding="utf-8"
    )
    loaded = load_settings()
    assert loaded.prompt_cache_disk_mib == Settings().prompt_cache_disk_mib == PERSISTED_PROMPT_CACHE_MIB
    assert loaded.n_ctx == 8192
    chosen, _ = migrate_settings({VERSION_KEY: 1, "prompt_cache_disk_mib": 512})
    assert chosen["prompt_cache_disk_mib"] == 512  # a cap the user chose stays
