"""Plain decoding before and after the requests that decode on other threads (issue 20).

Usage: python tests/bench/decode_after_mixed_requests.py [MODEL.gguf] [--runs 3] [--tokens 128]
                                                        [--against SOURCE_TREE]

Each run starts an engine with default settings, measures a streamed chat's plain decode
("speculative": false) once, then sends a non-streamed chat, a non-streamed
fill-in-the-middle request and an idle prefill, and measures the same streamed chat
again. llama.cpp's CPU backend (libgomp) keeps a worker team for every thread that
decoded while that thread lives; where those requests decoded on threads of their own
(asyncio's executor, the idle-work thread), the teams outnumbered the cores and the
second figure fell (app/engine/decode_thread.py). Prints, per engine, the median of
`runs` of both figures, their ratio and the engine's OS threads at the end.

`--against` names another checkout's source tree (e.g. `git archive main | tar -x -C
DIR`): its engine runs in alternation with this tree's (this, other, this, other, ...),
so a change in the machine's load hits both, and the table adds the ratio between them.
Also prints the median cost of one hand-off to the decode thread, against a token's time.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil

THIS_TREE = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(THIS_TREE))

from app.engine.decode_thread import DecodeThread  # noqa: E402
from app.llm.client import OpenAIClient  # noqa: E402
from app.llm.supervisor import EngineSupervisor  # noqa: E402
from app.protocol.options import LoadOptions  # noqa: E402
from tests.bench._util import median, table, test_model_path  # noqa: E402
from tests.bench.cache import opening  # noqa: E402
from tests.bench.drafting import FREE_FORM, decode_rate  # noqa: E402

HANDOFFS = 20_000


@contextlib.contextmanager
def engine_from(tree: Path, options: LoadOptions) -> Iterator[EngineSupervisor]:
    """An engine whose `app` package comes from `tree` (`python -m` puts the working folder first)."""
    before = os.getcwd(), os.environ.get("PYTHONPATH")
    os.chdir(tree)
    os.environ["PYTHONPATH"] = str(tree)
    try:
        with EngineSupervisor(options) as supervisor:
            supervisor.start()
            yield supervisor
    finally:
        os.chdir(before[0])
        if before[1] is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = before[1]


def mixed_requests(supervisor: EngineSupervisor, client: OpenAIClient) -> None:
    """What decodes outside a streamed request: a non-streamed chat and FIM, an idle prefill."""
    assert supervisor.endpoint is not None
    root = supervisor.endpoint.base_url.removesuffix("/v1")
    headers = {"Authorization": f"Bearer {supervisor.endpoint.api_key}"}
    chat = {"messages": [{"role": "user", "content": "Name three sorting algorithms."}], "max_tokens": 32}
    fim = {"prompt": "def mean(values):\n    ", "suffix": "\n\nprint(mean([1, 2]))\n", "max_tokens": 16}
    for path, body in (("/v1/chat/completions", chat), ("/v1/completions", fim)):
        httpx.post(f"{root}{path}", json={**body, "stream": False}, headers=headers, timeout=120).raise_for_status()
    done = client.engine_info()["prefill"]["completed"]
    client.prefill_chat([{"role": "user", "content": opening("mixed")}])
    deadline = time.monotonic() + 120
    while client.engine_info()["prefill"]["completed"] <= done:
        if time.monotonic() > deadline:
            raise RuntimeError("idle prefill did not finish within 120 s")
        time.sleep(0.05)


def one_run(tree: Path, model: str, tokens: int) -> tuple[float, float, int]:
    """(plain decode tokens/s before the mixed requests, after them, the engine's OS threads)."""
    with engine_from(tree, LoadOptions(model_path=model, n_ctx=4096)) as supervisor:
        assert supervisor.endpoint is not None and supervisor.process is not None
        client = OpenAIClient(supervisor.endpoint.base_url, supervisor.endpoint.api_key)
        decode_rate(client, "Hello", 4, False)  # warm up
        before, _ = decode_rate(client, FREE_FORM, tokens, False)
        mixed_requests(supervisor, client)
        after, _ = decode_rate(client, FREE_FORM, tokens, False)
        threads = psutil.Process(supervisor.process.pid).num_threads()
        client.close()
    return before, after, threads


def nothing() -> None:
    """The call whose hand-off is timed."""


def handoff_us() -> float:
    """Median microseconds one call handed to a DecodeThread adds to a direct call."""
    decoder = DecodeThread(name="bench-decode")
    try:
        samples = []
        for _ in range(HANDOFFS):
            began = time.perf_counter()
            decoder.run(nothing)
            samples.append(time.perf_counter() - began)
        direct = []
        for _ in range(HANDOFFS):
            began = time.perf_counter()
            nothing()
            direct.append(time.perf_counter() - began)
        return (statistics.median(samples) - statistics.median(direct)) * 1e6
    finally:
        decoder.stop(5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", help="a .gguf (default: the real test model)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=128, help="tokens of each measured answer")
    parser.add_argument("--against", type=Path, help="another source tree whose engine runs in alternation")
    args = parser.parse_args()
    model = args.model or test_model_path()
    trees = [THIS_TREE, *([args.against.resolve()] if args.against else [])]
    results: dict[Path, list[tuple[float, float, int]]] = {tree: [] for tree in trees}
    loads = []
    for _ in range(args.runs):
        for tree in trees:
            before, after, threads = one_run(tree, model, args.tokens)
            results[tree].append((before, after, threads))
            loads.append(os.getloadavg()[0])
            print(f"{tree}: {before:.1f} -> {after:.1f} tok/s, {threads} threads, load {loads[-1]:.1f}", flush=True)
    handoff = handoff_us()
    rows = [("engine", "before tok/s", "after mixed tok/s", "after / before", "OS threads")]
    after_of = {}
    for tree in trees:
        before = median([r[0] for r in results[tree]])
        after_of[tree] = after = median([r[1] for r in results[tree]])
        threads = max(r[2] for r in results[tree])
        rows.append((str(tree), f"{before:.1f}", f"{after:.1f}", f"{after / before:.2f}x", str(threads)))
    print(table(rows))
    if args.against:
        print(f"\nafter mixed requests, this tree / the other: {after_of[THIS_TREE] / after_of[trees[1]]:.2f}x")
    token_ms = 1000 / after_of[THIS_TREE]
    print(
        f"hand-off to the decode thread: {handoff:.1f} us median ({handoff / 10 / token_ms:.2f}% of a {token_ms:.1f} ms token)"
    )
    print(
        f"machine: {os.cpu_count()} logical CPUs, 1-min load average while measuring {min(loads):.1f}..{max(loads):.1f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
