"""The `dscoder` command line.

Each subcommand lives in its own module under `app/commands/` and exposes
`register(subparsers)`, which adds its parser and sets `func` to the function that
runs it. Exit codes: 0 success, 1 failure (one clear line on stderr, no traceback),
2 bad usage (argparse's own code).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from app import __version__
from app.utils.errors import CancelledError, DscoderError

# Subcommand modules in the order `dscoder --help` lists them.
COMMAND_MODULES = [
    "app.commands.gui",
    "app.commands.ask",
    "app.commands.complete",
    "app.commands.apply",
    "app.commands.serve",
    "app.commands.probe",
    "app.commands.estimate",
    "app.commands.models",
    "app.commands.check",
    "app.commands.doctor",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dscoder",
        description="DeepSeek-Coder Desktop: a local code editor and chat. Without a command, opens the window.",
    )
    parser.add_argument("--version", action="version", version=f"dscoder {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages to stderr")
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="check this installation end to end (GUI offscreen, engine, chat) and exit",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)  # a broken command module fails loudly
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if args.self_test:
        from app.diagnostics.ui.selftest import run_self_test

        return run_self_test()
    if args.command is None:
        args = parser.parse_args(["gui", *argv])
    try:
        return int(args.func(args) or 0)
    except CancelledError:
        print("dscoder: cancelled", file=sys.stderr)
        return 1
    except DscoderError as exc:
        print(f"dscoder: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("dscoder: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
