"""Engine benchmark: the engine process + streaming client against in-process llama-cpp-python.

Usage: python tests/bench/engine.py [MODEL.gguf] [--threads N] [--runs N]

Same model, threads, prompt and greedy sampling on both sides, in one run. Prints
decode and prompt tokens/s with their ratios, the first-token overhead, and cancel
latency while decoding and while a long prompt is being processed. With the decode row
goes the CPU time per token of what streaming adds (the engine's event loop, the client):
on a machine whose cores all decode, that time is taken from llama.cpp's threads.

Cancel latency runs from the client's cancel() to the moment the engine's generation
loop ended, as the engine records it (`last_generation.ended_at`, the same wall clock,
read back from /dscoder/info).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import llama_cpp  # noqa: E402
import psutil  # noqa: E402

from app.engine.backends import model_params_for_this_cpu  # noqa: E402
from app.llm.client import OpenAIClient
from app.llm.stream import CancelToken
from app.llm.supervisor import EngineSupervisor  # noqa: E402
from app.protocol.options import LoadOptions, SamplingParams  # noqa: E402
from tests.bench._util import median, table, test_model_path  # noqa: E402

CODE_LINE = "def handler_{i}(request):\n    return process(request.data, retries={i})\n\n"
DECODE_PROMPT = "<|im_start|>user\nWrite a long Python module with twenty small utility functions.<|im_end|>\n<|im_start|>assistant\n"


def prompt_text(n_lines: int, salt: int) -> str:
    return f"# run {salt}\n" + "".join(CODE_LINE.format(i=i) for i in range(n_lines))


def _generate(llama: llama_cpp.Llama, prompt: str, max_tokens: int) -> tuple[float, int, float, float]:
    """The leanest in-process loop: generate + detokenize, stopping like the engine does.

    Returns (seconds to the first token, tokens, time of the first token, time of the last).
    """
    tokens = llama.tokenize(prompt.encode(), add_bos=True, special=True)
    llama.reset()
    start = time.perf_counter()
    first = last = 0.0
    n = 0
    for token in llama.generate(tokens, temp=0.0, top_k=40, top_p=0.95, min_p=0.05, repeat_penalty=1.0):
        if llama_cpp.llama_vocab_is_eog(llama._model.vocab, token):
            break
        llama.detokenize([token])
        last = time.perf_counter()
        first = first or last
        n += 1
        if n >= max_tokens:
            break
    return first - start, n, first, last


def inprocess(model: str, threads: int, runs: int, prompt_lines: int, decode_tokens: int) -> dict[str, float]:
    with model_params_for_this_cpu():  # the same buffers as the engine (see app/engine/backends.py)
        llama = llama_cpp.Llama(model_path=model, n_ctx=4096, n_threads=threads, n_threads_batch=threads, verbose=False)
    prompt_rates, decode_rates = [], []
    for run in range(runs):
        tokens = llama.tokenize(prompt_text(prompt_lines, run).encode(), add_bos=False)
        llama.reset()
        start = time.perf_counter()
        llama.eval(tokens)
        prompt_rates.append(len(tokens) / (time.perf_counter() - start))
        _, n, first, last = _generate(llama, DECODE_PROMPT + f"# {run}\n", decode_tokens)
        decode_rates.append((n - 1) / (last - first))
    short = [_generate(llama, f"x = {run}", 1)[0] for run in range(runs)]
    n_prompt = len(llama.tokenize(prompt_text(prompt_lines, 0).encode(), add_bos=False))
    del llama
    return {
        "prompt_tps": median(prompt_rates),
        "decode_tps": median(decode_rates),
        "short_ttft": median(short),
        "n_prompt": n_prompt,
    }


def stream_cpu_seconds(supervisor: EngineSupervisor) -> tuple[float, float]:
    """CPU seconds so far of the engine's event loop (its main thread, which frames and sends
    the stream) and of this process (the client reading it; the in-process side is idle then).

    On 2 cores both of llama.cpp's threads decode, so this CPU is taken from them."""
    assert supervisor.process is not None
    loop = next(t for t in psutil.Process(supervisor.process.pid).threads() if t.id == supervisor.process.pid)
    mine = psutil.Process().cpu_times()
    return loop.user_time + loop.system_time, mine.user + mine.system


