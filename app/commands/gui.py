"""`dscoder gui [FILE...]` (also `dscoder` alone): open the window."""

from __future__ import annotations

import argparse

from app.diagnostics.ui.display import gui_start_problem
from app.utils.errors import DscoderError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("gui", help="open the window (the default)", description="Open the window.")
    parser.add_argument("files", nargs="*", metavar="FILE", help="files to open in the editor")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Qt aborts with a core dump when its platform plugin cannot start; say why first, in one line.
    problem = gui_start_problem()
    if problem is not None:
        raise DscoderError(f"The window cannot open: {problem.what}", problem.todo)
    from app.mainwindow.app import run_gui

    return run_gui(args.files)
