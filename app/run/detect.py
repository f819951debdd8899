"""What to run in a folder: its test command (detected, then confirmed by the user and kept
per folder) and the command that runs one file.

Detection reads only the folder's own files (no command is run to find out). The user's
confirmed or edited commands are kept in `run-commands.json` in the app's data folder,
keyed by the folder's real path.
"""

from __future__ import annotations

import configparser
import json
import logging
import os
import shlex
import shutil
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.languages import language_for_path
from app.utils import paths
from app.utils.atomic import atomic_write_text
from app.utils.json_files import read_json_object

log = logging.getLogger(__name__)

STORE_FILE = "run-commands.json"
_NPM_DEFAULT_TEST = "no test specified"  # what `npm init` writes into scripts.test


@dataclass(frozen=True)
class DetectedCommand:
    command: str
    tool: str  # pytest, unittest, npm, cargo, go, maven, gradle, ctest, make
    reason: str  # which file said so, shown with the confirmation


def _python(folder: Path | None) -> str:
    """The folder's own virtual environment's Python (relative: runs start in the folder), else the system's."""
    for venv in (".venv", "venv", "env"):
        if folder is None:
            break
        for candidate in (folder / venv / "bin" / "python", folder / venv / "Scripts" / "python.exe"):
            if candidate.is_file():
                return str(candidate.relative_to(folder))
    if os.name == "nt":
        return "python"
    return "python3" if shutil.which("python3") else "python"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}


def _ini_has(path: Path, section: str) -> bool:
    parser = configparser.ConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError):
        return False
    return parser.has_section(section)


def _has_python_tests(folder: Path) -> bool:
    for pattern in ("test_*.py", "*_test.py", "tests/test_*.py", "tests/*_test.py", "test/test_*.py"):
        if any(folder.glob(pattern)):
            return True
    return False


def _pytest_reason(folder: Path) -> str | None:
    if (folder / "pytest.ini").is_file():
        return "pytest.ini"
    if "pytest" in _read_toml(folder / "pyproject.toml").get("tool", {}):
        return "pyproject.toml's [tool.pytest]"
    if (folder / "tox.ini").is_file() and _ini_has(folder / "tox.ini", "pytest"):
        return "tox.ini's [pytest]"
    if (folder / "setup.cfg").is_file() and _ini_has(folder / "setup.cfg", "tool:pytest"):
        return "setup.cfg's [tool:pytest]"
    if (folder / "conftest.py").is_file() or (folder / "tests" / "conftest.py").is_file():
        return "conftest.py"
    return None


def _npm_test(folder: Path) -> bool:
    try:
        scripts = json.loads((folder / "package.json").read_text(encoding="utf-8")).get("scripts") or {}
    except (OSError, UnicodeDecodeError, ValueError, AttributeError):
        return False
    test = scripts.get("test") if isinstance(scripts, dict) else None
    return isinstance(test, str) and bool(test.strip()) and _NPM_DEFAULT_TEST not in test


def _make_has_test(folder: Path) -> bool:
    for name in ("Makefile", "makefile", "GNUmakefile"):
        try:
            text = (folder / name).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if any(line.startswith(("test:", "check:")) for line in text.splitlines()):
            return True
    return False


def detect_test_command(folder: str | os.PathLike[str]) -> DetectedCommand | None:
    """The folder's test command, from its build files; None when nothing says how to test it."""
    root = Path(folder)
    if not root.is_dir():
        return None
    reason = _pytest_reason(root)
    if reason is not None:
        return DetectedCommand(f"{_python(root)} -m pytest", "pytest", reason)
    if _npm_test(root):
        return DetectedCommand("npm test", "npm", "package.json's scripts.test")
    if (root / "Cargo.toml").is_file():
        return DetectedCommand("cargo test", "cargo", "Cargo.toml")
    if (root / "go.mod").is_file():
        return DetectedCommand("go test ./...", "go", "go.mod")
    if (root / "pom.xml").is_file():
        return DetectedCommand("mvn test", "maven", "pom.xml")
    for gradle in ("build.gradle", "build.gradle.kts"):
        if (root / gradle).is_file():
            command = "./gradlew test" if (root / "gradlew").is_file() else "gradle test"
            return DetectedCommand(command, "gradle", gradle)
    if _has_python_tests(root):
        python = _python(root)
        if shutil.which("pytest") or (root / python).is_file():
            return DetectedCommand(f"{python} -m pytest", "pytest", "test_*.py files")
        return DetectedCommand(f"{python} -m unittest", "unittest", "test_*.py files (pytest is not installed)")
    if (root / "CMakeLists.txt").is_file():
        build = next(
            (d for d in ("build", "cmake-build-debug", "out") if (root / d / "CTestTestfile.cmake").is_file()), None
        )
        if build is not None:
            return DetectedCommand(
                f"ctest --test-dir {build} --output-on-failure", "ctest", f"{build}/CTestTestfile.cmake"
            )
    if _make_has_test(root):
        return DetectedCommand("make test", "make", "the Makefile's test target")
    return None


