"""The quality check against scripted engines over HTTP (the sandbox runs the tests for real):
a perfect model scores 1.0, a broken one 0, a stuck one is cut by the timeout; and the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from app.cli import main
from app.llm.client import OpenAIClient
from app.models.quality.check import CheckRun
from app.models.quality.problems import load_problems, suite_problems
from app.models.quality.results import QualityResults
from app.models.quality.sandbox import TestLimits, network_namespace_available, run_test
from tests.helpers.fake_openai import RecordingOpenAIServer
from tests.helpers.scripted_coder import CanonicalCoder, endless, garbage

pytestmark = pytest.mark.slow  # the sandbox runs every answer's test in a child process


def _check(server: RecordingOpenAIServer, **options) -> CheckRun:  # type: ignore[no-untyped-def]
    return CheckRun(OpenAIClient(server.url, "test-key"), "quick", **options)


def test_canonical_answers_score_one_in_chat_and_both_kinds_of_hole():
    quick = suite_problems("quick")
    with RecordingOpenAIServer(respond=CanonicalCoder(quick)) as server:
        report = _check(server).run()
    assert report.problems == len(quick) == 24
    assert report.chat_pass_at_1 == 1.0, [o.notes for o in report.outcomes if o.notes]
    assert report.fim_pass_at_1 == 1.0, [o.notes for o in report.outcomes if o.notes]
    assert report.fim_multi_line_pass_at_1 == 1.0
    assert report.fim_multi_line_problems >= 18
    # the holes went through the editor's completion request, with its token limits
    middles = server.bodies("/completions")
    assert middles and all(body["max_tokens"] in (32, 96) for body in middles if "suffix" in body)


def test_middles_the_stop_rules_end_early_count_as_answers_not_timeouts():
    problems = suite_problems("quick")[:6]
    with RecordingOpenAIServer(respond=CanonicalCoder(problems, run_past_the_hole=True), piece_delay_s=0.01) as server:
        report = _check(server, problems=problems).run()
    assert report.fim_pass_at_1 == 1.0, [o.notes for o in report.outcomes]
    assert report.fim_multi_line_pass_at_1 == 1.0


def test_garbage_answers_score_zero_and_the_check_goes_on():
    problems = load_problems()[:5]
    with RecordingOpenAIServer(respond=garbage) as server:
        report = _check(server, problems=problems).run()
    assert report.problems == 5
    assert (report.chat_pass_at_1, report.fim_pass_at_1, report.fim_multi_line_pass_at_1) == (0.0, 0.0, 0.0)
    assert all("chat: no code in the answer" in o.notes for o in report.outcomes)


def test_a_stuck_model_is_cut_by_the_answer_timeout():
    with RecordingOpenAIServer(respond=endless, piece_delay_s=0.05) as server:
        started = time.monotonic()
        report = _check(server, problems=load_problems()[:1], answer_timeout_s=0.5).run()
    assert time.monotonic() - started < 15
    outcome = report.outcomes[0]
    assert outcome.chat is False and "chat: no answer within 0.5 s" in outcome.notes[0]


def test_cancel_from_another_thread_ends_the_check_at_once():
    with RecordingOpenAIServer(respond=endless, piece_delay_s=0.05) as server:
        check = _check(server, answer_timeout_s=60)
        threading.Timer(0.5, check.cancel).start()
        started = time.monotonic()
        report = check.run()
    assert report.cancelled and report.problems == 0
    assert time.monotonic() - started < 10


def test_code_that_runs_forever_is_killed_at_the_test_timeout():
    run = run_test("while True:\n    pass\n", TestLimits(timeout_s=0.5))
    assert run.outcome == "timed out" and not run.passed


def test_code_that_allocates_everything_is_stopped_by_the_memory_limit():
    run = run_test("block = bytearray(4 * 1024**3)\n", TestLimits(memory_bytes=512 * 1024**2))
    assert run.outcome == "failed" and "MemoryError" in run.output


def test_code_cannot_write_outside_its_folder_where_namespaces_are_allowed(tmp_path):
    if not network_namespace_available():
        return  # the page says writes elsewhere are stopped only by the user's permissions
    target = tmp_path / "outside.txt"
    run = run_test(f"open({str(target)!r}, 'w').write('x')\n")
    assert not run.passed and "Read-only file system" in run.output and not target.exists()


def test_code_cannot_reach_the_network_where_a_namespace_is_allowed():
    if not network_namespace_available():
        return  # the page and the CLI say the network is not cut; nothing to try here
    code = "import socket\nsocket.create_connection(('1.1.1.1', 53), timeout=2)\n"
    run = run_test(code)
    assert not run.passed and "unreachable" in run.output.lower()


def test_dscoder_check_json_ends_with_the_figures_as_fractions_and_keeps_them(capsys):
    quick = suite_problems("quick")
    with RecordingOpenAIServer(respond=CanonicalCoder(quick)) as server:
        argv = ["check", "--endpoint", server.url, "--api-key", "k", "--model", "deepseek-coder-6.7b-instruct"]
        assert main(argv + ["--json"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    figures = json.loads(last)
    assert {
        "suite",
        "problems",
        "chat_pass_at_1",
        "fim_pass_at_1",
        "fim_multi_line_pass_at_1",
        "published",
        "seconds",
    } <= set(figures)
    assert figures["suite"] == "quick" and figures["problems"] == 24
    assert figures["chat_pass_at_1"] == 1.0 and figures["fim_pass_at_1"] == 1.0
    assert figures["published"] == {"humaneval_python": 0.789, "mbpp": 0.654}
    assert "above this variant's published HumanEval" in figures["reading"]
    kept = QualityResults().records()
    assert len(kept) == 1 and kept[0].chat_pass_at_1 == 1.0 and kept[0].variant == "deepseek-coder-6.7b-instruct"


def test_ctrl_c_cancels_dscoder_check_cleanly_and_keeps_nothing(tmp_path):
    repository = Path(__file__).resolve().parents[2]
    env = {**os.environ, "DSCODER_HOME": str(tmp_path), "PYTHONPATH": str(repository)}
    with RecordingOpenAIServer(respond=endless, piece_delay_s=0.05) as server:
        argv = [sys.executable, "-m", "app", "check", "--endpoint", server.url, "--model", "m", "--json"]
        child = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while not server.bodies("/chat/completions") and time.monotonic() < deadline:
            time.sleep(0.1)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=30)
    assert child.returncode == 130
    assert "check cancelled; nothing was kept" in err and out == ""
    assert not (tmp_path / "data" / "quality-checks.json").exists()
