"""A setting is declared once, on its Settings field: its spec drives validation, the restart
labels, the engine's load options and the chat's sampling parameters."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from app.config.setting_spec import mapped_values, setting, specs_of
from app.config.settings import THEME_CHOICES, Settings
from app.config.validation import RESTART_FIELDS, restart_needed, sanitized, validate_settings
from app.protocol.options import LoadOptions, SamplingParams, load_options_for, sampling_for


@dataclass
class SettingsWithNewFields(Settings):
    """Settings as they would be with two new fields, each declared once."""

    draft_tokens: int = setting(8, label="Draft length", low=1, high=64, restart=True, load_option="n_draft")
    typical_p: float = setting(1.0, label="Typical-p", low=0.0, high=1.0, sampling="typical_p")
    tab_style: str = setting("spaces", label="Indentation", choices=(("spaces", "Spaces"), ("tabs", "Tabs")))


def test_a_new_field_with_a_spec_is_validated_by_it() -> None:
    assert validate_settings(SettingsWithNewFields()) == []
    problems = validate_settings(SettingsWithNewFields(draft_tokens=100, typical_p=1.5, tab_style="both"))
    assert [(p.field, p.message) for p in problems] == [
        ("draft_tokens", "Draft length must be a whole number from 1 to 64, not 100"),
        ("typical_p", "Typical-p must be a number from 0 to 1, not 1.5"),
        ("tab_style", "Indentation must be one of spaces, tabs, not 'both'"),
    ]
    fixed, _ = sanitized(SettingsWithNewFields(draft_tokens=0))
    assert fixed.draft_tokens == 8


def test_a_new_restart_field_is_named_when_it_changes() -> None:
    old = SettingsWithNewFields()
    assert restart_needed(old, dataclasses.replace(old, draft_tokens=4, typical_p=0.5)) == ["Draft length"]


def test_a_new_field_reaches_the_option_it_declares() -> None:
    settings = SettingsWithNewFields(draft_tokens=12, typical_p=0.9)
    assert mapped_values(settings, "load_option")["n_draft"] == 12
    assert mapped_values(settings, "sampling")["typical_p"] == 0.9
    assert "draft_tokens" not in mapped_values(settings, "sampling").values()


def test_every_declared_option_is_a_field_of_its_target_and_every_sampling_field_has_a_setting() -> None:
    load_fields = {f.name for f in dataclasses.fields(LoadOptions)}
    sampling_fields = {f.name for f in dataclasses.fields(SamplingParams)}
    assert set(mapped_values(Settings(), "load_option")) <= load_fields
    # stop strings and speculative decoding are per request, never a setting
    assert set(mapped_values(Settings(), "sampling")) == sampling_fields - {"stop", "speculative"}


def test_the_mappings_carry_the_settings_values() -> None:
    settings = Settings(temperature=0.7, top_k=5, seed=42, n_batch=256, n_ubatch=128, kv_cache_type="q8_0")
    params = sampling_for(settings)
    assert (params.temperature, params.top_k, params.seed) == (0.7, 5, 42)
    assert sampling_for(Settings(seed=-1)).seed is None  # -1: random
    options = load_options_for(settings, "/m.gguf")
    assert (options.n_batch, options.n_ubatch, options.kv_cache_type) == (256, 128, "q8_0")


def test_restart_fields_come_from_the_specs() -> None:
    specs = specs_of(Settings)
    assert RESTART_FIELDS == {name: spec.label for name, spec in specs.items() if spec.restart}
    assert {"n_ctx", "kv_cache_type", "local_server_port"} <= set(RESTART_FIELDS)
    assert "temperature" not in RESTART_FIELDS


def test_theme_choices_are_declared_once_on_the_field() -> None:
    assert specs_of(Settings)["theme"].choices == THEME_CHOICES
    assert specs_of(Settings)["theme"].choice_values == ("system", "light", "dark")
