"""Inline completion: latency at a moving cursor with and without reuse, tokens evaluated
after a one-character edit at the start, middle and end of the window, time to the first
ghost character, and the pass rate of the editor's prompts on the FIM cases.

Usage: python tests/bench/completion.py [MODEL.gguf] [--runs N] [--no-cases]

Each measured request is what the editor sends after a pause: the prompt built by
app.completion.fim_window for the text and cursor, streamed through the engine with
the FIM stop rules (app.completion.fim.complete_middle), which cancels the stream as
soon as the middle ends. "With reuse" types one character before each request, so the
engine can keep what it evaluated for the previous one; "without reuse" sends an
unrelated completion in between, which takes the completion context. Latency = from
sending to the finished middle (what the user waits for the whole ghost text); first
ghost = to the first text the stop rules let through (what the user sees first); TTFT =
to the first streamed token.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from app.completion.fim import complete_middle  # noqa: E402
from app.completion.fim_window import CompletionPrompt, build_completion_prompt, max_tokens_for  # noqa: E402
from app.llm.client import OpenAIClient
from app.llm.stream import StreamStats
from app.llm.supervisor import EngineSupervisor  # noqa: E402
from app.protocol.options import LoadOptions, SamplingParams  # noqa: E402
from tests.bench._util import table, test_model_path  # noqa: E402
from tests.fim.cases import CASES, available, check  # noqa: E402

FUNCTION = (
    "def scale_{n}(values: list[float], factor: float = {n}.0) -> list[float]:\n"
    '    """Multiply each value by {n}."""\n'
    "    return [value * factor for value in values]\n\n\n"
)
TAIL = "def mean(values: list[float]) -> float:\n    total = sum(values)\n    return total / len(val"


def source_of_tokens(tokens: int) -> str:
    """Python code of about `tokens` tokens (4 characters a token for this code)."""
    text = ""
    n = 0
    while len(text) < tokens * 4 - len(TAIL):
        text += FUNCTION.format(n=n)
        n += 1
    return text + TAIL


def last_generation(client: OpenAIClient, previous: dict, timeout_s: float = 10.0) -> dict:
    """The engine's record of the request just sent (it lands a moment after a cancel)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        record = client.engine_info().get("last_generation") or {}
        if record and record != previous:
            return record
        time.sleep(0.02)
    return client.engine_info().get("last_generation") or {}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def timed_middle(client: OpenAIClient, prompt: CompletionPrompt) -> tuple[float, float | None, StreamStats]:
    """(latency, time to the first ghost text or None, stats) of one editor request."""
    params = SamplingParams(temperature=0.0, max_tokens=max_tokens_for(prompt))
    started = time.perf_counter()
    first: list[float] = []

    def shown(middle: str) -> None:
        if not first and middle.strip():
            first.append(time.perf_counter() - started)

    _, stats = complete_middle(client, prompt.prefix, prompt.suffix, "python", params, None, shown)
    return time.perf_counter() - started, (first[0] if first else None), stats


def edit_costs(client: OpenAIClient, tokens: int, runs: int) -> dict[str, dict[str, list[float]]]:
    """Per place in the window (start, middle, end): prompt tokens evaluated after typing one
    character at the cursor there, time to the first ghost text, and to the whole suggestion."""
    text = source_of_tokens(tokens)
    out: dict[str, dict[str, list[float]]] = {}
    record: dict = {}
    for place, fraction in (("start", 0.1), ("middle", 0.5), ("end", 1.0)):
        cursor = text.rfind("\n", 0, int(len(text) * fraction)) + 1 if fraction < 1 else len(text)
        edited = text
        got: dict[str, list[float]] = {"evaluated": [], "first": [], "latency": [], "prompt": []}
        for i in range(runs + 1):  # the first request only fills the cache
            if i:
                edited = edited[:cursor] + "u" + edited[cursor:]
                cursor += 1
            prompt = build_completion_prompt(edited, cursor, path="stats.py", language="python", budget_tokens=tokens)
            latency, first, _ = timed_middle(client, prompt)
            record = last_generation(client, record)
            if i:
                got["evaluated"].append(float(record.get("prompt_tokens", 0) - record.get("cached_tokens", 0)))
                got["prompt"].append(float(record.get("prompt_tokens", 0)))
                got["latency"].append(latency * 1000)
                if first is not None:
                    got["first"].append(first * 1000)
        out[place] = got
    return out