def through_engine(
    model: str, threads: int, runs: int, prompt_lines: int, decode_tokens: int, long_lines: int
) -> dict[str, float]:
    options = LoadOptions(model_path=model, n_ctx=4096, n_threads=threads)
    with EngineSupervisor(options) as supervisor:
        ep = supervisor.start()
        client = OpenAIClient(ep.base_url, ep.api_key)
        greedy = SamplingParams(temperature=0.0, max_tokens=1)

        def first_token_time(prompt: str) -> float:
            start = time.perf_counter()
            for event in client.stream_completion(prompt, None, greedy):
                if event.text or event.stats:
                    return time.perf_counter() - start
            return time.perf_counter() - start

        prompt_rates, decode_rates, short = [], [], []
        stream_cpu_ms: list[list[float]] = []
        for run in range(runs):
            stats = None
            for event in client.stream_completion(prompt_text(prompt_lines, run + 100), None, greedy):
                stats = event.stats or stats
            # Prompt speed as the client sees it: prompt tokens over the time to the first token.
            prompt_rates.append(stats.prompt_tokens / stats.time_to_first_token_s)
            stats = None
            cpu_before = stream_cpu_seconds(supervisor)
            for event in client.stream_completion(
                DECODE_PROMPT + f"# {run}\n", None, SamplingParams(temperature=0.0, max_tokens=decode_tokens)
            ):
                stats = event.stats or stats
            decode_rates.append(stats.tokens_per_s)
            stream_cpu = [
                after - before for after, before in zip(stream_cpu_seconds(supervisor), cpu_before, strict=True)
            ]
            stream_cpu_ms.append([1000 * s / stats.completion_tokens for s in stream_cpu])
        for run in range(runs):
            short.append(first_token_time(f"x = {run}"))

        def cancel_latency(prompt: str, max_tokens: int, cancel_after: float) -> float:
            """From cancel() to the moment the engine's generation loop ended (its own record)."""
            token = CancelToken()
            seen = threading.Event()

            def consume() -> None:
                for event in client.stream_completion(prompt, None, SamplingParams(max_tokens=max_tokens), token):
                    if event.text:
                        seen.set()

            worker = threading.Thread(target=consume)
            worker.start()
            if cancel_after < 0:
                seen.wait(60)
                time.sleep(0.2)  # well into decoding
            else:
                time.sleep(cancel_after)
            cancelled_at = time.time()
            token.cancel()
            worker.join()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                last = client.engine_info().get("last_generation") or {}
                if last.get("finish_reason") == "cancelled" and last.get("ended_at", 0) > cancelled_at:
                    return max(0.0, float(last["ended_at"]) - cancelled_at)
                time.sleep(0.01)
            raise RuntimeError("the engine did not record the cancelled generation")

        cancel_decode = median([cancel_latency(DECODE_PROMPT + f"# c{run}\n", 2000, -1) for run in range(runs)])
        long_prompt = prompt_text(long_lines, 999)
        cancel_prompt = median([cancel_latency(prompt_text(long_lines, 900 + run), 4, 1.0) for run in range(runs)])
        long_tokens = len(long_prompt) // 3
        client.close()
    return {
        "prompt_tps": median(prompt_rates),
        "decode_tps": median(decode_rates),
        "loop_cpu_ms": median([ms[0] for ms in stream_cpu_ms]),
        "client_cpu_ms": median([ms[1] for ms in stream_cpu_ms]),
        "short_ttft": median(short),
        "cancel_decode": cancel_decode,
        "cancel_prompt": cancel_prompt,
        "long_tokens_approx": long_tokens,
    }


def decode_rate_inprocess(model: str, threads: int, decode_tokens: int) -> float:
    with model_params_for_this_cpu():
        llama = llama_cpp.Llama(model_path=model, n_ctx=4096, n_threads=threads, n_threads_batch=threads, verbose=False)
    _, n, first, last = _generate(llama, DECODE_PROMPT, decode_tokens)
    del llama
    return (n - 1) / (last - first)


