"""`dscoder doctor`: what the app finds on this machine, and a fix for each problem.

    dscoder doctor [--json]

Exit status 0 when nothing failed (warnings allowed), 1 otherwise. The checks live in
app/diagnostics/doctor.py; this module also hosts the Qt child they start.
"""

from __future__ import annotations

import argparse
import dataclasses
import json

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
    from app.diagnostics.ui.qt_child import qt_child as run_qt_child

    return run_qt_child()
