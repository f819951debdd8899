"""The engine's caches and speed-ups, measured through the app's own engine and client.

Usage: python tests/bench/cache.py [MODEL.gguf] [--only steps,memory,rewrite,completion,decode,soak]
                                   [--idle-s 30] [--soak-minutes 1] [--runs 3]

- steps: time to first token of the steps a user takes (a question about a ~1,300-token
  file, a follow-up, a completion in another file, a follow-up after it, another
  conversation, back to the first, the same file in a new chat, and a file that has been
  open and idle for --idle-s seconds, which idle prefill prepares). Each warm step should
  be within 2x the plain warm follow-up.
- memory: the engine's peak RSS with and without the completion context and the prompt
  cache, against the memory estimate (which counts both).
- rewrite: "add docstrings to this 60-line function and return all of it", decode
  tokens/s with and without prompt-lookup drafting, on the same (greedy) output.
- completion: prompt tokens evaluated after a one-character edit at the start, middle and
  end of a 1,500-token window, and the time to the first ghost text (tests/bench/completion.py).
- decode: decode tokens/s with the engine's default threads against in-process
  llama-cpp-python with the best thread count (tests/bench/engine.py).
- soak: mixed traffic from 3 clients (tests/bench/soak.py); --soak-minutes 30 for the full run.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import psutil  # noqa: E402

from app.llm.client import OpenAIClient  # noqa: E402
from app.llm.supervisor import EngineSupervisor  # noqa: E402
from app.models.gguf import read_gguf_info  # noqa: E402
from app.models.planning.estimator import estimate_memory  # noqa: E402
from app.protocol.options import LoadOptions, SamplingParams  # noqa: E402
from tests.bench._util import table, test_model_path  # noqa: E402

MIB = 2**20
SECTIONS = ("steps", "memory", "rewrite", "completion", "decode", "soak")


def python_file(name: str, functions: int = 26) -> str:
    """A Python file of about 50 tokens a function (26 functions: about 1,300 tokens)."""
    return "".join(
        f"def {name}_{i}(values: list[int], limit: int = {i}) -> list[int]:\n"
        f'    """Keep the values below {i} and double them."""\n'
        f"    kept = [value for value in values if value < limit]\n"
        f"    return [value * 2 for value in kept]\n\n\n"
        for i in range(functions)
    )


def opening(name: str) -> str:
    """The attached file as the chat sends it (app.chat.code_prompts.file_prompt), before the question."""
    return f"Here is the file `{name}.py` (Python):\n\n```python\n{python_file(name)}```\n\n"


class Session:
    """One engine and client; each `ask` returns (time to first token, usage)."""

    def __init__(self, model: str, **options: object) -> None:
        self.supervisor = EngineSupervisor(LoadOptions(model_path=model, n_ctx=4096, **options))  # type: ignore[arg-type]
        ep = self.supervisor.start()
        self.pid = ep.pid
        self.client = OpenAIClient(ep.base_url, ep.api_key)

    def ask(self, messages: list[dict[str, str]], max_tokens: int = 8) -> tuple[float, dict, str]:
        stats, text = None, ""
        for event in self.client.stream_chat(messages, SamplingParams(temperature=0.0, max_tokens=max_tokens)):
            text += event.text
            stats = event.stats or stats
        assert stats is not None
        return stats.time_to_first_token_s or stats.total_s, dict(stats.usage), text

    def fim(self, name: str) -> tuple[float, dict]:
        code = python_file(name)
        cut = len(code) // 2
        stats = None
        for event in self.client.stream_completion(code[:cut], code[cut:], SamplingParams(max_tokens=8)):
            stats = event.stats or stats
        assert stats is not None
        return stats.time_to_first_token_s or stats.total_s, dict(stats.usage)

    def peak_rss(self) -> int:
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        return psutil.Process(self.pid).memory_info().rss

    def close(self) -> None:
        self.client.close()
        self.supervisor.stop()


def steps(model: str, idle_s: float) -> list[tuple[str, ...]]:
    session = Session(model)
    rows: list[tuple[str, float, dict]] = []
    try:
        a = [{"role": "user", "content": opening("alpha") + "What does alpha_3 return?"}]
        ttft, usage, answer = session.ask(a)
        rows.append(("Chat A, cold", ttft, usage))
        a += [{"role": "assistant", "content": answer}, {"role": "user", "content": "And alpha_4?"}]
        ttft, usage, answer = session.ask(a)
        rows.append(("Chat A, a follow-up question", ttft, usage))
        ttft, usage = session.fim("beta")
        rows.append(("A fill-in-the-middle request in another file", ttft, usage))
        a += [{"role": "assistant", "content": answer}, {"role": "user", "content": "And alpha_5?"}]
        ttft, usage, answer = session.ask(a)
        rows.append(("Chat A, a follow-up after that completion", ttft, usage))
        b = [{"role": "user", "content": opening("gamma") + "What does gamma_2 do?"}]
        ttft, usage, _ = session.ask(b)
        rows.append(("Chat B (switch conversation)", ttft, usage))
        a += [{"role": "assistant", "content": answer}, {"role": "user", "content": "And alpha_6?"}]
        ttft, usage, _ = session.ask(a)
        rows.append(("Chat A again", ttft, usage))
        ttft, usage, _ = session.ask([{"role": "user", "content": opening("alpha") + "Which one is the longest?"}])
        rows.append(("The same file in a new chat", ttft, usage))
        session.client.prefill_chat([{"role": "user", "content": opening("delta")}])
        time.sleep(idle_s)
        ttft, usage, _ = session.ask([{"role": "user", "content": opening("delta") + "What does delta_7 do?"}])
        rows.append((f"A file open and idle for {idle_s:g} s, first question", ttft, usage))
        # For reference: the first request after the same idle time costs more by itself (the
        # CPU and its caches wake up), prefill or not.
        time.sleep(idle_s)
        ttft, usage, _ = session.ask([{"role": "user", "content": opening("delta") + "And delta_8?"}])
        rows.append((f"(reference) a warm follow-up after {idle_s:g} s idle", ttft, usage))
    finally:
        session.close()
    warm = rows[1][1]
    warm_steps = {3, 5, 6, 7}  # after a completion, back to A, the same file again, idle prefill
    out = [("step", "time to first token", "prompt tokens", "evaluated", "vs warm follow-up", "target")]
    for n, (name, ttft, usage) in enumerate(rows):
        evaluated = usage.get("prompt_tokens", 0) - usage.get("cached_tokens", 0)
        out.append(
            (
                name,
                f"{ttft:.2f} s",
                f"{usage.get('prompt_tokens', 0)}",
                f"{evaluated}",
                f"{ttft / warm:.1f}x",
                "<= 2x" if n in warm_steps else "",
            )
        )
    return out


def memory(model: str) -> list[tuple[str, ...]]:
    info = read_gguf_info(model)
    out = [("engine", "peak RSS MiB", "cache held MiB", "estimate MiB", "estimate + held MiB", "ratio")]
    for label, options, completion_ctx in (
        ("one context, no prompt cache", {"completion_ctx": -1, "prompt_cache_bytes": 0}, 0),
        ("chat + completion contexts, prompt cache", {}, 2048),
    ):
        session = Session(model, **options)
        try:
            for name in ("alpha", "gamma", "alpha"):
                session.ask([{"role": "user", "content": opening(name) + "Summarise."}])
            session.fim("beta")
            held = int(session.client.engine_info()["prompt_cache"]["bytes"])
            rss = session.peak_rss()
        finally:
            session.close()
        estimate = estimate_memory(info, n_ctx=4096, completion_ctx=completion_ctx).ram_bytes
        out.append(
            (
                label,
                f"{rss / MIB:.0f}",
                f"{held / MIB:.1f}",
                f"{estimate / MIB:.0f}",
                f"{(estimate + held) / MIB:.0f}",
                f"{rss / (estimate + held):.2f}",
            )
        )
    weights = info.file_size / MIB
    out.append(("(the weights alone)", f"{weights:.0f}", "", "", "", "loaded once: the second row adds KV only"))
    return out


REWRITE_FUNCTION = "".join(
    [
        "def summarize_orders(orders, customers, discounts, tax_rate=0.2):\n",
        *[
            f"    step_{i} = [order for order in orders if order.get('status') == 'state_{i}']\n"
            f"    total_{i} = sum(order['amount'] for order in step_{i})\n"
            for i in range(29)
        ],
        "    return {'total': sum([" + ", ".join(f"total_{i}" for i in range(29)) + "])}\n",
    ]
)


def rewrite(model: str, max_tokens: int = 900) -> list[tuple[str, ...]]:
    question = [
        {
            "role": "user",
            "content": "Add a docstring to this function and return the whole function, unchanged otherwise:\n\n"
            f"```python\n{REWRITE_FUNCTION}```",
        }
    ]
    results = {}
    for lookup in (False, True):
        session = Session(model, prompt_lookup=lookup)
        try:
            session.ask([{"role": "user", "content": "Hello"}], max_tokens=2)  # warm the engine
            _, usage, text = session.ask(question, max_tokens=max_tokens)
        finally:
            session.close()
        rate = usage["completion_tokens"] / (usage["decode_ms"] / 1000) if usage["decode_ms"] else 0.0
        results[lookup] = (rate, usage, text)
    base, drafted = results[False], results[True]
    same = "yes" if base[2] == drafted[2] else "NO"
    return [
        ("rewrite task (greedy)", "decode tokens/s", "tokens", "acceptance", "same output", "target"),
        ("plain decoding", f"{base[0]:.1f}", f"{base[1]['completion_tokens']}", "", "", ""),
        (
            "prompt-lookup drafting",
            f"{drafted[0]:.1f}",
            f"{drafted[1]['completion_tokens']}",
            f"{drafted[1].get('draft_acceptance') or 0:.0%}",
            same,
            "",
        ),
        ("speed-up", f"{drafted[0] / base[0]:.2f}x" if base[0] else "-", "", "", "", ">= 1.5x"),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", help="a .gguf (default: the real test model)")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated: " + ", ".join(SECTIONS))
    parser.add_argument("--idle-s", type=float, default=30.0)
    parser.add_argument("--soak-minutes", type=float, default=1.0, help="30 for the full soak")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    model = args.model or test_model_path()
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    print(f"model: {Path(model).name}; sections: {', '.join(chosen)}\n")
    for section in chosen:
        print(f"## {section}\n")
        if section == "steps":
            print(table(steps(model, args.idle_s)))
        elif section == "memory":
            print(table(memory(model)))
        elif section == "rewrite":
            print(table(rewrite(model)))
        elif section == "completion":
            from tests.bench.completion import edit_costs, edit_table

            session = Session(model)
            try:
                print(edit_table(edit_costs(session.client, 1500, args.runs)))
            finally:
                session.close()
        elif section == "decode":
            from tests.bench.engine import default_against_best

            print(table(default_against_best(model, args.runs)))
        elif section == "soak":
            from tests.bench.soak import run_soak, soak_rows

            result, budget = run_soak(model, args.soak_minutes, sample_s=min(10.0, args.soak_minutes * 6))
            print(table(soak_rows(result, budget, args.soak_minutes)))
        else:
            parser.error(f"unknown section {section!r}")
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