def edit_table(costs: dict[str, dict[str, list[float]]]) -> str:
    rows = [("edit at", "prompt tokens", "evaluated (median / max)", "first ghost p50 ms", "whole p50 ms", "target")]
    for place, got in costs.items():
        first = f"{statistics.median(got['first']):.0f}" if got["first"] else "-"
        rows.append(
            (
                place,
                f"{statistics.median(got['prompt']):.0f}",
                f"{statistics.median(got['evaluated']):.0f} / {max(got['evaluated']):.0f}",
                first,
                f"{statistics.median(got['latency']):.0f}",
                "<= 64 evaluated",
            )
        )
    return table(rows)


def measure(client: OpenAIClient, tokens: int, runs: int, reuse: bool) -> dict[str, list[float]]:
    text = source_of_tokens(tokens)
    out: dict[str, list[float]] = {"latency": [], "ttft": [], "first": [], "evaluated": [], "prompt": []}
    record: dict = {}
    for i in range(runs + 1):  # the first request only fills the cache
        text += "u" if i else ""
        prompt = build_completion_prompt(
            text, len(text), path="stats.py", language="python", budget_tokens=max(tokens, 256)
        )
        if not reuse:
            complete_middle(client, "zz", "", None, SamplingParams(temperature=0.0, max_tokens=1))
            record = last_generation(client, record)
        latency, first, stats = timed_middle(client, prompt)
        record = last_generation(client, record)
        if i == 0:
            continue
        out["latency"].append(latency * 1000)
        out["first"].append((first or latency) * 1000)
        out["ttft"].append((stats.time_to_first_token_s or latency) * 1000)
        out["evaluated"].append(float(record.get("prompt_tokens", 0) - record.get("cached_tokens", 0)))
        out["prompt"].append(float(record.get("prompt_tokens", 0)))
    return out


def fim_pass_rate(client: OpenAIClient) -> tuple[int, int, dict[str, tuple[int, int]]]:
    """The FIM cases through the editor's prompt builder (cursor between prefix and suffix)."""
    passed, total, by_language = 0, 0, {}
    for case in CASES:
        if not available(case):
            continue
        text = case.prefix + case.suffix
        prompt = build_completion_prompt(text, len(case.prefix), path=f"case.{case.language}", language=case.language)
        middle, _ = complete_middle(
            client, prompt.prefix, prompt.suffix, case.language, SamplingParams(temperature=0.0, max_tokens=128)
        )
        ok = check(case, middle)
        passed += ok
        total += 1
        good, count = by_language.get(case.language, (0, 0))
        by_language[case.language] = (good + ok, count + 1)
    return passed, total, by_language


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("model", nargs="?")
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--no-cases", action="store_true")
    args = parser.parse_args()
    model = args.model or test_model_path()
    rows = [
        (
            "context",
            "prefix reuse",
            "latency p50 ms",
            "latency p95 ms",
            "TTFT p50 ms",
            "first ghost p50 ms",
            "prompt tokens",
            "evaluated after 1-char edit (median / max)",
        )
    ]
    with EngineSupervisor(LoadOptions(model_path=model, n_ctx=4096)) as supervisor:
        ep = supervisor.start()
        client = OpenAIClient(ep.base_url, ep.api_key)
        for tokens in (500, 1500):
            for reuse in (True, False):
                m = measure(client, tokens, args.runs, reuse)
                rows.append(
                    (
                        f"{tokens} tokens",
                        "yes" if reuse else "no",
                        f"{statistics.median(m['latency']):.0f}",
                        f"{percentile(m['latency'], 0.95):.0f}",
                        f"{statistics.median(m['ttft']):.0f}",
                        f"{statistics.median(m['first']):.0f}",
                        f"{statistics.median(m['prompt']):.0f}",
                        f"{statistics.median(m['evaluated']):.0f} / {max(m['evaluated']):.0f}",
                    )
                )
                print(f"  measured {tokens} tokens, reuse={reuse}", file=sys.stderr, flush=True)
        edits = edit_costs(client, 1500, args.runs)
        cases = None if args.no_cases else fim_pass_rate(client)
        info = client.engine_info()
        client.close()
    print(f"model: {info.get('model_name')} ({os.path.basename(model)}), n_threads: default, runs: {args.runs}\n")
    print(table(rows))
    print("\nOne-character edit at the cursor, 1,500-token window:\n")
    print(edit_table(edits))
    if cases is not None:
        passed, total, by_language = cases
        detail = ", ".join(f"{lang} {good}/{count}" for lang, (good, count) in sorted(by_language.items()))
        print(f"\nFIM cases through the editor's prompt: {passed}/{total} = {passed / max(total, 1):.0%} ({detail})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
