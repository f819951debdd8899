"""`dscoder gui [FILE...]` (also `dscoder` alone): open the window."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("gui", help="open the window (the default)", description="Open the window.")
    parser.add_argument("files", nargs="*", metavar="FILE", help="files to open in the editor")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from app.mainwindow.app import run_gui

    return run_gui(args.files)
