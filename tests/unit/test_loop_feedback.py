"""What the loop tells the model after a failed test run (recorded outputs of pytest,
unittest and node's TAP reporter), its status line, and the files it picks."""

from __future__ import annotations

from pathlib import Path

from app.edits.workspace import EditScope
from app.loop.feedback import budget_chars, changed_beyond_edit, feedback_message, trim_failures
from app.loop.picking import pick_files
from app.loop.rounds import LoopProgress, TestRun
from app.run.summary import parse_test_counts

PYTEST_Q = """\
.FF                                                                      [100%]
=================================== FAILURES ===================================
__________________________________ test_even ___________________________________

    def test_even():
>       assert median([4, 1, 3, 2]) == 2.5
E       assert 3 == 2.5

test_stats.py:9: AssertionError
______________________________ test_unsorted_even ______________________________

    def test_unsorted_even():
>       assert median([10, 0]) == 5
E       assert 10 == 5

test_stats.py:13: AssertionError
=========================== short test summary info ============================
FAILED test_stats.py::test_even - assert 3 == 2.5
FAILED test_stats.py::test_unsorted_even - assert 10 == 5
2 failed, 1 passed in 0.04s
"""

UNITTEST = """\
.F
======================================================================
FAIL: test_small_words (test_titles.TitleCaseTest.test_small_words)
----------------------------------------------------------------------
Traceback (most recent call last):
  File "/p/test_titles.py", line 8, in test_small_words
    self.assertEqual(title_case("the lord of the rings"), "The Lord of the Rings")
AssertionError: 'The Lord Of The Rings' != 'The Lord of the Rings'

----------------------------------------------------------------------
Ran 2 tests in 0.001s

FAILED (failures=1)
"""

TAP = """\
TAP version 13
# Subtest: mixed case
not ok 1 - mixed case
  ---
  duration_ms: 0.86
  error: 'not implemented'
  stack: |-
    countVowels (/p/vowels.js:2:9)
    Test.run (node:internal/test_runner/test:796:25)
  ...
# Subtest: none
ok 2 - none
  ---
  duration_ms: 0.11
  ...
1..2
# tests 2
# pass 1
# fail 1
"""


def test_pytest_first_failure_whole_without_the_runners_noise() -> None:
    trimmed = trim_failures(PYTEST_Q)
    assert trimmed.text.startswith("    def test_even():\n")  # its name once: the line names it
    assert ".FF" not in trimmed.text and "=====" not in trimmed.text and "____" not in trimmed.text
    assert ">       assert median([4, 1, 3, 2]) == 2.5\nE       assert 3 == 2.5" in trimmed.text
    assert "test_stats.py:9" not in trimmed.text  # the test's own location: the model has not seen that file
    assert trimmed.text.endswith("Also failing:\ntest_unsorted_even: assert 10 == 5")
    assert "short test summary" not in trimmed.text and "in 0.04s" not in trimmed.text  # the counts lead the message
    assert (trimmed.failures_found, trimmed.failures_shown, trimmed.cut) == (2, 2, False)


# Recorded with pytest 8 on Python 3.11 (long tracebacks, carets, frame separators), in /tmp/w.
PYTEST_TWO_FRAMES = """\
.F                                                                       [100%]
=================================== FAILURES ===================================
__________________________________ test_empty __________________________________

    def test_empty():
>       assert average([]) == 0.0
               ^^^^^^^^^^^

test_averages.py:9:
_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _

values = []

    def average(values):
        \"\"\"The mean of the values.\"\"\"
>       return sum(values) / len(values)
               ^^^^^^^^^^^^^^^^^^^^^^^^^
E       ZeroDivisionError: division by zero

/tmp/w/averages.py:3: ZeroDivisionError
=========================== short test summary info ============================
FAILED test_averages.py::test_empty - ZeroDivisionError: division by zero
1 failed, 1 passed in 0.06s
"""


def test_a_small_budget_keeps_the_first_failure_and_counts_the_rest() -> None:
    many = PYTEST_Q.replace(
        "=========================== short test summary info",
        "".join(
            f"_____ test_more_{i} _____\n\n    assert {i} == {i + 1}\nE   assert {i} == {i + 1}\n\n" for i in range(200)
        )
        + "=========================== short test summary info",
    )
    trimmed = trim_failures(many, max_chars=1200)
    assert len(trimmed.text) <= 1200
    assert trimmed.text.count("\ntest_more_") == 0  # a line for one other failure, test_unsorted_even
    assert trimmed.text.endswith("Also failing:\ntest_unsorted_even: assert 10 == 5\n… (200 more failures)")
    assert trimmed.cut


