"""Drafting on against off in one engine with default settings: a free-form answer and a rewrite.

Usage: python tests/bench/drafting.py [MODEL.gguf] [--runs 3] [--free-tokens 128] [--rewrite-tokens 256]

Requests alternate (drafting off, on, off, on, ...) so a change in the machine's load hits
both; each figure is the median decode tokens/s of `runs`. Also prints what the engine
measured at load, and after the answers corrected it: a draft batch's cost against one token,
and the acceptance at which drafting breaks even (see app/engine/draft_policy.py), and the
machine's load while it ran.
Targets (issue 20): free-form >= 0.97x, rewrite >= 1.5x.
"""

from __future__ import annotations

import argparse
import os
import sys

import psutil

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))

from app.llm.client import OpenAIClient  # noqa: E402
from app.llm.supervisor import EngineSupervisor  # noqa: E402
from app.protocol.options import LoadOptions, SamplingParams  # noqa: E402
from tests.bench._util import median, table, test_model_path  # noqa: E402
from tests.bench.cache import REWRITE_FUNCTION  # noqa: E402

FREE_FORM = "Write a short essay on how the printing press changed the way people in Europe learned and argued."
REWRITE = (
    "Add a docstring to this function and return the whole function, unchanged otherwise:\n\n"
    f"```python\n{REWRITE_FUNCTION}```"
)


def decode_rate(client: OpenAIClient, question: str, max_tokens: int, speculative: bool) -> tuple[float, dict]:
    params = SamplingParams(temperature=0.0, max_tokens=max_tokens, speculative=speculative)
    stats = None
    for event in client.stream_chat([{"role": "user", "content": question}], params):
        stats = event.stats or stats
    assert stats is not None
    usage = dict(stats.usage)
    return usage["completion_tokens"] / (usage["decode_ms"] / 1000), usage


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", help="a .gguf (default: the real test model)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--free-tokens", type=int, default=128)
    parser.add_argument("--rewrite-tokens", type=int, default=256)
    args = parser.parse_args()
    model = args.model or test_model_path()
    psutil.cpu_percent(None)
    loads = []
    rows = [("task", "drafting off tok/s", "drafting on tok/s", "on / off", "acceptance", "pauses", "target")]
    with EngineSupervisor(LoadOptions(model_path=model, n_ctx=4096)) as supervisor:
        ep = supervisor.start()
        client = OpenAIClient(ep.base_url, ep.api_key)
        drafting = client.engine_info()["drafting"]
        decode_rate(client, "Hello", 4, False)  # warm up
        for name, question, tokens, target in (
            ("free-form answer", FREE_FORM, args.free_tokens, ">= 0.97x"),
            ("rewrite", REWRITE, args.rewrite_tokens, ">= 1.5x"),
        ):
            rates: dict[bool, list[float]] = {False: [], True: []}
            last: dict = {}
            for _ in range(args.runs):
                for speculative in (False, True):
                    rate, usage = decode_rate(client, question, tokens, speculative)
                    rates[speculative].append(rate)
                    loads.append(os.getloadavg()[0])
                    if speculative:
                        last = usage
            off, on = median(rates[False]), median(rates[True])
            rows.append(
                (
                    name,
                    f"{off:.1f}",
                    f"{on:.1f}",
                    f"{on / off:.2f}x",
                    f"{last.get('draft_acceptance') or 0:.0%}",
                    str(last.get("draft_pauses", "")),
                    target,
                )
            )
        refined = client.engine_info()["drafting"]  # after real decodes corrected it
        client.close()
    print(table(rows))
    print()
    if "cost_ratio" in drafting:  # engines before issue 20 did not measure it
        print(
            f"one token: {drafting['single_token_ms']} ms measured at load, "
            f"{refined['single_token_ms']} ms after the answers"
        )
        cost = [("k drafts", "batch cost / one token (load, after)", "break-even acceptance (load, after)")]
        cost += [
            (
                k,
                f"{ratio:.2f}, {refined['cost_ratio'][k]:.2f}",
                f"{drafting['break_even_acceptance'][k]:.0%}, {refined['break_even_acceptance'][k]:.0%}",
            )
            for k, ratio in drafting["cost_ratio"].items()
        ]
        print(table(cost))
    low, high = min(loads), max(loads)
    print(f"\nmachine: {os.cpu_count()} logical CPUs, 1-min load average while measuring {low:.1f}..{high:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
