"""Request bodies checked at the engine's door (the HTTP status is an e2e test)."""

from __future__ import annotations

import pytest

from app.config.setting_spec import specs_of
from app.config.settings import Settings
from app.engine.requests import MAX_STOP_STRINGS, chat_messages, sampling_from
from app.utils.errors import PromptError


def test_defaults_and_values():
    params = sampling_from({"temperature": 0.2, "stop": "\n\n", "max_tokens": 7, "seed": 3}, default_max=64)
    assert (params.temperature, params.stop, params.max_tokens, params.seed) == (0.2, ("\n\n",), 7, 3)
    assert sampling_from({}, default_max=64).max_tokens == 64
    assert sampling_from({"max_completion_tokens": 9, "n": 1}, default_max=64).max_tokens == 9


@pytest.mark.parametrize(
    "body",
    [
        {"max_tokens": 0},
        {"max_tokens": True},
        {"n": -1},
        {"stop": ["x"] * (MAX_STOP_STRINGS + 1)},
        {"stop": ["x" * 501]},
        {"top_k": -1},
        {"min_p": 2},
        {"repeat_penalty": 0},
        {"repeat_penalty": 2.5},  # past the Settings' range
        {"top_k": 1001},
    ],
)
def test_bad_values_are_refused(body):
    with pytest.raises(PromptError):
        sampling_from(body, default_max=64)


def test_messages_keep_the_text_parts():
    messages = chat_messages({"messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]})
    assert messages == [{"role": "user", "content": "hi"}]
    with pytest.raises(PromptError, match="role"):
        chat_messages({"messages": [{"role": "tool", "content": "x"}]})


def test_speculative_is_a_boolean_or_absent():
    assert sampling_from({}, default_max=8).speculative is None
    assert sampling_from({"speculative": False}, default_max=8).speculative is False
    with pytest.raises(PromptError, match="'speculative' must be true or false"):
        sampling_from({"speculative": "no"}, default_max=8)


def test_sampling_ranges_are_the_settings_ones():
    specs = specs_of(Settings)
    high = specs["repeat_penalty"].high
    assert high is not None
    assert sampling_from({"repeat_penalty": high}, default_max=8).repeat_penalty == high
    with pytest.raises(PromptError, match=f"'temperature' must be from 0 to {specs['temperature'].high:g}"):
        sampling_from({"temperature": 9}, default_max=8)
