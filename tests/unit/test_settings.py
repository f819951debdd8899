"""Settings: typed JSON round trip, tolerant loading, value checks, restart detection."""

from __future__ import annotations

import dataclasses
import json
import os

import pytest

from app.config.settings import Settings, load_settings, save_settings, settings_path
from app.config.validation import restart_needed, sanitized, validate_settings
from app.utils import paths
from tests.helpers.settings import full_settings


def test_round_trip_in_the_config_dir(tmp_path):
    settings = full_settings(tmp_path)
    save_settings(settings)
    assert settings_path().parent == paths.config_dir()
    assert str(paths.config_dir()).startswith(os.environ["DSCODER_HOME"])  # DSCODER_HOME moves it
    assert load_settings() == settings
    assert validate_settings(settings) == []
    # Atomic write: no temp files left next to it.
    assert [p.name for p in paths.config_dir().iterdir()] == ["settings.json"]


def test_missing_or_broken_file_gives_defaults():
    assert load_settings() == Settings()
    settings_path().write_text("{ not json")
    assert load_settings() == Settings()
    settings_path().write_text("[1, 2]")
    assert load_settings() == Settings()


def test_unknown_keys_are_ignored_and_wrong_types_default():
    settings_path().write_text(json.dumps({"temperature": 0.7, "from_the_future": True, "n_threads": "eight"}))
    loaded = load_settings()
    assert loaded.temperature == 0.7
    assert loaded.n_threads == Settings().n_threads
    assert not hasattr(loaded, "from_the_future")


def test_no_api_key_is_ever_written_to_settings_json(tmp_path):
    save_settings(full_settings(tmp_path))
    text = settings_path().read_text()
    keys = set(json.loads(text)) | {k for r in json.loads(text)["remote_engines"] for k in r}
    assert not {k for k in keys if "key" in k or k.endswith("token")}


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"n_ctx": -3}, "n_ctx", "Context size must be 0"),
        ({"n_ctx": 100}, "n_ctx", "from 256"),
        ({"n_threads": True}, "n_threads", "Threads"),  # a bool is not a count
        ({"n_gpu_layers": -2}, "n_gpu_layers", "-1 for automatic"),
        ({"n_batch": 256, "n_ubatch": 512}, "n_ubatch", "not be larger than the batch"),
        ({"kv_cache_type": "q2"}, "kv_cache_type", "one of f16, q8_0, q4_0"),
        ({"kv_cache_type": "q4_0", "flash_attn": False}, "kv_cache_type", "needs flash attention"),
        ({"temperature": 3.5}, "temperature", "Temperature must be a number from 0 to 2"),
        ({"top_p": -0.1}, "top_p", "Top-p"),
        ({"top_k": -1}, "top_k", "Top-k"),
        ({"min_p": 1.5}, "min_p", "Min-p"),
        ({"repeat_penalty": 0.0}, "repeat_penalty", "Repeat penalty"),
        ({"max_tokens": 0}, "max_tokens", "Max tokens"),
        ({"seed": -7}, "seed", "Seed"),
        ({"theme": "purple"}, "theme", "Theme must be one of system, light, dark"),
        ({"editor_font_family": "  "}, "editor_font_family", "font family"),
        ({"editor_font_size": 200}, "editor_font_size", "Editor font size"),
        ({"completion_delay_ms": -5}, "completion_delay_ms", "Completion delay"),
        ({"chat_file_tokens": 50}, "chat_file_tokens", "Tokens for the current file must be a whole number"),
        ({"chat_project_map_tokens": 10**6}, "chat_project_map_tokens", "from 200 to 65536"),
        ({"hub_endpoint": "ftp://hub"}, "hub_endpoint", "http:// or https://"),
        ({"models_dir": "/no/such/folder"}, "models_dir", "does not exist"),
        ({"local_server_port": 80}, "local_server_port", "from 1024 to 65535"),
        (
            {"system_prompt_presets": [{"name": "A", "text": "x"}, {"name": "a", "text": "y"}]},
            "system_prompt_presets",
            "Two system-prompt presets",
        ),
        ({"system_prompt_preset": "Missing"}, "system_prompt_preset", "does not exist"),
        (
            {"remote_engines": [{"id": "1", "name": "Box", "base_url": "gpu:8000", "kind": "other"}]},
            "remote_engines",
            "http:// or https://",
        ),
        (
            {"remote_engines": [{"id": "1", "name": "Box", "base_url": "http://gpu:8000/v1", "kind": "vllm"}]},
            "remote_engines",
            "enter the model name",
        ),
        ({"active_engine": "gone"}, "active_engine", "no longer exists"),
    ],
)
def test_bad_values_are_rejected_with_clear_messages(changes, field, words):
    problems = validate_settings(dataclasses.replace(Settings(), **changes))
    assert [p.field for p in problems] == [field], problems
    assert words in problems[0].message


def test_sanitized_puts_bad_values_back_to_defaults_and_keeps_good_remotes():
    good = {"id": "g", "name": "Good", "base_url": "http://gpu:8000/v1", "model": "m", "kind": "vllm"}
    bad = {"id": "b", "name": "Bad", "base_url": "nowhere", "model": "m", "kind": "vllm"}
    broken = Settings(temperature=9.0, n_batch=128, theme="neon", remote_engines=[good, bad, "junk"])  # type: ignore[list-item]
    fixed, problems = sanitized(broken)
    assert {p.field for p in problems} >= {"temperature", "n_ubatch", "theme", "remote_engines"}
    assert validate_settings(fixed) == []
    assert (fixed.temperature, fixed.theme, fixed.n_batch) == (Settings().temperature, "system", 128)
    assert fixed.n_ubatch <= fixed.n_batch
    assert fixed.remote_engines == [good]


def test_restart_needed_names_the_engine_changes():
    old = Settings()
    assert restart_needed(old, dataclasses.replace(old, temperature=0.5, theme="dark")) == []
    assert restart_needed(old, dataclasses.replace(old, n_ctx=8192, flash_attn=True)) == [
        "Context size",
        "Flash attention",
    ]
    remote = {"id": "r", "name": "Box", "base_url": "http://gpu:8000/v1", "model": "m", "kind": "vllm"}
    on_remote = dataclasses.replace(old, remote_engines=[remote], active_engine="r")
    assert restart_needed(old, on_remote) == ["Engine used for chat"]
    moved = dataclasses.replace(on_remote, remote_engines=[{**remote, "base_url": "http://gpu2:8000/v1"}])
    assert restart_needed(on_remote, moved) == ["Remote engine address or model"]
