"""`dscoder` (the window) and `dscoder --version` never load the engine's code; the commands that
run an engine in their own process import it only inside the function that runs them."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from app.cli import COMMANDS, build_parser
from tests.architecture.engine_imports import engine_modules, gui_start_imports, version_imports

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow  # each starts a fresh interpreter
def test_version_imports_no_engine_module_and_no_command_module() -> None:
    modules = version_imports()
    assert "app.cli" in modules  # the parse really happened
    assert engine_modules(modules) == []
    assert [m for m in modules if m.startswith("app.commands.") and m != "app.commands.arguments"] == []


@pytest.mark.slow
def test_the_window_start_imports_no_engine_module() -> None:
    modules = gui_start_imports()
    assert "app.mainwindow.window" in modules  # the window really was built
    assert engine_modules(modules) == []


def test_every_command_parses_and_names_a_module_with_its_handler() -> None:
    parser = build_parser()
    for command in COMMANDS:
        args = parser.parse_args([command.name, *REQUIRED_ARGUMENTS.get(command.name, [])])
        module = importlib.import_module(args.command_module)
        assert callable(getattr(module, args.handler)), command.name
    models_list = parser.parse_args(["models", "list"])
    assert models_list.handler == "run_list"


REQUIRED_ARGUMENTS = {
    "ask": ["hello"],
    "complete": ["--prefix-file", "p", "--suffix-file", "s"],
    "apply": ["file.py", "block.py"],
    "serve": ["--model", "m.gguf"],
    "estimate": ["--model", "m.gguf"],
}


def _engine_imports(path: Path) -> list[tuple[str, bool]]:
    """(imported module, whether the import sits inside a function) for each app.engine import."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    lazy: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            lazy |= {id(inner) for inner in ast.walk(node)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("app.engine"):
            found.append((node.module or "", id(node) in lazy))
        elif isinstance(node, ast.Import):
            found += [(alias.name, id(node) in lazy) for alias in node.names if alias.name.startswith("app.engine")]
    return found


def test_only_serve_and_probe_import_the_engine_and_only_inside_their_run() -> None:
    importers = {}
    for path in sorted((REPO / "app" / "commands").glob("*.py")) + [REPO / "app" / "cli.py"]:
        imports = _engine_imports(path)
        if imports:
            importers[path.name] = imports
    assert importers == {
        "probe.py": [("app.engine.gpu_child", True), ("app.engine.machine_speed_child", True)],
        "serve.py": [("app.engine.main", True)],
    }
