"""Inline completion: latency at a moving cursor with and without prefix reuse, tokens
evaluated after a one-character edit, and the pass rate of the editor's prompts on the
FIM cases.

Usage: python tests/bench/completion.py [MODEL.gguf] [--runs N] [--no-cases]

Each measured request is what the editor sends after a pause: the prompt built by
app.completion.context for the text and cursor, streamed through the engine with
the FIM stop rules (app.completion.fim.complete_middle), which cancels the stream as
soon as the middle ends. "With reuse" types one character before each request, so the
engine can keep what it evaluated for the previous one; "without reuse" sends an
unrelated request in between, which evicts it. Latency = from sending to the finished
middle (what the user waits for the ghost text); TTFT = to the first streamed token.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from app.completion.context import build_completion_prompt, max_tokens_for  # noqa: E402
from app.completion.fim import complete_middle  # noqa: E402
from app.llm.client import OpenAIClient  # noqa: E402
from app.llm.options import LoadOptions, SamplingParams  # noqa: E402
from app.llm.supervisor import EngineSupervisor  # noqa: E402
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


def measure(client: OpenAIClient, tokens: int, runs: int, reuse: bool) -> dict[str, list[float]]:
    text = source_of_tokens(tokens)
    out: dict[str, list[float]] = {"latency": [], "ttft": [], "evaluated": [], "prompt": []}
    record: dict = {}
    for i in range(runs + 1):  # the first request only fills the cache
        text += "u" if i else ""
        prompt = build_completion_prompt(
            text, len(text), path="stats.py", language="python", budget_tokens=max(tokens, 256)
        )
        if not reuse:
            complete_middle(client, "zz", "", None, SamplingParams(temperature=0.0, max_tokens=1))
            record = last_generation(client, record)
        params = SamplingParams(temperature=0.0, max_tokens=max_tokens_for(prompt))
        started = time.perf_counter()
        _, stats = complete_middle(client, prompt.prefix, prompt.suffix, "python", params)
        latency = time.perf_counter() - started
        record = last_generation(client, record)
        if i == 0:
            continue
        out["latency"].append(latency * 1000)
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
            "TTFT p95 ms",
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
                        f"{percentile(m['ttft'], 0.95):.0f}",
                        f"{statistics.median(m['prompt']):.0f}",
                        f"{statistics.median(m['evaluated']):.0f} / {max(m['evaluated']):.0f}",
                    )
                )
                print(f"  measured {tokens} tokens, reuse={reuse}", file=sys.stderr, flush=True)
        cases = None if args.no_cases else fim_pass_rate(client)
        info = client.engine_info()
        client.close()
    print(f"model: {info.get('model_name')} ({os.path.basename(model)}), n_threads: default, runs: {args.runs}\n")
    print(table(rows))
    if cases is not None:
        passed, total, by_language = cases
        detail = ", ".join(f"{lang} {good}/{count}" for lang, (good, count) in sorted(by_language.items()))
        print(f"\nFIM cases through the editor's prompt: {passed}/{total} = {passed / max(total, 1):.0%} ({detail})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
