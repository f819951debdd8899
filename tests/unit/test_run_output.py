"""What a run's output says: file locations for each language (recorded output, and real
tool chains where they are installed), test counts, ANSI colours."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from app.run.ansi import PLAIN, AnsiParser, TextStyle, apply_sgr, strip_ansi
from app.run.locations import find_locations
from app.run.process import RunSpec, run_process
from app.run.summary import TestCounts, describe_change, parse_test_counts


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name in (
        "src/main.rs",
        "main.c",
        "cmd/x.go",
        "x_test.go",
        "app.js",
        "lib/x.ts",
        "Main.java",
        "tests/test_a.py",
    ):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("\n" * 30)
    (tmp_path / "tests/test_a.py").write_text(
        "import os\n\n\nclass TestA:\n    def test_one(self):\n        assert 1 == 2\n"
    )
    return tmp_path


RECORDED = {
    "python": ('  File "{root}/tests/test_a.py", line 6, in test_one\n    assert 1 == 2\n', "tests/test_a.py", 6, None),
    "pytest": ("\ntests/test_a.py:6: AssertionError\n", "tests/test_a.py", 6, None),
    "pytest-id": ("FAILED tests/test_a.py::TestA::test_one - assert 1 == 2\n", "tests/test_a.py", 5, None),
    "gcc": ("main.c: In function 'main':\nmain.c:3:5: error: expected ';' before '}' token\n", "main.c", 3, 5),
    "rustc": ("error[E0308]: mismatched types\n --> src/main.rs:2:18\n  |\n", "src/main.rs", 2, 18),
    "cargo-panic": ("thread 'tests::it' panicked at src/main.rs:9:5:\nassertion failed\n", "src/main.rs", 9, 5),
    "go-build": ("# example\n./cmd/x.go:7:2: undefined: y\n", "cmd/x.go", 7, 2),
    "go-test": ("--- FAIL: TestAdd (0.00s)\n    x_test.go:12: got 1, want 2\nFAIL\n", "x_test.go", 12, None),
    "node": (
        "Error: boom\n    at main ({root}/app.js:3:9)\n    at Object.<anonymous> ({root}/app.js:5:1)\n",
        "app.js",
        3,
        9,
    ),
    "node-esm": ("    at file://{root}/app.js:4:7\n", "app.js", 4, 7),
    "tsc": ("lib/x.ts(3,7): error TS2322: Type 'string' is not assignable to type 'number'.\n", "lib/x.ts", 3, 7),
    "tsc-pretty": ("lib/x.ts:3:7 - error TS2322: Type 'string' is not assignable\n", "lib/x.ts", 3, 7),
    "javac": ("Main.java:4: error: ';' expected\n        int x = 1\n", "Main.java", 4, None),
}


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_locations_in_recorded_output(project, name):
    template, path, line, column = RECORDED[name]
    text = template.replace("{root}", str(project))
    locations = find_locations(text, str(project))
    assert locations, text
    first = locations[0]
    assert Path(first.resolved) == project / path
    assert (first.line, first.column) == (line, column)
    assert first.path in text[first.start : first.end]


def test_only_existing_files_become_links(project):
    text = "version 1.2.3, see missing.py:3 and main.c:2:1: error\nhttp://example.com/page.html:80"
    locations = find_locations(text, str(project))
    assert [(Path(loc.resolved).name, loc.line) for loc in locations] == [("main.c", 2)]
    assert text[locations[0].start : locations[0].end] == "main.c:2:1"


def _run(command, cwd):
    return run_process(RunSpec(command, str(cwd), timeout=120))


def _assert_points_at(result, folder: Path, name: str, line: int):
    locations = find_locations(strip_ansi(result.output), str(folder))
    assert any(Path(loc.resolved) == folder / name and loc.line == line for loc in locations), result.output


@pytest.mark.slow
def test_a_real_python_traceback(tmp_path):
    (tmp_path / "prog.py").write_text("def f():\n    return 1 / 0\n\nf()\n")
    result = _run([sys.executable, "prog.py"], tmp_path)
    _assert_points_at(result, tmp_path, "prog.py", 2)


@pytest.mark.slow
def test_a_real_pytest_failure_with_counts(tmp_path):
    (tmp_path / "test_m.py").write_text("def test_ok():\n    pass\n\n\ndef test_bad():\n    assert 1 == 2\n")
    result = _run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--color=yes"], tmp_path)
    _assert_points_at(result, tmp_path, "test_m.py", 6)
    assert parse_test_counts(result.output) == TestCounts(1, 1, 0, "pytest")


@pytest.mark.slow
def test_real_unittest_counts(tmp_path):
    (tmp_path / "test_u.py").write_text(
        "import unittest\n\nclass T(unittest.TestCase):\n    def test_a(self):\n        self.assertEqual(1, 2)\n"
        "    def test_b(self):\n        pass\n    @unittest.skip('no')\n    def test_c(self):\n        pass\n"
    )
    result = _run([sys.executable, "-m", "unittest"], tmp_path)
    assert parse_test_counts(result.output) == TestCounts(1, 1, 1, "unittest")
    _assert_points_at(result, tmp_path, "test_u.py", 5)


@pytest.mark.slow
@pytest.mark.skipif(not shutil.which("gcc"), reason="gcc is not installed")
def test_a_real_gcc_error(tmp_path):
    (tmp_path / "main.c").write_text("int main(void) {\n    int x = 1\n    return x;\n}\n")
    result = _run(["gcc", "-c", "main.c", "-o", "main.o"], tmp_path)
    assert not result.passed
    _assert_points_at(result, tmp_path, "main.c", 3)  # gcc reports the missing ";" where "return" starts


@pytest.mark.slow
@pytest.mark.skipif(not shutil.which("rustc"), reason="rustc is not installed")
def test_a_real_rustc_error(tmp_path):
    (tmp_path / "main.rs").write_text('fn main() {\n    let x: i32 = "no";\n}\n')
    result = _run(["rustc", "--color=always", "main.rs"], tmp_path)
    _assert_points_at(result, tmp_path, "main.rs", 2)


@pytest.mark.slow
@pytest.mark.skipif(not shutil.which("node"), reason="node is not installed")
def test_a_real_node_stack_and_test_counts(tmp_path):
    (tmp_path / "app.js").write_text("function f() {\n  throw new Error('boom');\n}\nf();\n")
    _assert_points_at(_run(["node", "app.js"], tmp_path), tmp_path, "app.js", 2)
    (tmp_path / "t.test.js").write_text(
        "const test = require('node:test');\nconst assert = require('node:assert');\n"
        "test('ok', () => {});\ntest('bad', () => { assert.strictEqual(1, 2); });\n"
    )
    result = _run(["node", "--test", "--test-reporter=tap", "t.test.js"], tmp_path)
    assert parse_test_counts(result.output) == TestCounts(1, 1, 0, "node")
    _assert_points_at(result, tmp_path, "t.test.js", 4)


@pytest.mark.slow
@pytest.mark.skipif(not shutil.which("javac"), reason="javac is not installed")
def test_a_real_javac_error(tmp_path):
    (tmp_path / "Main.java").write_text(
        "class Main {\n  public static void main(String[] a) {\n    int x = 1\n  }\n}\n"
    )
    result = _run(["javac", "Main.java"], tmp_path)
    _assert_points_at(result, tmp_path, "Main.java", 3)


SUMMARIES = {
    "pytest": ("=== 3 failed, 10 passed, 2 skipped, 1 error in 1.23s ===", TestCounts(10, 4, 2, "pytest")),
    "pytest-pass": (
        "============================== 5 passed in 0.02s ===============================",
        TestCounts(5, 0, 0, "pytest"),
    ),
    "cargo": (
        "test result: FAILED. 2 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out\n"
        "test result: ok. 1 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out",
        TestCounts(3, 1, 1, "cargo"),
    ),
    "go-verbose": (
        "=== RUN   TestA\n--- PASS: TestA (0.00s)\n=== RUN   TestB\n--- FAIL: TestB (0.00s)\n",
        TestCounts(1, 1, 0, "go"),
    ),
    "go-quiet": ("--- FAIL\nFAIL\texample.com/m\t0.003s\nok  \texample.com/n\t0.002s\n", TestCounts(None, 1, 0, "go")),
    "jest": ("Tests:       1 failed, 4 passed, 5 total\nTime: 1s", TestCounts(4, 1, 0, "jest")),
    "mocha": ("  4 passing (12ms)\n  2 failing\n", TestCounts(4, 2, 0, "mocha")),
    "unittest": ("Ran 4 tests in 0.001s\n\nFAILED (failures=1, errors=1)\n", TestCounts(2, 2, 0, "unittest")),
}


@pytest.mark.parametrize("name", sorted(SUMMARIES))
def test_test_counts_from_recorded_output(name):
    text, expected = SUMMARIES[name]
    assert parse_test_counts("\x1b[31m" + text + "\x1b[0m") == expected


def test_no_counts_in_plain_output_and_the_loop_status():
    assert parse_test_counts("hello\nworld\n") is None
    assert describe_change(TestCounts(7, 3), TestCounts(9, 1)) == "tests: 3 failed → 1 failed"
    assert describe_change(TestCounts(7, 3), TestCounts(10, 0)) == "tests: 3 failed → 10 passed"


def test_ansi_colours_become_styles_across_chunks():
    parser = AnsiParser()
    pieces = parser.feed("ok \x1b[1;3") + parser.feed("1mFAILED\x1b[0m done\x1b]0;title\x07!")
    assert pieces == [
        ("ok ", PLAIN),
        ("FAILED", TextStyle(foreground="#cd0000", bold=True)),
        (" done", PLAIN),
        ("!", PLAIN),
    ]
    assert parser.feed("\x1b[38;2;1;2;3mrgb\x1b[38;5;21mx") == [
        ("rgb", TextStyle(foreground="#010203")),
        ("x", TextStyle(foreground="#0000ff")),
    ]
    assert strip_ansi("\x1b[32m3 passed\x1b[0m\x1b[2K") == "3 passed"


def test_sgr_attributes_set_and_reset_one_at_a_time():
    styled = apply_sgr(PLAIN, "1;3;4;31;42")
    assert styled == TextStyle(foreground="#cd0000", background="#00cd00", bold=True, italic=True, underline=True)
    assert apply_sgr(styled, "22;23") == TextStyle(foreground="#cd0000", background="#00cd00", underline=True)
    assert apply_sgr(styled, "24;39;49") == TextStyle(bold=True, italic=True)
    assert apply_sgr(styled, "") == PLAIN


@pytest.mark.slow
@pytest.mark.skipif(not shutil.which("cargo"), reason="cargo is not installed")
def test_a_real_cargo_test_failure_with_counts(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "Cargo.toml").write_text('[package]\nname = "probe"\nversion = "0.1.0"\nedition = "2021"\n')
    (tmp_path / "src/lib.rs").write_text(
        "pub fn add(a: i32, b: i32) -> i32 { a - b }\n\n#[cfg(test)]\nmod tests {\n    #[test]\n"
        "    fn adds() {\n        assert_eq!(super::add(1, 2), 3);\n    }\n    #[test]\n"
        "    fn zero() {\n        assert_eq!(super::add(0, 0), 0);\n    }\n}\n"
    )
    result = _run(["cargo", "test", "--offline", "--color=always"], tmp_path)
    assert parse_test_counts(result.output) == TestCounts(1, 1, 0, "cargo")
    _assert_points_at(result, tmp_path, "src/lib.rs", 7)
