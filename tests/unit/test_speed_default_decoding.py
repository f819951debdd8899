"""The prediction is for what the default does (drafting on, drafting only when it pays), plain decoding beside it."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.hardware.probe import probe_machine
from app.models.catalog import load_catalog
from app.models.planning.estimator import estimate_memory
from app.models.planning.shape import model_shape
from app.models.planning.speed_prediction import FREE_FORM_DRAFTING, device_rates, predict_speed
from tests.helpers.hardware_profiles import PROFILES, readers_for


def test_the_default_decodes_a_free_form_answer_at_plain_speed(tmp_path: Path) -> None:
    machine = probe_machine(tmp_path, readers_for(PROFILES["cloud_vm_23gb"]))  # the 2-core VM it was built on
    entry = load_catalog().get("deepseek-coder-1.3b-instruct:Q4_K_M")
    shape, est = model_shape(entry), estimate_memory(entry, n_ctx=4096)
    rates = device_rates(machine.machine_speed)
    default, plain = predict_speed(shape, est, rates), predict_speed(shape, est, rates, drafting=False)
    assert plain.decode_tokens_per_s == plain.plain_decode == default.plain_decode
    assert default.decode_tokens_per_s == pytest.approx(plain.decode_tokens_per_s * FREE_FORM_DRAFTING)
    assert 0.97 <= FREE_FORM_DRAFTING <= 1.0  # issue 20's target: drafting never makes an answer slower than 0.97x
    corrected = default.scaled(0.8, 1.0, "calibrated")
    assert corrected.plain_decode == pytest.approx(plain.plain_decode * 0.8)  # a correction moves both
    assert corrected.cli_dict()["plain_decode_tokens_per_s"] == round(plain.plain_decode * 0.8, 2)
