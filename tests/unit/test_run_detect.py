"""The folder's test command, found from its build files, and the per-folder choices kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.run.detect import RunCommandStore, default_file_command, detect_test_command


def _write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


CASES = {
    "pytest.ini": ({"pytest.ini": "[pytest]\n"}, "pytest", "-m pytest"),
    "pyproject": ({"pyproject.toml": "[tool.pytest.ini_options]\naddopts = '-q'\n"}, "pytest", "-m pytest"),
    "conftest": ({"conftest.py": ""}, "pytest", "-m pytest"),
    "setup.cfg": ({"setup.cfg": "[tool:pytest]\n"}, "pytest", "-m pytest"),
    "npm": ({"package.json": json.dumps({"scripts": {"test": "node --test"}})}, "npm", "npm test"),
    "cargo": ({"Cargo.toml": "[package]\nname='x'\n"}, "cargo", "cargo test"),
    "go": ({"go.mod": "module x\n"}, "go", "go test ./..."),
    "maven": ({"pom.xml": "<project/>"}, "maven", "mvn test"),
    "gradle": ({"build.gradle.kts": "", "gradlew": ""}, "gradle", "./gradlew test"),
    "ctest": ({"CMakeLists.txt": "", "build/CTestTestfile.cmake": ""}, "ctest", "ctest --test-dir build"),
    "make": ({"Makefile": "all:\n\techo\n\ntest: all\n\t./run-tests\n"}, "make", "make test"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_tool_is_detected(tmp_path, name):
    files, tool, command = CASES[name]
    detected = detect_test_command(_write(tmp_path, files))
    assert detected is not None
    assert detected.tool == tool
    assert command in detected.command
    assert detected.reason


def test_plain_test_files_use_pytest_or_unittest(tmp_path, monkeypatch):
    _write(tmp_path, {"tests/test_x.py": "def test_a(): pass\n"})
    monkeypatch.setenv("PATH", "/nonexistent")  # no pytest on PATH
    assert detect_test_command(tmp_path).tool == "unittest"
    _write(tmp_path, {".venv/bin/python": ""})
    detected = detect_test_command(tmp_path)
    assert detected.tool == "pytest" and detected.command == ".venv/bin/python -m pytest"


def test_npms_placeholder_test_script_is_not_a_test_command(tmp_path):
    _write(tmp_path, {"package.json": json.dumps({"scripts": {"test": 'echo "Error: no test specified" && exit 1'}})})
    assert detect_test_command(tmp_path) is None


def test_nothing_to_detect(tmp_path):
    assert detect_test_command(_write(tmp_path, {"README.md": "hi"})) is None
    assert detect_test_command(tmp_path / "missing") is None


def test_the_confirmed_command_is_kept_per_folder(tmp_path):
    first = _write(tmp_path / "one", {"Cargo.toml": ""})
    second = _write(tmp_path / "two", {"go.mod": ""})
    store = RunCommandStore(tmp_path / "store.json")
    assert store.test_command(first) == ("cargo test", False)
    store.confirm_test_command(first, "cargo test --all ")
    store.set_file_command(second, second / "main.go", "go run . --flag")
    again = RunCommandStore(tmp_path / "store.json")  # a new session reads the file
    assert again.test_command(first) == ("cargo test --all", True)
    assert again.test_command(second) == ("go test ./...", False)
    assert again.file_command(second, second / "main.go") == "go run . --flag"


def test_an_unreadable_store_is_ignored(tmp_path):
    (tmp_path / "store.json").write_text("{not json")
    assert RunCommandStore(tmp_path / "store.json").test_command(tmp_path) == ("", False)


def test_the_command_that_runs_a_file(tmp_path):
    script = _write(tmp_path, {"a b.py": "print(1)\n"}) / "a b.py"
    assert default_file_command(script, tmp_path).endswith(f"'{script}'")
    assert default_file_command(tmp_path / "x.js") == f"node {tmp_path / 'x.js'}"
    venv = _write(tmp_path / "v", {".venv/bin/python": "", "m.py": ""})
    assert default_file_command(venv / "m.py", venv) == f"{venv / '.venv/bin/python'} {venv / 'm.py'}"
    assert default_file_command(tmp_path / "notes.txt") is None
    rust = _write(tmp_path, {"Cargo.toml": "", "src/main.rs": ""})
    assert default_file_command(rust / "src/main.rs", rust) == "cargo run"