def test_pytest_carets_frame_separators_go_and_paths_are_relative() -> None:
    text = trim_failures(PYTEST_TWO_FRAMES, folder="/tmp/w").text
    assert "^^^" not in text and "_ _ _" not in text
    assert "averages.py:3: ZeroDivisionError" in text and "/tmp/w" not in text  # where the error is, relative
    assert "test_averages.py:9" not in text  # a frame's location whose error is further down
    assert text.index(">       assert average([]) == 0.0") < text.index(">       return sum(values) / len(values)")
    assert len(text) < 300


def test_many_failures_with_one_error_share_a_line() -> None:
    many = PYTEST_Q.replace(
        "=========================== short test summary info",
        "".join(f"_____ test_more_{i} _____\n\n    assert {i} == {i + 1}\nE   AssertionError\n\n" for i in range(200))
        + "=========================== short test summary info",
    )
    trimmed = trim_failures(many, max_chars=1200)
    assert len(trimmed.text) <= 600
    assert trimmed.text.startswith("    def test_even():\n")
    assert trimmed.text.endswith("test_unsorted_even: assert 10 == 5\n… (200 more failures)")
    one_error = many.replace("E       assert 3 == 2.5", "E   AssertionError").replace(
        "E       assert 10 == 5", "E   AssertionError"
    )
    shared = trim_failures(one_error, max_chars=1200)
    assert shared.text.endswith(
        "Also failing:\ntest_unsorted_even, test_more_0, test_more_1, test_more_2, test_more_3, test_more_4 and 195 more:"
        " the same error"
    )  # one line for the failures with the same error, which is the first failure's
    assert (shared.failures_shown, shared.cut) == (202, False)


# Recorded from `node --test` (v20) in /tmp/w: TAP with YAML, node's own frames.
TAP_WITH_FRAMES = """\
TAP version 13
# Subtest: mixed case
not ok 1 - mixed case
  ---
  duration_ms: 0.833264
  location: '/tmp/w/vowels.test.js:5:1'
  failureType: 'testCodeFailure'
  error: |-
    Expected values to be strictly equal:

    2 !== 3

  code: 'ERR_ASSERTION'
  expected: 3
  actual: 2
  operator: 'strictEqual'
  stack: |-
    TestContext.<anonymous> (/tmp/w/vowels.test.js:6:10)
    Test.runInAsyncScope (node:async_hooks:206:9)
    Test.run (node:internal/test_runner/test:796:25)
  ...
1..1
# tests 1
# pass 0
# fail 1
"""


def test_unittest_and_tap_blocks() -> None:
    unit = trim_failures(UNITTEST, folder="/p")
    assert unit.text.startswith('  File "test_titles.py", line 8, in test_small_words\n')
    assert "Traceback" not in unit.text and "Ran 2 tests" not in unit.text
    tap = trim_failures(TAP)
    assert tap.text.startswith("mixed case\n")
    assert "node:internal" not in tap.text and "duration_ms" not in tap.text and "# fail 1" not in tap.text


def test_tap_frames_in_the_folder_quote_their_line(tmp_path: Path) -> None:
    (tmp_path / "vowels.test.js").write_text(
        'import { countVowels } from "./vowels.js";\n\n\n\ntest("mixed case", () => {\n'
        '  assert.strictEqual(countVowels("Hello World"), 3);\n});\n'
    )
    text = trim_failures(TAP_WITH_FRAMES.replace("/tmp/w", str(tmp_path)), folder=str(tmp_path)).text
    assert "  at vowels.test.js:6:10\n" in text and "TestContext" not in text
    assert '> assert.strictEqual(countVowels("Hello World"), 3);' in text
    assert "error: Expected values to be strictly equal:\n  expected: 3\n  actual: 2" in text
    assert "2 !== 3" not in text  # the error's text says again what "expected" and "actual" say
    assert "failureType" not in text and "ERR_ASSERTION" not in text and str(tmp_path) not in text


