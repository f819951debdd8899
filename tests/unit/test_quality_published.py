"""Published scores read from the catalog: each with its source, in the family's terms; how a
file is recognised (catalog variant, known model, unknown); the reading of a measured gap."""

from __future__ import annotations

from app.models.catalog import load_catalog
from app.models.quality.published import identify_model
from app.models.quality.report import next_quant_up, reading
from app.models.quality.results import CheckedModel, QualityRecord, QualityResults
from app.models.quality.rows import quality_tip
from tests.helpers.quality_records import quality_record


def test_every_published_score_has_a_source_and_a_label():
    catalog = load_catalog()
    for variant in catalog.variants():
        for score in catalog.published_for_variant(variant):
            assert score.source, (variant, score.benchmark)
            assert score.label in catalog.benchmarks.values()
            assert 0 < score.fraction < 1


def test_the_reference_figures_are_in_the_catalog():
    catalog = load_catalog()
    base33 = {s.benchmark: s for s in catalog.published_for_variant("deepseek-coder-33b-base")}
    assert base33["humaneval_python"].percent == 56.1 and base33["mbpp"].percent == 66.0
    assert base33["humaneval_multilingual"].percent == 50.3 and base33["ds1000"].percent == 40.2
    assert base33["ds1000"].label == "DS-1000" and "2401.14196" in base33["ds1000"].source
    base67 = {s.benchmark: s.percent for s in catalog.published_for_variant("deepseek-coder-6.7b-base")}
    assert base67["humaneval_fim"] == 86.1 and base67["mbpp"] == 60.6
    lite = {s.benchmark: s for s in catalog.published_for_variant("deepseek-coder-v2-lite-base")}
    assert lite["humaneval_fim"].percent == 86.4 and "2406.11931" in lite["humaneval_fim"].source


def test_files_are_recognised_by_catalog_name_gguf_name_or_the_known_models(tmp_path, tiny_models):
    by_catalog_name = identify_model(str(tmp_path / "deepseek-coder-1.3b-instruct.Q3_K_M.gguf"))
    assert by_catalog_name.variant == "deepseek-coder-1.3b-instruct" and by_catalog_name.quant == "Q3_K_M"
    assert by_catalog_name.published_fractions() == {"humaneval_python": 0.652, "mbpp": 0.494}
    renamed = identify_model(str(tmp_path / "my-Deepseek_Coder-6.7B-Instruct-Q5_K_M.gguf"))
    assert renamed.variant == "deepseek-coder-6.7b-instruct" and renamed.quant == "Q5_K_M"
    test_model = identify_model(str(tmp_path / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"))
    assert test_model.variant is None and test_model.label == "Qwen2.5-Coder-0.5B-Instruct"
    assert test_model.published_fractions() == {"humaneval_python": 0.616, "humaneval_plus": 0.573, "mbpp": 0.524}
    unknown = identify_model(str(tiny_models["v1"]))
    assert unknown.published == () and unknown.label == "tiny-deepseek-v1"


def _record(chat: float, quant: str = "Q3_K_M", problems: int = 164) -> QualityRecord:
    return quality_record(quant, chat, problems, suite="full")


def test_the_reading_names_the_gap_and_the_next_quant_up():
    assert next_quant_up("deepseek-coder-6.7b-instruct", "Q3_K_M") == "Q4_K_M"
    assert next_quant_up("deepseek-coder-6.7b-instruct", "Q8_0") is None
    low = reading(_record(0.689))
    assert low == "Q3_K_M scores 10 points below this variant's published HumanEval: prefer Q4_K_M if it fits."
    assert "within the full suite's noise (±6 points on 164 problems)" in reading(_record(0.76))
    assert "within the full suite's noise (±14 points on 24 problems)" in reading(_record(0.70, problems=24))
    assert (
        reading(_record(0.85)) == "Q3_K_M scores 6 points above this variant's published HumanEval (noise: ±6 points)."
    )


def test_results_are_kept_per_file_settings_and_suite(tmp_path):
    store = QualityResults(tmp_path / "checks.json")
    store.put(_record(0.5))
    store.put(_record(0.6))  # the same file, settings and suite: replaces
    again = QualityResults(tmp_path / "checks.json")
    assert [r.chat_pass_at_1 for r in again.records()] == [0.6]
    (tmp_path / "bad.json").write_text("{not json")
    assert QualityResults(tmp_path / "bad.json").records() == []


def test_a_file_is_known_by_its_size_and_head_hash_not_its_name(tmp_path):
    first, renamed = tmp_path / "a.gguf", tmp_path / "b.gguf"
    first.write_bytes(b"GGUF" + b"x" * 100)
    renamed.write_bytes(b"GGUF" + b"x" * 100)
    assert CheckedModel.of_file(first).key() == CheckedModel.of_file(renamed).key()
    renamed.write_bytes(b"GGUF" + b"y" * 100)
    assert CheckedModel.of_file(first).key() != CheckedModel.of_file(renamed).key()


def test_a_catalog_rows_tip_has_the_published_figures_and_this_quant_measured_here():
    catalog = load_catalog()
    entry = catalog.get("deepseek-coder-6.7b-instruct:Q3_K_M")
    tip = quality_tip(entry, catalog, [_record(0.689), _record(0.9, quant="Q8_0")])
    lines = tip.splitlines()
    assert lines[:2] == ["Published: HumanEval (Python) 78.9%", "Published: MBPP 65.4%"]
    assert lines[2].startswith("Measured here (2026-12-06 12:00, full suite): chat 68.9%")
    assert "prefer Q4_K_M if it fits" in lines[2] and len(lines) == 3  # the Q8_0 record is another row's
