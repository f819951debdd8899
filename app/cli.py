"""The `dscoder` command line.

`COMMANDS` lists each subcommand: its help, the builder of its arguments
(app/commands/arguments.py) and the module that runs it. A command's module is imported only
when that command runs, so `dscoder` (the window) and `dscoder --version` never import what
other commands need: above all `app.engine`, which only `serve` and `probe`'s children load.
Exit codes: 0 success, 1 failure (one clear line on stderr, no traceback), 2 bad usage
(argparse's own code).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass

from app import __version__
from app.commands import arguments
from app.utils.errors import CancelledError, DscoderError


@dataclass(frozen=True)
class Command:
    name: str
    module: str  # imported when the command runs; its function `handler` (default "run") runs it
    add_arguments: Callable[[argparse.ArgumentParser], None]
    help: str
    description: str = ""  # default: the help, as a sentence


# In the order `dscoder --help` lists them.
COMMANDS = (
    Command("gui", "app.commands.gui", arguments.gui, "open the window (the default)", "Open the window."),
    Command(
        "ask",
        "app.commands.ask",
        arguments.ask,
        "stream a chat reply to stdout",
    ),
    Command(
        "complete",
        "app.commands.complete",
        arguments.complete,
        "fill in the middle between a prefix and a suffix",
        "Print exactly the middle text (no newline added).",
    ),
    Command(
        "apply",
        "app.commands.apply",
        arguments.apply,
        "show where a code block goes in a file (prints the result; never writes the file)",
        "Apply a code block (a chat answer's) to FILE as the Apply button does: each definition replaces "
        "its namesake or goes next to its sibling, imports merge. Prints the new text of FILE, or a diff. "
        "Exit 0: placed by syntax; 1: it could only fall back (the reason is on stderr).",
    ),
    Command(
        "serve",
        "app.commands.serve",
        arguments.serve,
        "serve a model to editors (OpenAI, Ollama and llama-server APIs)",
        "Serve a model over OpenAI's API (/v1), Ollama's (/api) and llama-server's editor API (/infill, "
        "/completion), with streaming. See docs/editors.md for each editor's setup.",
    ),
    Command(
        "probe",
        "app.commands.probe",
        arguments.probe,
        "show this machine's CPU, memory, GPUs and speed, and the model that fits",
        "Read the CPU, RAM, GPUs, llama.cpp backends and free disk, measure this machine's "
        "llama.cpp speed (once; under 10 s), and recommend the DeepSeek-Coder variant, quantization, "
        "GPU layers and context that fit and feel fast enough.",
    ),
    Command(
        "estimate",
        "app.commands.estimate",
        arguments.estimate,
        "estimate the RAM, VRAM and speed of a model",
        "Estimate RAM and VRAM for a GGUF file or a catalog model (e.g. "
        "deepseek-coder-6.7b-instruct:Q4_K_M) at a context size and GPU layer count.",
    ),
    Command(
        "models",
        "app.commands.models",
        arguments.models,
        "list, download, verify, import and remove models",
        "The model catalog, downloads from the hub, and the models on disk.",
    ),
    Command(
        "check",
        "app.commands.check",
        arguments.check,
        "check a model's coding quality here (HumanEval chat and completion) beside its published scores",
        "Run HumanEval's problems through the model's chat and the editor's completion, run the answers' "
        "tests in a sandbox, and print pass@1 beside the published figures.",
    ),
    Command(
        "doctor",
        "app.commands.doctor",
        arguments.doctor,
        "check this installation and machine, with a fix for each problem",
        "Show what the app finds (Python, Qt, the window's platform plugin, llama.cpp and its "
        "backends, GPUs, the models folder, settings, logs) and how to fix each problem.",
    ),
)


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
    for command in COMMANDS:
        description = command.description or command.help[0].upper() + command.help[1:] + "."
        sub = subparsers.add_parser(command.name, help=command.help, description=description)
        sub.set_defaults(command_module=command.module, handler="run")
        command.add_arguments(sub)
    return parser


def run_command(args: argparse.Namespace) -> int:
    """Import the chosen command's module now, and run it."""
    module = importlib.import_module(args.command_module)
    return int(getattr(module, args.handler)(args) or 0)


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
        return run_command(args)
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
