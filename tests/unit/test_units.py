"""The app's numbers in words (app/utils/units.py), and the machine-speed sentence that the
window and `dscoder probe` share."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from app.commands.probe import speed_reading
from app.hardware.machine_speed import NOT_MEASURED, GpuSpeed, MachineSpeed, describe_machine_speed
from app.hardware.probe import probe_machine
from app.utils import units
from tests.helpers.hardware_profiles import PROFILES, readers_for


@pytest.mark.parametrize(
    ("n_bytes", "text"),
    [(0, "0 B"), (600, "600 B"), (540_600, "540.6 KB"), (412_300_000, "412.3 MB"), (4.1e9, "4.1 GB"), (2e12, "2.0 TB")],
)
def test_a_file_size_is_in_decimal_units_with_one_decimal(n_bytes: float, text: str) -> None:
    assert units.file_size(n_bytes) == text


def test_an_exact_file_size_gives_the_count_and_the_readable_size() -> None:
    assert units.exact_file_size(600) == "600 bytes"
    assert units.exact_file_size(245_000_000) == "245,000,000 bytes (245.0 MB)"


def test_memory_is_in_binary_gb_as_spec_sheets_write_it() -> None:
    assert units.memory_size(24 * units.GIB) == "24.0 GB"
    assert units.memory_size(0) == "0.0 GB"


def test_rates_say_their_unit() -> None:
    assert units.transfer_rate(12_400_000) == "12.4 MB/s"
    assert units.bandwidth(11.5e9) == "11.5 GB/s" and units.bandwidth(230e9) == "230 GB/s"
    assert units.compute_rate(66e9) == "66 GFLOP/s" and units.compute_rate(30e12) == "30.0 TFLOP/s"
    assert units.token_rate(9.54) == "9.5" and units.token_rate(42.4) == "42"


@pytest.mark.parametrize(("seconds", "text"), [(0.05, "under 0.1 s"), (2.54, "2.5 s"), (40.2, "40 s"), (180, "3 min")])
def test_a_duration_is_as_precise_as_is_useful(seconds: float, text: str) -> None:
    assert units.duration(seconds) == text


def test_the_time_left_counts_down_to_the_second() -> None:
    assert units.time_left(None) == ""
    assert units.time_left(41.6) == "42 s"
    assert units.time_left(250) == "4 min 10 s"
    assert units.time_left(3900) == "1 h 05 min"


def test_counts_of_tokens_and_parameters() -> None:
    assert units.token_count(1) == "1 token" and units.token_count(950) == "950 tokens"
    assert units.token_count(2345) == "2.3k tokens"
    assert units.parameter_count(6.74e9) == "6.7B"


def test_the_machine_speed_sentence_names_every_measured_rate() -> None:
    speed = MachineSpeed(11.5e9, 66e9, (GpuSpeed("NVIDIA GeForce RTX 3060", 230e9, 30e12),), cpu_attention_flops=34e9)
    assert speed.describe() == (
        "CPU 11.5 GB/s decode, 66 GFLOP/s prompt, 34 GFLOP/s attention; "
        "NVIDIA GeForce RTX 3060 230 GB/s, 30.0 TFLOP/s (recorded)"
    )
    assert describe_machine_speed(None) == NOT_MEASURED


def test_the_cli_and_the_window_say_the_same_about_the_machine_speed(tmp_path: Path) -> None:
    machine = probe_machine(tmp_path, readers_for(PROFILES["unusable_gpu_32gb"]))
    assert machine.machine_speed is not None
    assert speed_reading(machine) == describe_machine_speed(machine.machine_speed)
    unmeasured = dataclasses.replace(machine, machine_speed=None)
    # Unmeasured, the CLI adds how to measure; the window has its Measure button instead.
    assert speed_reading(unmeasured).startswith(NOT_MEASURED + "; run `dscoder probe --measure`")
