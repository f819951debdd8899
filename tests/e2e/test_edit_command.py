"""`dscoder edit` end to end: a scripted OpenAI-compatible server (or the tiny model's real
engine), real files, and real test runs. Its exit codes (0 pass or applied, 1 still
failing or nothing applied, with the reason on stderr), its JSON line, the per-round
diff and summary, --dry-run leaving the folder untouched, and the map's picks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from tests.helpers.fake_openai import RecordingOpenAIServer
from tests.helpers.median_project import BUGGY, FIXED, STILL_WRONG, whole, write_project
from tests.helpers.median_project import TEST_COMMAND as TEST_CMD

JSON_KEYS = {"passed", "rounds", "changed", "test_exit_code", "prompt_tokens", "completion_tokens", "seconds"}


def answering(*answers: str) -> RecordingOpenAIServer:
    """A server that gives `answers` in turn, one per chat request."""
    left = list(answers)
    return RecordingOpenAIServer(respond=lambda _path, _body: left.pop(0))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_project(tmp_path / "project")


def edit(server: RecordingOpenAIServer, project: Path, *extra: str) -> int:
    args = ["edit", "Fix median for an even number of values.", "--dir", str(project)]
    return main([*args, "--endpoint", server.url, "--api-key", "k", *extra])


def last_json(out: str) -> dict[str, object]:
    figures = json.loads(out.rstrip("\n").rsplit("\n", 1)[-1])
    assert set(figures) == JSON_KEYS
    return figures


def test_passes_on_the_second_round(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with answering(whole(STILL_WRONG), whole(FIXED)) as server:
        code = edit(server, project, "--file", "stats.py", "--test-cmd", TEST_CMD, "--json")
    out = capsys.readouterr().out
    assert code == 0
    assert (project / "stats.py").read_text() == FIXED
    assert "== Round 1 of 3 ==" in out and "== Round 2 of 3 ==" in out
    assert "+    return (ordered[middle - 1] + ordered[middle]) / 2" in out  # round 2's diff
    assert "Round 2 of 3 · tests: 1 failed → 2 passed" in out
    figures = last_json(out)
    assert figures["passed"] is True
    assert figures["rounds"] == 2
    assert figures["changed"] == ["stats.py"]
    assert figures["test_exit_code"] == 0
    assert figures["prompt_tokens"] == 20 and figures["completion_tokens"] > 0  # the server's usage, 10 a request


def test_still_failing_after_the_rounds_exits_1(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with answering(whole(STILL_WRONG), whole(BUGGY), whole(STILL_WRONG)) as server:
        code = edit(
            server, project, "--file", "stats.py", "--test-cmd", TEST_CMD, "--rounds", "1", "--tries", "1", "--json"
        )
    captured = capsys.readouterr()
    assert code == 1
    assert "the tests still fail after the last round" in captured.err
    assert "== Round 2 of 2 (the tests chose from 2 answers) ==" in captured.out  # the conversation's and a fresh try
    assert len(server.questions()) == 3
    figures = last_json(captured.out)
    assert figures["passed"] is False and figures["rounds"] == 2 and figures["test_exit_code"] == 1


def test_applied_without_a_test_command_exits_0(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with answering(whole(FIXED)) as server:
        code = edit(server, project, "--file", "stats.py", "--json")
    assert code == 0
    assert (project / "stats.py").read_text() == FIXED
    figures = last_json(capsys.readouterr().out)
    assert figures["passed"] is None and figures["test_exit_code"] is None and figures["rounds"] == 1


def test_an_answer_without_an_edit_exits_1_with_the_reason(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with answering("Sort the values, then average the middle two.") as server:
        code = edit(server, project, "--file", "stats.py", "--test-cmd", TEST_CMD, "--rounds", "0")
    captured = capsys.readouterr()
    assert code == 1
    assert "no edit could be applied: The answer has no edit the app can read" in captured.err
    assert "tests: 1 failed" in captured.out  # the code as it is was tested: a feedback round would show that
    assert (project / "stats.py").read_text() == BUGGY


def test_dry_run_leaves_the_folder_untouched(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = {p.name: p.read_bytes() for p in project.iterdir()}
    with answering(whole(FIXED)) as server:
        code = edit(server, project, "--file", "stats.py", "--test-cmd", TEST_CMD, "--dry-run", "--json")
    captured = capsys.readouterr()
    assert code == 0
    assert {p.name: p.read_bytes() for p in project.iterdir()} == before
    assert "+    middle = len(ordered) // 2" in captured.out
    assert f"nothing was written in {project}" in captured.err
    assert last_json(captured.out)["passed"] is True


def test_without_files_the_map_picks_them_and_says_which(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with answering(whole(FIXED)) as server:
        code = main(
            ["edit", "make the failing test pass", "--dir", str(project), "--test-cmd", TEST_CMD]
            + ["--endpoint", server.url]
        )
        sent = server.questions()[0][-1]["content"]
    assert code == 0
    assert "note: editing stats.py (context: test_stats.py)" in capsys.readouterr().err
    assert "stats.py (editable" in sent and "test_stats.py (read-only" in sent


def test_the_tiny_model_runs_the_loop_to_a_clean_end(
    tiny_engine, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    endpoint = tiny_engine.endpoint
    args = ["edit", "Fix median.", "--dir", str(project), "--file", "stats.py", "--test-cmd", TEST_CMD]
    code = main([*args, "--max-tokens", "24", "--json", "--endpoint", endpoint.base_url, "--api-key", endpoint.api_key])
    captured = capsys.readouterr()
    assert code == 1  # random weights write no edit, in the first try or the fresh ones
    assert "dscoder edit: the answer changed nothing" in captured.err
    figures = last_json(captured.out)
    assert figures["rounds"] == 2 and figures["changed"] == [] and figures["prompt_tokens"] > 0
    assert (project / "stats.py").read_text() == BUGGY
