"""`dscoder check`: what a model file scores on HumanEval here, beside its published figures.

Starts the engine for the file as `dscoder ask` does (or uses --endpoint), runs the quality
check (app/models/quality/check.py) with a progress bar on stderr, keeps the result in the
data folder (per file and settings) and prints the figures; with --json the last line is
one JSON object whose scores are fractions from 0 to 1. Ctrl+C ends the request in flight,
stops the engine and exits 130 without keeping a partial result.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from tqdm import tqdm

from app.commands._common import load_options_from
from app.llm.connect import open_client
from app.models.quality.check import CheckProgress, CheckRun
from app.models.quality.problems import Problem, suite_problems
from app.models.quality.published import identify_model
from app.models.quality.report import check_json, reading, record_of
from app.models.quality.results import CheckedModel, QualityResults
from app.utils.errors import DscoderError


def _model_path(query: str) -> str:
    """A path as given, or an installed model by catalog id or file name."""
    if os.path.exists(os.path.expanduser(query)):
        return os.path.expanduser(query)
    from app.models.library import find_model

    return str(find_model(query).path)


def _problems(suite: str, limit: int | None) -> tuple[Problem, ...] | None:
    if limit is None:
        return None
    if limit < 1:
        raise DscoderError(f"--limit {limit} leaves no problem to check", "Pass --limit 1 or more, or leave it out")
    return suite_problems(suite)[:limit]


class _ProgressBar:
    """done/total steps and the time left, drawn by tqdm on stderr."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar: tqdm | None = None

    def __call__(self, progress: CheckProgress) -> None:
        if self.bar is None:
            terminal = sys.stderr.isatty()
            self.bar = tqdm(
                total=progress.total,
                desc=self.label,
                unit="step",
                file=sys.stderr,
                dynamic_ncols=terminal,
                mininterval=0.5 if terminal else 30.0,
            )
        self.bar.update(max(0, progress.done - self.bar.n))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@contextmanager
def _ctrl_c_cancels(check: CheckRun) -> Iterator[None]:
    """Ctrl+C cancels the check instead of raising wherever the main thread happens to be:
    a KeyboardInterrupt raised inside a lock's `with` (the check's, the HTTP pool's) can
    leave that lock held, and the cancel then waits on it forever. The handler only starts
    a thread that cancels (the request's socket is shut, the check ends after it); a second
    Ctrl+C raises as usual."""

    def on_sigint(_signum: int, _frame: object) -> None:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        threading.Thread(target=check.cancel, name="check-cancel", daemon=True).start()

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def run(args: argparse.Namespace) -> int:
    if not args.model and not args.endpoint:
        raise DscoderError("No model was given", "Pass --model PATH or a catalog id, or --endpoint URL")
    if args.endpoint:
        name = args.model or "remote model"
        identity, model, options, settings = (
            identify_model(name),
            CheckedModel.of_endpoint(args.endpoint, name),
            None,
            {},
        )
    else:
        args.model = _model_path(args.model)
        options = load_options_from(args)
        assert options is not None
        identity, model = identify_model(args.model), CheckedModel.of_file(args.model)
        settings = {"n_ctx": options.n_ctx, "kv_cache_type": options.kv_cache_type, "flash_attn": options.flash_attn}
    bar = _ProgressBar(f"{identity.label} {identity.quant or ''} {args.suite}".strip())
    try:
        model_name = args.model if args.endpoint else None
        with open_client(options, args.endpoint, args.api_key, model_name) as client:
            check = CheckRun(client, args.suite, on_progress=bar, problems=_problems(args.suite, args.limit))
            with _ctrl_c_cancels(check):
                report = check.run()
    except KeyboardInterrupt:  # before the check started, or a second Ctrl+C
        report = None
    if report is None or report.cancelled:
        bar.close()
        print("dscoder: check cancelled; nothing was kept", file=sys.stderr)
        return 130
    bar.close()
    if args.limit is not None:
        report.suite = f"{args.suite}, first {report.problems}"
    record = record_of(report, identity, model, settings)
    QualityResults().put(record)
    text = reading(record)
    _print_summary(record.to_json(), report.fim_skipped_reason, text, sys.stdout if not args.json else sys.stderr)
    if args.json:
        print(json.dumps(check_json(record, text)))
    return 0


def _percent(value: float | None) -> str:
    return "not run" if value is None else f"{value * 100:.1f}%"


def _print_summary(record: dict, fim_skipped: str, text: str, stream: object) -> None:
    lines = [
        f"{record['label']} {record['quant'] or ''}: {record['suite']} suite, {record['problems']} problems, "
        f"{record['seconds']:.0f} s",
        f"  chat pass@1                {_percent(record['chat_pass_at_1'])}",
        f"  completion, one line       {_percent(record['fim_pass_at_1'])}",
        f"  completion, several lines  {_percent(record['fim_multi_line_pass_at_1'])}"
        f" ({record['fim_multi_line_problems']} problems have such a hole)",
    ]
    lines += [f"  published {name}: {score * 100:.1f}%" for name, score in record["published"].items()]
    if fim_skipped:
        lines.append(f"  completion not checked: {fim_skipped}")
    if record["busy"]:
        lines.append("  the machine was busy with other work during the check: the time is longer than usual")
    lines.append(text)
    print("\n".join(lines), file=stream)  # type: ignore[call-overload]