def default_file_command(path: str | os.PathLike[str], folder: str | os.PathLike[str] | None = None) -> str | None:
    """The command that runs the file at `path` (the language registry's `run_command`), or
    None for a language that does not run. A Rust file in a Cargo project runs with `cargo run`;
    Python uses the project's own virtual environment when it has one."""
    file = Path(path)
    first_line = ""
    try:
        with open(file, encoding="utf-8", errors="replace") as handle:
            first_line = handle.readline()
    except OSError:
        pass
    found = language_for_path(file, first_line)
    if found is None or not found.run_command:
        return None
    if found.id == "rust" and folder is not None and (Path(folder) / "Cargo.toml").is_file():
        return "cargo run"
    command = found.run_command.format(
        file=shlex.quote(str(file)),
        stem=shlex.quote(file.stem),
        dir=shlex.quote(str(file.parent)),
    )
    python = _python(Path(folder)) if folder is not None else ""
    if found.id == "python" and command.startswith("python3 ") and os.sep in python:
        command = shlex.quote(str(Path(folder or "", python))) + command[len("python3") :]
    return command


@dataclass
class FolderCommands:
    """What the user chose for one folder."""

    test_command: str = ""
    test_confirmed: bool = False
    file_commands: dict[str, str] = field(default_factory=dict)  # file's real path -> command


class RunCommandStore:
    """The per-folder choices, in one JSON file in the app's data folder (written atomically)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or paths.data_dir() / STORE_FILE
        self._folders: dict[str, FolderCommands] = {}
        self._load()

    def _load(self) -> None:
        raw = read_json_object(self.path, "run commands file", "the folders' commands are detected again", log) or {}
        folders = raw.get("folders")
        for key, entry in folders.items() if isinstance(folders, dict) else ():
            if isinstance(entry, dict):
                files = entry.get("file_commands") or {}
                self._folders[key] = FolderCommands(
                    test_command=str(entry.get("test_command") or ""),
                    test_confirmed=bool(entry.get("test_confirmed")),
                    file_commands={str(k): str(v) for k, v in files.items()} if isinstance(files, dict) else {},
                )

    @staticmethod
    def key(folder: str | os.PathLike[str]) -> str:
        return os.path.realpath(folder)

    def folder(self, folder: str | os.PathLike[str]) -> FolderCommands:
        return self._folders.get(self.key(folder), FolderCommands())

    def _save(self) -> None:
        data = {
            "folders": {
                key: {
                    "test_command": entry.test_command,
                    "test_confirmed": entry.test_confirmed,
                    "file_commands": entry.file_commands,
                }
                for key, entry in sorted(self._folders.items())
            }
        }
        atomic_write_text(self.path, json.dumps(data, indent=2) + "\n")

    def confirm_test_command(self, folder: str | os.PathLike[str], command: str) -> None:
        """The user confirmed or edited the test command: kept for the folder (raises OSError)."""
        entry = self._folders.setdefault(self.key(folder), FolderCommands())
        entry.test_command = command.strip()
        entry.test_confirmed = True
        self._save()

    def set_file_command(self, folder: str | os.PathLike[str], file: str | os.PathLike[str], command: str) -> None:
        entry = self._folders.setdefault(self.key(folder), FolderCommands())
        if command.strip():
            entry.file_commands[os.path.realpath(file)] = command.strip()
        else:
            entry.file_commands.pop(os.path.realpath(file), None)
        self._save()

    def test_command(self, folder: str | os.PathLike[str]) -> tuple[str, bool]:
        """The folder's test command and whether the user confirmed it (else it is the detected one)."""
        entry = self.folder(folder)
        if entry.test_confirmed and entry.test_command:
            return entry.test_command, True
        detected = detect_test_command(folder)
        return (detected.command if detected else ""), False

    def file_command(self, folder: str | os.PathLike[str] | None, file: str | os.PathLike[str]) -> str | None:
        if folder is not None:
            chosen = self.folder(folder).file_commands.get(os.path.realpath(file))
            if chosen:
                return chosen
        return default_file_command(file, folder)
