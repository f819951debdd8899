"""`dscoder gui [FILE...]` (also `dscoder` alone): open the window."""

from __future__ import annotations

import argparse

from app.diagnostics.ui.display import gui_start_problem
from app.utils.errors import DscoderError


def run(args: argparse.Namespace) -> int:
    # Qt aborts with a core dump when its platform plugin cannot start; say why first, in one line.
    problem = gui_start_problem()
    if problem is not None:
        raise DscoderError(f"The window cannot open: {problem.what}", problem.todo)
    from app.mainwindow.app import run_gui

    return run_gui(args.files)
