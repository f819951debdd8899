"""The model manager's Benchmarks tab: published scores with sources, measured rows, and
"Check this model" in the background (a scripted engine over HTTP; the sandbox for real)."""

from __future__ import annotations

import contextlib

import pytest

from app.config.settings import Settings
from app.llm.client import OpenAIClient
from app.models.quality.problems import load_problems
from app.models.quality.results import CheckedModel, QualityRecord, QualityResults
from app.models.ui.benchmarks import FIM_NOTE, WARNING_COLOR, BenchmarksPage
from tests.helpers.fake_openai import RecordingOpenAIServer
from tests.helpers.quality_records import quality_record
from tests.helpers.scripted_coder import CanonicalCoder, endless


def _q3_record() -> QualityRecord:
    return quality_record(
        "Q3_K_M",
        0.62,
        164,
        model=CheckedModel("deepseek-coder-6.7b-instruct.Q3_K_M.gguf", 3299877088, "ab" * 32),
        fim_pass_at_1=0.71,
        fim_multi_line_pass_at_1=0.48,
        seconds=2412.0,
        measured_at="2026-12-06T12:40:00+00:00",
    )


ISOLATION = "Model-written code runs in a separate process (a temporary folder, no network: as the test says)."


def _page(qtbot, tmp_path) -> BenchmarksPage:  # type: ignore[no-untyped-def]
    page = BenchmarksPage(
        Settings(), results=QualityResults(tmp_path / "checks.json"), sandbox_isolation=lambda: ISOLATION
    )
    qtbot.addWidget(page)
    return page


def test_the_page_shows_published_scores_with_sources_and_a_measured_row(qtbot, tmp_path):  # type: ignore[no-untyped-def]
    results = QualityResults(tmp_path / "checks.json")
    results.put(_q3_record())
    page = BenchmarksPage(Settings(), results=results, sandbox_isolation=lambda: ISOLATION)
    qtbot.addWidget(page)
    page.show()  # the isolation is asked for (off the GUI thread) when the tab is first shown
    variant = page.tree.findItems("deepseek-coder-6.7b-instruct", _match_exactly())[0]
    rows = [variant.child(i) for i in range(variant.childCount())]
    assert [r.text(0) for r in rows[:2]] == ["HumanEval (Python)", "MBPP"]
    assert rows[0].text(1) == "78.9%" and "arXiv:2401.14196" in rows[0].text(2)
    [measured] = page.measured_items()
    assert measured.text(0) == "Q3_K_M, measured here (full suite, 164 problems)"
    assert measured.text(1) == "chat 62.0% · FIM 71.0% / 48.0%"
    assert "17 points below this variant's published HumanEval: prefer Q4_K_M if it fits" in measured.text(2)
    assert measured.text(3) == "2026-12-06 12:40" and measured.text(4) == "40 min 12 s"
    assert measured.foreground(0).color().name() == WARNING_COLOR
    qtbot.waitUntil(lambda: ISOLATION in page.notes_label.text(), timeout=5000)
    assert page.notes_label.text() == f"{FIM_NOTE}\n\n{ISOLATION}"


def _match_exactly():  # type: ignore[no-untyped-def]
    from PySide6.QtCore import Qt

    return Qt.MatchFlag.MatchExactly


def _scripted(server: RecordingOpenAIServer):  # type: ignore[no-untyped-def]
    @contextlib.contextmanager
    def client_for(_path, _cancel):  # type: ignore[no-untyped-def]
        client = OpenAIClient(server.url, "k")
        try:
            yield client
        finally:
            client.close()

    return client_for


@pytest.mark.slow  # the sandbox runs each answer's test in a child process
def test_check_this_model_runs_in_the_background_and_adds_a_measured_row(qtbot, tmp_path, tiny_models):  # type: ignore[no-untyped-def]
    page = _page(qtbot, tmp_path)
    assert not page.check_button.isEnabled()  # nothing installed yet
    page.set_installed([str(tiny_models["v1"])])
    problems = load_problems()[:3]
    with RecordingOpenAIServer(respond=CanonicalCoder(problems)) as server:
        page.client_for, page.problems = _scripted(server), problems
        with qtbot.waitSignal(page.checkFinished, timeout=60_000) as finished:
            page.check_button.click()
            assert page.cancel_button.isVisibleTo(page) and not page.check_button.isEnabled()
    record = finished.args[0]
    assert record.chat_pass_at_1 == 1.0 and record.problems == 3
    [measured] = page.measured_items()
    assert "chat 100.0%" in measured.text(1)
    assert page.check_button.isEnabled() and not page.cancel_button.isVisibleTo(page)
    assert QualityResults(tmp_path / "checks.json").records() == [record]


@pytest.mark.slow
def test_cancel_stops_the_check_and_keeps_nothing(qtbot, tmp_path, tiny_models):  # type: ignore[no-untyped-def]
    page = _page(qtbot, tmp_path)
    page.set_installed([str(tiny_models["v1"])])
    with RecordingOpenAIServer(respond=endless, piece_delay_s=0.05) as server:
        page.client_for = _scripted(server)
        page.check_button.click()
        qtbot.waitUntil(lambda: len(server.bodies("/chat/completions")) >= 1, timeout=20_000)
        page.cancel_button.click()
        qtbot.waitUntil(lambda: not page.is_running and page.check_button.isEnabled(), timeout=20_000)
    assert "cancelled" in page.status_label.text()
    assert page.measured_items() == []
