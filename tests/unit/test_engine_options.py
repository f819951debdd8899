"""GPU layers mean one thing everywhere (auto, a count, all), and sampling defaults come from one place."""

from __future__ import annotations

import argparse
import dataclasses

import pytest

from app.config import sampling
from app.config.settings import Settings
from app.llm.targets import supervisor_factory
from app.protocol.options import (
    ALL_GPU_LAYERS,
    AUTO_GPU_LAYERS,
    LoadOptions,
    SamplingParams,
    gpu_layers_arg,
    load_options_for,
    sampling_for,
)


@pytest.mark.parametrize(
    ("text", "layers"),
    [("auto", AUTO_GPU_LAYERS), ("-1", AUTO_GPU_LAYERS), ("all", ALL_GPU_LAYERS), ("0", 0), ("20", 20)],
)
def test_the_cli_reads_gpu_layers_as_the_settings_do(text: str, layers: int) -> None:
    assert gpu_layers_arg(text) == layers


@pytest.mark.parametrize("text", ["-2", "some", ""])
def test_the_cli_rejects_other_gpu_layer_values(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="'auto' or 'all'"):
        gpu_layers_arg(text)


def test_auto_stays_auto_until_the_engine_starts_and_never_reaches_it() -> None:
    options = load_options_for(Settings(chat_model_path="/m.gguf"))
    assert Settings().n_gpu_layers == AUTO_GPU_LAYERS and options.n_gpu_layers == AUTO_GPU_LAYERS
    with pytest.raises(ValueError, match="resolve them"):
        options.to_argv()
    planned: list[LoadOptions] = []

    def plan(options: LoadOptions) -> LoadOptions:
        planned.append(options)
        return dataclasses.replace(options, n_gpu_layers=7)

    make = supervisor_factory(Settings(), lambda: "/tmp/engine.log", plan)
    supervisor = make(options)
    assert planned == [options] and supervisor.options.n_gpu_layers == 7
    assert "--n-gpu-layers" in supervisor.options.to_argv()
    make(dataclasses.replace(options, n_gpu_layers=ALL_GPU_LAYERS))  # a count, or all: not planned
    assert len(planned) == 1


def test_sampling_defaults_come_from_one_place() -> None:
    settings = Settings()
    assert settings.max_tokens == SamplingParams().max_tokens == sampling.CHAT_MAX_TOKENS
    assert sampling_for(settings) == SamplingParams()
    assert sampling.INLINE_LINE_MAX_TOKENS < sampling.INLINE_BLOCK_MAX_TOKENS < sampling.COMPLETION_MAX_TOKENS
