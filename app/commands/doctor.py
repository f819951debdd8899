"""`dscoder doctor`: what the app finds on this machine, and a fix for each problem.

    dscoder doctor [--json]

Exit status 0 when nothing failed (warnings allowed), 1 otherwise. The checks live in
app/diagnostics/doctor.py; this module also hosts the Qt child they start.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from app.diagnostics.display import gui_start_problem
from app.diagnostics.doctor import FAIL, format_findings, run_checks


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "doctor",
        help="check this installation and machine, with a fix for each problem",
        description="Show what the app finds (Python, Qt, the window's platform plugin, llama.cpp and its "
        "backends, GPUs, the models folder, settings, logs) and how to fix each problem.",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON list of findings")
    # `dscoder doctor --qt-child` is the child process that tries Qt (see app/diagnostics/doctor.py).
    parser.add_argument("--qt-child", action="store_true", help=argparse.SUPPRESS)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.qt_child:
        return qt_child()
    findings = run_checks()
    if args.json:
        print(json.dumps([dataclasses.asdict(f) for f in findings], indent=1))
    else:
        format_findings(findings, print)
    return 1 if any(f.status == FAIL for f in findings) else 0


def qt_child() -> int:
    """Start Qt with the environment's platform, load the editor component, print one JSON line."""
    problem = gui_start_problem()
    if problem is not None:  # Qt would abort: say why instead
        print(f"{problem.what}. {problem.todo}.", file=sys.stderr)
        return 1
    from PySide6 import __version__ as pyside_version
    from PySide6.QtCore import qVersion
    from PySide6.QtWidgets import QApplication
    from pyside6_scintilla import ScintillaEdit

    app = QApplication([sys.argv[0]])
    editor = ScintillaEdit()
    editor.setText("print('ok')")
    if editor.length() != len("print('ok')"):
        print("the Scintilla editor does not hold text", file=sys.stderr)
        return 1
    print(json.dumps({"pyside": pyside_version, "qt": qVersion(), "platform": app.platformName()}))
    return 0