def test_unknown_output_keeps_its_head_and_tail() -> None:
    output = "start\n" + "x" * 10_000 + "\nthe end\n"
    trimmed = trim_failures(output, max_chars=500)
    assert trimmed.text.startswith("start") and trimmed.text.endswith("the end")
    assert "characters left out" in trimmed.text and len(trimmed.text) < 600


def test_budget_shrinks_when_the_context_is_nearly_full() -> None:
    assert budget_chars(None, 0, 1024) == 4000
    assert budget_chars(4096, 1000, 1024) == 4000
    assert budget_chars(4096, 2800, 1024) == (4096 - 2800 - 1024) * 3
    assert budget_chars(4096, 3500, 1024) == 400  # the floor: the first failure still goes


def test_feedback_names_the_command_and_resends_only_changed_files(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 2\n")
    (tmp_path / "b.py").write_text("y = 1\n")
    scope = EditScope.read(tmp_path, ["a.py", "b.py"])
    resent = changed_beyond_edit(scope, {"a.py": "x = 1\n", "b.py": "y = 1\n"})
    assert [f.path for f in resent] == ["a.py"]
    message = feedback_message("2 failed", trim_failures(PYTEST_Q), resent, scope)
    assert message.startswith("2 failed:\n```\n    def test_even():")
    assert "a.py is not as your edit left it" in message and "x = 2" in message
    assert "y = 1" not in message
    assert message.endswith("Fix the code; answer with a.py and b.py whole again.")


def test_the_feedback_turn_is_small(tmp_path: Path) -> None:
    """The new turn of round 2 is what the engine evaluates: a compact failure keeps it a
    small part of the prompt (issue 21: at most 20%)."""
    (tmp_path / "averages.py").write_text("def average(values):\n    return sum(values) / len(values)\n")
    scope = EditScope.read(tmp_path, ["averages.py"])
    message = feedback_message("exit code 1, 1 failed, 1 passed", trim_failures(PYTEST_TWO_FRAMES), (), scope)
    assert len(message) < 500


def run_of(output: str, passed: bool = False) -> TestRun:
    return TestRun("pytest -q", passed, 0 if passed else 1, parse_test_counts(output), output, "", 0.1)


def test_status_reads_round_and_the_change_in_counts() -> None:
    progress = LoopProgress(feedback_rounds=2)
    progress.begin_round()
    assert progress.after_tests(run_of("3 failed in 0.1s\n")) is None
    assert progress.status() == "Round 1 of 3 · tests: 3 failed"
    progress.begin_round()
    assert progress.after_tests(run_of("1 failed, 2 passed in 0.1s\n")) is None
    assert progress.status() == "Round 2 of 3 · tests: 3 failed → 1 failed"
    assert progress.status("asking the model") == "Round 2 of 3 · asking the model"
    progress.begin_round()
    assert progress.after_tests(run_of("1 failed, 2 passed in 0.1s\n")) == "rounds"
    assert progress.after_tests(run_of("3 passed in 0.1s\n", passed=True)) == "passed"


def test_a_command_that_never_ran_stops_the_loop() -> None:
    progress = LoopProgress(2)
    progress.begin_round()
    missing = TestRun("nosuch", False, None, None, "", "The command 'nosuch' was not found", 0.0, ran=False)
    assert progress.after_tests(missing) == "not_run"
    assert missing.result_line() == "The command 'nosuch' was not found"


def test_the_map_picks_source_files_and_sends_their_tests_as_context(tmp_path: Path) -> None:
    (tmp_path / "stats.py").write_text("def median(values):\n    return 0\n")
    (tmp_path / "words.py").write_text("def count_words(text):\n    return 0\n")
    (tmp_path / "test_stats.py").write_text("from stats import median\n\ndef test_median():\n    assert median([1])\n")
    picked = pick_files(tmp_path, "median is wrong for an even number of values")
    assert picked.editable == ("stats.py",)
    assert picked.context == ("test_stats.py",)
    unrelated = pick_files(tmp_path, "make the failing test pass")
    assert unrelated.editable == ("stats.py", "words.py")
    assert "only these source files" in unrelated.reason


# Recorded: pytest 8 collecting a test module whose import fails (the model wrote a fence into the file).
PYTEST_COLLECTION_ERROR = """\
==================================== ERRORS ====================================
_______________________ ERROR collecting test_shapes.py ________________________
/work/.venv/lib/python3.11/site-packages/_pytest/python.py:528: in importtestmodule
    mod = import_path(
/work/.venv/lib/python3.11/site-packages/_pytest/pathlib.py:640: in import_path
    importlib.import_module(module_name)
<frozen importlib._bootstrap>:1204: in _gcd_import
    ???
test_shapes.py:1: in <module>
    from shapes import perimeter
E     File "shapes.py", line 1
E       ```python
E       ^
E   SyntaxError: invalid syntax
=========================== short test summary info ============================
ERROR test_shapes.py
!!!!!!!!!!!!!!!!!!!! Interrupted: 1 error during collection !!!!!!!!!!!!!!!!!!!!
1 error in 0.09s
"""


def test_pytests_own_frames_and_diff_markers_are_left_out() -> None:
    text = trim_failures(PYTEST_COLLECTION_ERROR).text
    assert text.startswith("ERROR collecting test_shapes.py\ntest_shapes.py:1: in <module>\n")
    assert "_pytest" not in text and "frozen" not in text and "???" not in text
    assert text.endswith("E   SyntaxError: invalid syntax")
    diff = PYTEST_Q.replace(
        "E       assert 3 == 2.5\n",
        "E       assert 3 == 2.5\nE\nE         - 2.5\nE         ?  ^\nE         Use -v to get more diff\n",
    )
    shown = trim_failures(diff).text
    assert "- 2.5" not in shown  # "assert 3 == 2.5" shows both values whole
    assert "?  ^" not in shown and "Use -v" not in shown and "\nE\n" not in shown


def test_the_other_failures_lines_read_multiline_tap_errors_and_unittest_diffs() -> None:
    tap = TAP_WITH_FRAMES.replace(
        "1..1", "# Subtest: empty\nnot ok 2 - empty\n  ---\n  error: |-\n    Expected 0\n  ...\n1..2"
    )
    assert trim_failures(tap).text.endswith("Also failing:\nempty: Expected 0")
    diff = UNITTEST.replace(
        "AssertionError: 'The Lord Of The Rings' != 'The Lord of the Rings'\n",
        "AssertionError: 'The Lord Of The Rings' != 'The Lord of the Rings'\n- The Lord Of The Rings\n?          ^\n"
        "+ The Lord of the Rings\n?          ^\n",
    )
    text = trim_failures(diff).text
    assert text.endswith("\n'The Lord Of The Rings' != 'The Lord of the Rings'")  # and not its diff again
    long = diff.replace(
        "'The Lord Of The Rings' != 'The Lord of the Rings'", "'The Lord [12 chars]ings' != 'The [15 chars]ings'"
    )
    assert "- The Lord Of The Rings\n+ The Lord of the Rings" in trim_failures(long).text and "?" not in text


# Recorded (pytest 8, the benchmark's tasks, in /tmp/w): a comparison pytest shortened, with
# its explanation; a "where" line that repeats the call on the assertion's line.
PYTEST_SHORTENED = """\
F.                                                                       [100%]
=================================== FAILURES ===================================
______________________________ test_first_fifteen ______________________________

    def test_first_fifteen():
>       assert fizzbuzz(15) == [
            "1", "2", "Fizz", "4", "Buzz", "Fizz", "7", "8", "Fizz", "Buzz", "11", "Fizz", "13", "14", "FizzBuzz",
        ]
E       AssertionError: assert ['1', '2', 'F..., 'Fizz', ...] == ['1', '2', 'F..., 'Fizz', ...]
E
E         At index 14 diff: 'Fizz' != 'FizzBuzz'
E         Use -v to get more diff

test_fizzbuzz.py:5: AssertionError
=========================== short test summary info ============================
FAILED test_fizzbuzz.py::test_first_fifteen - AssertionError: assert ['1', '2...
1 failed, 1 passed in 0.02s
"""
PYTEST_WHERE = """\
FF.                                                                      [100%]
=================================== FAILURES ===================================
_______________________________ test_unit_square _______________________________

    def test_unit_square():
>       assert perimeter([(0, 0), (1, 0), (1, 1), (0, 1)]) == 4
E       assert 3.0 == 4
E        +  where 3.0 = perimeter([(0, 0), (1, 0), (1, 1), (0, 1)])

test_shapes.py:5: AssertionError
________________________________ test_triangle _________________________________

    def test_triangle():
>       assert perimeter([(0, 0), (3, 0), (3, 4)]) == 12
E       assert 7.0 == 12
E        +  where 7.0 = perimeter([(0, 0), (3, 0), (3, 4)])

test_shapes.py:9: AssertionError
=========================== short test summary info ============================
FAILED test_shapes.py::test_unit_square - assert 3.0 == 4
FAILED test_shapes.py::test_triangle - assert 7.0 == 12
2 failed, 1 passed in 0.04s
"""


def test_values_are_said_once() -> None:
    shortened = trim_failures(PYTEST_SHORTENED).text
    assert "F..." not in shortened and shortened.endswith("\nE         At index 14 diff: 'Fizz' != 'FizzBuzz'")
    unexplained = trim_failures(PYTEST_SHORTENED.replace("E         At index 14 diff: 'Fizz' != 'FizzBuzz'\n", "")).text
    assert unexplained.endswith("E       assert ['1', '2', 'F..., 'Fizz', ...] == ['1', '2', 'F..., 'Fizz', ...]")
    where = trim_failures(PYTEST_WHERE).text
    assert where == (
        "    def test_unit_square():\n"
        ">       assert perimeter([(0, 0), (1, 0), (1, 1), (0, 1)]) == 4\n"
        "E       assert 3.0 == 4\n\n"
        "Also failing:\ntest_triangle: assert 7.0 == 12"
    )
    # A "where" line that says more than the assertion's line stays.
    kept = PYTEST_WHERE.replace("== 4\nE       assert 3.0 == 4", "== 4\nE       assert 3.0 == area(2)")
    kept = kept.replace("+  where 3.0 = perimeter([(0, 0), (1, 0), (1, 1), (0, 1)])", "+  where 3.0 = total(sides)")
    assert "+  where 3.0 = total(sides)" in trim_failures(kept).text


def test_an_argument_the_test_wrote_is_not_repeated() -> None:
    text = trim_failures(
        PYTEST_TWO_FRAMES.replace("average([])", "average(values)").replace(
            "    def test_empty():\n", "    def test_empty():\n        values = []\n"
        ),
        folder="/tmp/w",
    ).text
    assert "values = []" in text and text.count("values = []") == 1  # in the test's code, not again as the argument
    assert ">       return sum(values) / len(values)" in text and "averages.py:3: ZeroDivisionError" in text


# Recorded: `node --test` (v20) when the module under test does not load: the TAP block of
# the test file says only "test failed"; node printed the error before it, as comments.
TAP_FILE_DID_NOT_LOAD = """\
TAP version 13
# /tmp/w/clock.js:6
#   const seconds = seconds % 60;
#         ^
# SyntaxError: Identifier 'seconds' has already been declared
#     at wrapSafe (node:internal/modules/cjs/loader:1464:18)
#     at Module._compile (node:internal/modules/cjs/loader:1495:20)
#     at Object.<anonymous> (/tmp/w/clock.test.js:3:25)
#     at Module._compile (node:internal/modules/cjs/loader:1521:14)
# Node.js v20.20.2
# Subtest: /tmp/w/clock.test.js
not ok 1 - /tmp/w/clock.test.js
  ---
  duration_ms: 56.813089
  location: '/tmp/w/clock.test.js:1:1'
  failureType: 'testCodeFailure'
  exitCode: 1
  signal: ~
  error: 'test failed'
  code: 'ERR_TEST_FAILURE'
  ...
1..1
# tests 1
# suites 0
# pass 0
# fail 1
"""


def test_a_test_file_that_did_not_load_shows_why() -> None:
    assert trim_failures(TAP_FILE_DID_NOT_LOAD, folder="/tmp/w").text == (
        "clock.test.js\n"
        "  clock.js:6\n"
        "    const seconds = seconds % 60;\n"
        "  SyntaxError: Identifier 'seconds' has already been declared\n"
        "      at clock.test.js:3:25\n"
        "  error: 'test failed'"
    )


def test_the_model_reads_the_counts_and_the_cli_the_exit_code_too() -> None:
    run = run_of(PYTEST_Q)
    assert run.result_line() == "exit code 1, 2 failed, 1 passed"
    assert run.result_line(exit_code=False) == "2 failed"
    uncounted = TestRun("make test", False, 2, None, "make: *** [test] Error 2\n", "Exit code 2", 0.1)
    assert uncounted.result_line(exit_code=False) == "exit code 2"
