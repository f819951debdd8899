"""`dscoder edit`: change files as instructed, run the tests, feed the failures back.

Each round prints its unified diff and the test summary on stdout; notes (the files the
map picked, edits that could not be made) and the reason for a failure go to stderr.
With --json the last line is one JSON object of the figures. --dry-run copies D to a
temporary folder, works and tests there, and leaves D as it was.

Exit codes: 0 the tests pass, or the edit was applied and no test command was given;
1 the tests still fail, or no edit could be applied; 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from app.commands._common import load_options_from
from app.llm.connect import open_client
from app.loop.driver import ClientAnswers, EditLoop, LoopOutcome, RoundRecord
from app.loop.picking import pick_files, relative_files
from app.loop.rounds import STOP_TEXTS, LoopProgress, TestRun, run_tests
from app.protocol.options import SamplingParams
from app.utils.errors import DscoderError

EXIT_USAGE = 2
_COPY_IGNORED = shutil.ignore_patterns(".git", "__pycache__", ".pytest_cache")


class UsageError(Exception):
    """Bad usage: the command line itself is wrong (exit 2, as argparse)."""


def _instruction(args: argparse.Namespace) -> str:
    given = [x for x in (args.instruction, args.instruction_file) if x is not None]
    if len(given) != 1:
        raise UsageError("give the instruction once: INSTRUCTION, --instruction-file F, or - for stdin")
    if args.instruction_file is not None:
        try:
            text = Path(args.instruction_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise UsageError(f"cannot read the instruction file {args.instruction_file}: {error}") from None
    else:
        text = sys.stdin.read() if args.instruction == "-" else args.instruction
    if not text.strip():
        raise UsageError("the instruction is empty")
    return text.strip()


def _check_usage(args: argparse.Namespace) -> Path:
    if args.endpoint and args.model:
        raise UsageError("give either --model or --endpoint, not both")
    if args.api_key and not args.endpoint:
        raise UsageError("--api-key goes with --endpoint")
    if args.rounds < 0:
        raise UsageError("--rounds must be 0 or more")
    if args.tries < 0:
        raise UsageError("--tries must be 0 or more")
    if args.timeout <= 0:
        raise UsageError("--timeout must be more than 0 seconds")
    folder = Path(args.dir).expanduser()
    if not folder.is_dir():
        raise UsageError(f"--dir {args.dir} is not a folder")
    return folder.resolve()


def _print_round(record: RoundRecord, progress: LoopProgress) -> None:
    tries = f" (the tests chose from {record.tries} answers)" if record.tries > 1 else ""
    print(f"== Round {record.number} of {progress.total_rounds}{tries} ==")
    for problem in record.problems:
        print(f"note: {problem}", file=sys.stderr)
    if record.diff:
        sys.stdout.write(record.diff)
    elif not record.written:
        print("(no change)")
    if record.tests is not None:
        seconds = f"{record.tests.seconds:.1f} s"
        print(f"{progress.status()} ({record.tests.result_line()}, {seconds})")
    sys.stdout.flush()


def _summary(outcome: LoopOutcome, seconds: float) -> str:
    tested = any(r.tests is not None for r in outcome.rounds)
    return json.dumps(
        {
            "passed": outcome.passed if tested else None,
            "rounds": len(outcome.rounds),
            "changed": outcome.changed,
            "test_exit_code": outcome.test_exit_code,
            "prompt_tokens": outcome.prompt_tokens,
            "completion_tokens": outcome.completion_tokens,
            "seconds": round(seconds, 2),
        }
    )


def _edit(args: argparse.Namespace, folder: Path, instruction: str, work: Path) -> tuple[LoopOutcome, float]:
    files = relative_files(str(folder), args.file)
    read = relative_files(str(folder), args.read)
    if not files:
        picked = pick_files(work, instruction)
        if not picked.editable:
            raise DscoderError(
                f"No file to edit was found in {folder} ({picked.reason})", "Name the files to change with --file"
            )
        files = list(picked.editable)
        read = [*read, *(p for p in picked.context if p not in read)]
        shown = ", ".join(files) + (f" (context: {', '.join(picked.context)})" if picked.context else "")
        print(f"note: editing {shown}: {picked.reason}", file=sys.stderr)
    options = None if args.endpoint else load_options_from(args)
    params = SamplingParams(max_tokens=args.max_tokens)
    started = time.monotonic()
    command = args.test_cmd

    def tests(where: str) -> TestRun:
        return run_tests(command, where, args.timeout)

    with open_client(options, args.endpoint, args.api_key) as client:
        loop = EditLoop(
            folder=str(work),
            files=files,
            instruction=instruction,
            source=ClientAnswers(client, params),
            test_command=command,
            run_tests=tests if command else None,
            feedback_rounds=args.rounds,
            tries=args.tries,
            read=read,
            context_size=options.n_ctx if options is not None else None,
            answer_tokens=args.max_tokens,
            on_round=_print_round,
        )
        outcome = loop.run()
    return outcome, time.monotonic() - started


def run(args: argparse.Namespace) -> int:
    try:
        instruction = _instruction(args)
        folder = _check_usage(args)
    except UsageError as error:
        print(f"dscoder edit: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    with tempfile.TemporaryDirectory(prefix="dscoder-edit-") as temporary:
        work = folder
        if args.dry_run:
            work = Path(temporary) / folder.name
            shutil.copytree(folder, work, symlinks=True, ignore=_COPY_IGNORED)
        outcome, seconds = _edit(args, folder, instruction, work)
    if args.dry_run:
        print(f"note: dry run: nothing was written in {folder}", file=sys.stderr)
    code = 0 if outcome.reason in ("passed", "applied") else 1
    if code:
        detail = f": {outcome.detail}" if outcome.detail else ""
        print(f"dscoder edit: {STOP_TEXTS[outcome.reason]}{detail}", file=sys.stderr)
    if args.json:
        print(_summary(outcome, seconds))
    return code
