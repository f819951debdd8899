"""Which `app.engine` modules the GUI process's start loads: none may.

Two real starts, each in a fresh interpreter:
- `python -X importtime -m app --version`: the command line's own start (every command's
  arguments are built; no command's module is imported);
- `python -m app` offscreen with an empty user folder, up to the window's first painted frame
  (and the work the window starts on that frame).

Run as a script (`.ci/run` does): prints what was imported and exits 1 when any engine module is.
tests/unit/test_cli_imports.py asserts the same.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ENGINE_PACKAGES = ("app.engine", "llama_cpp")

# Runs the real entry point (app.cli.main, no command: the window) and, once the first frame is
# painted, prints the loaded modules and leaves.
GUI_START_CHILD = r"""
import json, sys
from tests.helpers.first_paint import leave_at_first_paint
from app.cli import main

watcher = leave_at_first_paint(lambda: print("MODULES " + json.dumps(sorted(sys.modules)), flush=True))
sys.exit(main([]))
"""


def _env(home: str) -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    return dict(os.environ, QT_QPA_PLATFORM="offscreen", DSCODER_HOME=home, PYTHONPATH=path)


def engine_modules(modules: list[str]) -> list[str]:
    return [m for m in modules if any(m == p or m.startswith(p + ".") for p in ENGINE_PACKAGES)]


def version_imports() -> list[str]:
    """The modules `python -X importtime -m app --version` imports, in import order."""
    with tempfile.TemporaryDirectory(prefix="dscoder-imports-") as home:
        run = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "app", "--version"],
            env=_env(home),
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
    if run.returncode != 0 or "dscoder" not in run.stdout:
        raise RuntimeError(f"`python -m app --version` failed ({run.returncode}): {run.stderr[-2000:]}")
    # "import time: self [us] | cumulative | imported package", the name indented by depth
    return [
        line.rsplit("|", 1)[1].strip()
        for line in run.stderr.splitlines()
        if line.startswith("import time:") and "imported package" not in line
    ]


def gui_start_imports() -> list[str]:
    """The modules loaded once `python -m app` (the window) has painted its first frame."""
    with tempfile.TemporaryDirectory(prefix="dscoder-imports-") as home:
        run = subprocess.run(
            [sys.executable, "-c", GUI_START_CHILD],
            env=_env(home),
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
    for line in run.stdout.splitlines():
        if line.startswith("MODULES "):
            return list(json.loads(line.removeprefix("MODULES ")))
    raise RuntimeError(f"the window did not paint ({run.returncode}): {run.stderr[-2000:]}")


def main() -> int:
    failed = False
    for what, modules in (
        ("python -X importtime -m app --version", version_imports()),
        ("the window's start (python -m app, to its first paint)", gui_start_imports()),
    ):
        found = engine_modules(modules)
        if found:
            failed = True
            print(f"{what} imports the engine's code: {', '.join(found)}", file=sys.stderr)
        else:
            print(f"{what}: {len(modules)} modules, none of {', '.join(ENGINE_PACKAGES)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
