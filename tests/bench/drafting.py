"""Drafting on against off in one engine with default settings: a free-form answer and a rewrite.

Usage: python tests/bench/drafting.py [MODEL.gguf] [--runs 3] [--free-tokens 128] [--rewrite-tokens 900]
       python tests/bench/drafting.py MODEL.gguf --cost-only

Requests alternate (drafting off, on, off, on, ...) so a change in the machine's load hits
both; each figure is the median decode tokens/s of `runs`. The rewrite is the whole answer
(a function of 29 similar steps with a docstring added: the answer ends on its own before
900 tokens), as a user asks for it; the free-form answer is an explanation that does not
repeat its question. Also prints what the engine measured at load, and after the answers
corrected it: a draft batch's cost against one token, and the acceptance at which drafting
breaks even (see app/engine/draft_policy.py), and the machine's load while it ran.
`--cost-only` prints just the cost table, measured at load: for a model whose answers mean
nothing (random weights, e.g. a DeepSeek-Coder-1.3B shape written by
app/models/synthetic/bench.py's write_bench_gguf).
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

# The test model's greedy answer to this does not repeat itself (an essay on the printing
# press, asked before, loops over one sentence after 60 tokens: a repeat that drafting rightly
# speeds up, so it did not test a free-form answer).
FREE_FORM = "Tell me a short story about a lighthouse keeper who finds a message in a bottle."
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


def cost_rows(at_load: dict, after: dict | None = None) -> list[tuple[str, ...]]:
    """The draft cost table: per k, a batch's cost against one token and the break-even acceptance."""
    after = after or at_load
    rows = [
        (
            "k drafts",
            "batch cost / one token (load, after)",
            "break-even acceptance (load, after)",
            "break-even p, a draft kept after the ones before (load, after)",
        )
    ]
    for k, ratio in at_load["cost_ratio"].items():
        p_load, p_after = (d.get("break_even_kept_rate", {}).get(k, float("nan")) for d in (at_load, after))
        rows.append(
            (
                k,
                f"{ratio:.2f}, {after['cost_ratio'][k]:.2f}",
                f"{at_load['break_even_acceptance'][k]:.0%}, {after['break_even_acceptance'][k]:.0%}",
                f"{p_load:.2f}, {p_after:.2f}" + (" (no p pays)" if p_after > 1 else ""),
            )
        )
    return rows


def print_cost_only(model: str) -> int:
    psutil.cpu_percent(None)
    before = os.getloadavg()[0]
    with EngineSupervisor(LoadOptions(model_path=model, n_ctx=4096)) as supervisor:
        ep = supervisor.start()
        client = OpenAIClient(ep.base_url, ep.api_key)
        drafting = client.engine_info()["drafting"]
        client.close()
    print(f"model: {os.path.basename(model)}; one token: {drafting['single_token_ms']} ms measured at load")
    print(table(cost_rows(drafting)))
    print(f"\nmachine: {os.cpu_count()} logical CPUs, 1-min load average {before:.1f}..{os.getloadavg()[0]:.1f}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", help="a .gguf (default: the real test model)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--free-tokens", type=int, default=128)
    parser.add_argument("--rewrite-tokens", type=int, default=900)
    parser.add_argument("--cost-only", action="store_true", help="only the draft cost measured at load")
    args = parser.parse_args()
    model = args.model or test_model_path()
    if args.cost_only:
        return print_cost_only(model)
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
        print(table(cost_rows(drafting, refined)))
    low, high = min(loads), max(loads)
    print(f"\nmachine: {os.cpu_count()} logical CPUs, 1-min load average while measuring {low:.1f}..{high:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
