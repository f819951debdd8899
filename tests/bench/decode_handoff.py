"""What handing each token's llama_decode to the engine's decode thread costs (issue 20).

Usage: python tests/bench/decode_handoff.py [MODEL.gguf] [--pairs 3] [--tokens 128] [--threads 2]

The engine runs every `llama_decode` on one long-lived thread (app/engine/decode_thread.py),
so each streamed token is handed to that thread and its result handed back. This measures
that in the engine's own context code (`KvSlot`), single tokens after a 100-token prompt,
with `KvSlot.decode` going through a DecodeThread or called directly on the caller's thread.

Each side runs in a process of its own, and the pairs alternate (thread, direct, thread,
...): in one process the two sides would give libgomp two worker teams that outnumber the
cores, and the second side would run slower whichever it is. Prints each pair's ratio and
their median.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import TypeVar

THIS_TREE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, THIS_TREE)

from tests.bench._util import median, table, test_model_path  # noqa: E402

T = TypeVar("T")
PROMPT = "def handler(request):\n    return process(request.data, retries=3)\n\n" * 12
ROUNDS_PER_SIDE = 6  # decode runs inside each process; their median is the process's figure


class OnTheCallersThread:
    """The `decoder` a KvSlot uses, without the hand-off: the call runs where it was made."""

    def run(self, fn: Callable[[], T]) -> T:
        return fn()


def one_side(model: str, side: str, tokens: int, threads: int) -> float:
    """Median tokens/s of single-token decodes in this process, through `side`'s decoder."""
    import llama_cpp

    from app.engine import llama_private as _internals
    from app.engine.backends import model_params_for_this_cpu
    from app.engine.decode_thread import DecodeThread
    from app.engine.slots import KvSlot, SlotParams

    with model_params_for_this_cpu():
        loaded = _internals.LlamaModel(path_model=model, params=llama_cpp.llama_model_default_params(), verbose=False)
    decode_thread = DecodeThread(name="bench-decode")
    params = SlotParams(n_ctx=2048, n_batch=512, n_ubatch=512, n_threads=threads, n_threads_batch=threads)
    slot = KvSlot("chat", loaded, params, decode_thread)
    if side == "direct":
        slot.decoder = OnTheCallersThread()  # type: ignore[assignment]
    prompt = [int(t) for t in loaded.tokenize(PROMPT.encode(), False, False)][:100]
    rates = []
    try:
        for _ in range(ROUNDS_PER_SIDE):
            llama_cpp.llama_memory_clear(slot.memory, True)
            slot.tokens = []
            slot.decode(prompt)
            began = time.perf_counter()
            for i in range(tokens):
                slot.decode([prompt[i % len(prompt)]])
            rates.append(tokens / (time.perf_counter() - began))
    finally:
        slot.close()
        decode_thread.stop(5)
    return statistics.median(rates)


def run_side(model: str, side: str, tokens: int, threads: int) -> float:
    command = [sys.executable, __file__, model, "--side", side, "--tokens", str(tokens), "--threads", str(threads)]
    done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=THIS_TREE)
    return float(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", help="a .gguf (default: the real test model)")
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--side", choices=("thread", "direct"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    model = args.model or test_model_path()
    if args.side:
        print(f"{one_side(model, args.side, args.tokens, args.threads):.3f}")
        return 0
    rows = [("pair", "through the decode thread (tok/s)", "on the caller's thread (tok/s)", "ratio")]
    ratios = []
    for pair in range(1, args.pairs + 1):
        through = run_side(model, "thread", args.tokens, args.threads)
        direct = run_side(model, "direct", args.tokens, args.threads)
        ratios.append(through / direct)
        rows.append((str(pair), f"{through:.2f}", f"{direct:.2f}", f"{ratios[-1]:.3f}"))
    rows.append(("median", "", "", f"{median(ratios):.3f}"))
    print(
        f"model: {model}\nthreads: {args.threads}, {args.tokens} single-token decodes x {ROUNDS_PER_SIDE} per process\n"
    )
    print(table(rows))
    print(f"machine: {os.cpu_count()} logical CPUs, 1-min load average at the end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
