"""The planner weighs quality measured here: among the quants of the chosen variant that meet
the speed floors, the better-measured one wins only by more than the suite's noise; a file
measured far below its published score is warned about and the next quant up offered."""

from __future__ import annotations

from pathlib import Path

from app.hardware.probe import MachineProfile, probe_machine
from app.models.catalog import load_catalog
from app.models.planning.planner import PlanOptions, plan_for_machine
from app.models.planning.quant_quality import quant_qualities
from app.models.quality.results import QualityRecord
from tests.helpers.hardware_profiles import PROFILES, readers_for
from tests.helpers.quality_records import quality_record

VARIANT = "deepseek-coder-1.3b-instruct"


def _laptop(tmp_path: Path) -> MachineProfile:
    return probe_machine(tmp_path, readers_for(PROFILES["laptop_16gb"], tmp_path / "sys"))


def _measured(quant: str, chat: float, problems: int) -> QualityRecord:
    return quality_record(quant, chat, problems, variant=VARIANT, published={"humaneval_python": 0.652, "mbpp": 0.494})


def _plan(tmp_path: Path, *records: QualityRecord):  # type: ignore[no-untyped-def]
    return plan_for_machine(_laptop(tmp_path), PlanOptions(purpose="chat", quality=tuple(records)))


def test_unmeasured_the_planner_keeps_its_order(tmp_path):
    plan = _plan(tmp_path)
    assert plan.recommendation is not None and plan.recommendation.entry.id == f"{VARIANT}:Q8_0"
    assert "noise" not in plan.reason and plan.upgrade is None


def test_within_the_quick_suites_noise_the_smaller_faster_file_is_preferred(tmp_path):
    plan = _plan(tmp_path, _measured("Q8_0", 0.62, 24), _measured("Q4_K_M", 0.58, 24))
    assert plan.recommendation is not None and plan.recommendation.entry.quant == "Q4_K_M"
    assert "Q4_K_M rather than Q8_0: measured 58% on 24 problems against measured 62% on 24 problems" in plan.reason
    assert "within the noise (±14 points), so the smaller, faster file" in plan.reason


def test_a_better_measured_quant_wins_by_more_than_the_noise(tmp_path):
    plan = _plan(tmp_path, _measured("Q8_0", 0.66, 164), _measured("Q4_K_M", 0.45, 164), _measured("Q6_K", 0.52, 164))
    assert plan.recommendation is not None and plan.recommendation.entry.quant == "Q8_0"
    assert "Q8_0 rather than the smaller Q6_K: measured 66% on 164 problems against measured 52%" in plan.reason
    assert "more than the noise (±6 points)" in plan.reason


def test_unmeasured_quants_are_expected_from_the_nearest_measurement():
    entries = load_catalog().for_variant(VARIANT)
    quality = quant_qualities(entries, [_measured("Q8_0", 0.66, 164), _measured("Q4_K_M", 0.45, 164)], "chat")
    by_quant = {entry.quant: quality[entry.id] for entry in entries}
    assert by_quant["Q4_K_M"].measured and by_quant["Q4_K_M"].fraction == 0.45
    assert by_quant["Q3_K_M"].fraction == 0.45 - 0.03  # from Q4_K_M, less the table's 3 points
    assert round(by_quant["Q6_K"].fraction, 3) == 0.655  # from Q8_0
    assert not by_quant["Q6_K"].measured


def test_a_file_far_below_its_published_score_is_warned_about_and_the_next_quant_up_offered(tmp_path):
    plan = _plan(tmp_path, _measured("Q4_K_M", 0.40, 164), _measured("Q8_0", 0.41, 24))
    # Q4_K_M (164 problems) and Q8_0 (24) are within the quick suite's noise: the smaller file wins ...
    assert plan.recommendation is not None and plan.recommendation.entry.quant == "Q4_K_M"
    # ... but it scored 25 points below the published 65.2%: warned, and Q5_K_M is offered
    assert plan.upgrade is not None and plan.upgrade.entry.quant == "Q5_K_M"
    warning = f"{VARIANT} Q4_K_M scored 25 points below its published HumanEval (40% here, 65.2% published)"
    assert f"Warning: {warning}: Q5_K_M is offered instead where it fits." in plan.reason
    assert any(note.startswith(warning) for note in plan.notes)