def default_against_best(model: str, runs: int, decode_tokens: int = 128) -> list[tuple[str, ...]]:
    """Decode tokens/s: the engine with its default threads against in-process
    llama-cpp-python with each thread count from 1 to the logical cores (the best one)."""
    counts = range(1, (os.cpu_count() or 1) + 1)
    rates = {n: median([decode_rate_inprocess(model, n, decode_tokens) for _ in range(runs)]) for n in counts}
    best = max(rates, key=lambda n: rates[n])
    with EngineSupervisor(LoadOptions(model_path=model, n_ctx=4096)) as supervisor:
        ep = supervisor.start()
        client = OpenAIClient(ep.base_url, ep.api_key)
        threads = client.engine_info()["threads"]
        engine_rates = []
        for run in range(runs):
            stats = None
            params = SamplingParams(temperature=0.0, max_tokens=decode_tokens)
            for event in client.stream_completion(DECODE_PROMPT + f"# {run}\n", None, params):
                stats = event.stats or stats
            engine_rates.append(stats.tokens_per_s)
        client.close()
    engine_rate = median(engine_rates)
    rows = [("decode tokens/s", "threads", "figure", "target")]
    rows += [(f"in-process, {n} thread{'s' if n > 1 else ''}", str(n), f"{rate:.2f}", "") for n, rate in rates.items()]
    rows.append((f"engine, default ({threads['source']})", str(threads["decode"]), f"{engine_rate:.2f}", ""))
    rows.append(("engine default / best in-process", "", f"{engine_rate / rates[best]:.3f}", ">= 0.95"))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", help="a .gguf (default: the real test model)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--prompt-lines", type=int, default=40, help="~27 tokens per line")
    parser.add_argument("--decode-tokens", type=int, default=128)
    parser.add_argument("--long-lines", type=int, default=110, help="the long prompt for the cancel test")
    parser.add_argument(
        "--default-threads", action="store_true", help="only: the engine's default threads against the best count"
    )
    args = parser.parse_args()
    model = args.model or test_model_path()
    if args.default_threads:
        print(table(default_against_best(model, args.runs, args.decode_tokens)))
        return 0
    print(f"model: {model}\nthreads: {args.threads}, rounds: {args.runs} (medians; ratios per round)\n")
    # Rounds alternate the two sides, so that a slow spell of this machine (a shared VM's
    # speed drifts by 10% over minutes) lands on both, and the ratio is taken per round.
    rounds = []
    for _ in range(args.runs):
        rounds.append(
            (
                inprocess(model, args.threads, 1, args.prompt_lines, args.decode_tokens),
                through_engine(model, args.threads, 1, args.prompt_lines, args.decode_tokens, args.long_lines),
            )
        )
    base = {key: median([b[key] for b, _ in rounds]) for key in rounds[0][0]}
    eng = {key: median([e[key] for _, e in rounds]) for key in rounds[0][1]}
    prompt_ratio = median([e["prompt_tps"] / b["prompt_tps"] for b, e in rounds])
    decode_ratio = median([e["decode_tps"] / b["decode_tps"] for b, e in rounds])
    overhead_ms = (eng["short_ttft"] - base["short_ttft"]) * 1000
    rows = [
        ("measure", "in-process", "engine+client", "ratio / figure", "target"),
        (
            f"prompt tokens/s ({base['n_prompt']} tok)",
            f"{base['prompt_tps']:.1f}",
            f"{eng['prompt_tps']:.1f}",
            f"{prompt_ratio:.3f}",
            ">= 0.95",
        ),
        (
            f"decode tokens/s ({args.decode_tokens} tok)",
            f"{base['decode_tps']:.2f}",
            f"{eng['decode_tps']:.2f}",
            f"{decode_ratio:.3f}",
            ">= 0.97",
        ),
        (
            "first token, short prompt (ms)",
            f"{base['short_ttft'] * 1000:.1f}",
            f"{eng['short_ttft'] * 1000:.1f}",
            f"+{overhead_ms:.1f} ms",
            "<= 30 ms",
        ),
        (
            "the stream's CPU per decoded token: engine event loop + client (ms)",
            "",
            "",
            f"{eng['loop_cpu_ms']:.2f} + {eng['client_cpu_ms']:.2f}"
            f" ({(eng['loop_cpu_ms'] + eng['client_cpu_ms']) * eng['decode_tps'] / 1000:.1%} of a token's time)",
            "",
        ),
        ("cancel while decoding (ms)", "", "", f"{eng['cancel_decode'] * 1000:.0f}", "<= 100"),
        (
            f"cancel during a ~{eng['long_tokens_approx']:.0f}-token prompt (ms)",
            "",
            "",
            f"{eng['cancel_prompt'] * 1000:.0f}",
            "<= 500",
        ),
    ]
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
