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
