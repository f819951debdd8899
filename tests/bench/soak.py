"""Soak: mixed traffic from several clients against one engine, with its RSS sampled.

Usage: python tests/bench/soak.py [MODEL.gguf] [--minutes 1] [--clients 3] [--sample-s 10]
(also `python tests/bench/cache.py --only soak --soak-minutes 30`).

Each client loops over: a chat cancelled at a random point, a fill-in-the-middle
request, a short chat, and a switch to another of four conversations. A request that
has not ended within HUNG_S counts as hung. After the warm-up (the first sixth of the
run, at most 5 minutes) the engine's RSS must stay within 5% of its first warm sample
plus the prompt-cache budget.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import threading
import time
from dataclasses import dataclass, field

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import psutil  # noqa: E402

from app.llm.client import OpenAIClient
from app.llm.stream import CancelToken
from app.llm.supervisor import EngineSupervisor  # noqa: E402
from app.protocol.options import LoadOptions, SamplingParams  # noqa: E402
from app.utils.errors import DscoderError  # noqa: E402
from tests.bench._util import table, test_model_path  # noqa: E402

HUNG_S = 120.0
TOPICS = ("parser", "cache", "server", "widgets")


def topic_code(topic: str, n: int = 30) -> str:
    return "".join(
        f"def {topic}_{i}(items, limit={i}):\n    return [x for x in items if x < limit]\n" for i in range(n)
    )


@dataclass
class SoakResult:
    requests: int = 0
    errors: list[str] = field(default_factory=list)
    hung: int = 0
    rss_mib: list[tuple[float, float]] = field(default_factory=list)  # (seconds since start, MiB)
    cache_mib: list[float] = field(default_factory=list)  # prompt-state cache held, at each RSS sample
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, error: str | None = None) -> None:
        with self.lock:
            self.requests += 1
            if error:
                self.errors.append(error)


def _one_request(client: OpenAIClient, rng: random.Random, histories: dict[str, list[dict[str, str]]]) -> None:
    kind = rng.choice(("cancelled chat", "fim", "short chat", "switch"))
    if kind == "fim":
        code = topic_code(rng.choice(TOPICS))
        cut = rng.randrange(len(code) // 3, len(code))
        for _ in client.stream_completion(code[:cut], code[cut:], SamplingParams(max_tokens=24)):
            pass
        return
    topic = rng.choice(TOPICS) if kind == "switch" else TOPICS[0]
    history = histories.setdefault(topic, [{"role": "user", "content": f"Explain:\n{topic_code(topic)}"}])
    token = CancelToken()
    if kind == "cancelled chat":
        threading.Timer(rng.uniform(0.05, 3.0), token.cancel).start()
    answer = ""
    for event in client.stream_chat(history, SamplingParams(max_tokens=48 if kind != "short chat" else 8), token):
        answer += event.text
    history += [{"role": "assistant", "content": answer or "ok"}, {"role": "user", "content": "And then?"}]
    del history[1:-6]  # keep the first question and the last turns, like a long conversation


def _client_loop(base_url: str, api_key: str, seed: int, deadline: float, result: SoakResult) -> None:
    rng = random.Random(seed)
    client = OpenAIClient(base_url, api_key, read_timeout=HUNG_S)
    histories: dict[str, list[dict[str, str]]] = {}
    while time.monotonic() < deadline:
        started = time.monotonic()
        try:
            _one_request(client, rng, histories)
            result.count()
        except DscoderError as exc:
            if time.monotonic() - started >= HUNG_S:
                with result.lock:
                    result.hung += 1
            result.count(str(exc))
    client.close()


def run_soak(model: str, minutes: float, clients: int = 3, sample_s: float = 10.0) -> tuple[SoakResult, int]:
    """Mixed traffic for `minutes`; returns the result and the prompt-cache budget in bytes."""
    result = SoakResult()
    with EngineSupervisor(LoadOptions(model_path=model, n_ctx=4096)) as supervisor:
        ep = supervisor.start()
        process = psutil.Process(ep.pid)
        probe = OpenAIClient(ep.base_url, ep.api_key)
        budget = int(probe.engine_info()["prompt_cache"]["budget_bytes"])
        start = time.monotonic()
        deadline = start + minutes * 60
        workers = [
            threading.Thread(target=_client_loop, args=(ep.base_url, ep.api_key, n, deadline, result))
            for n in range(clients)
        ]
        for worker in workers:
            worker.start()
        while any(w.is_alive() for w in workers):
            result.rss_mib.append((time.monotonic() - start, process.memory_info().rss / 2**20))
            result.cache_mib.append(int(probe.engine_info()["prompt_cache"]["bytes"]) / 2**20)
            time.sleep(sample_s)
        for worker in workers:
            worker.join(HUNG_S)
            if worker.is_alive():
                result.hung += 1
        probe.close()
    return result, budget


def _less_cache(result: SoakResult, warm_after: float) -> list[float]:
    """RSS minus what the prompt-state cache held at the same sample, from the warm phase on."""
    pairs = [(t, rss - cache) for (t, rss), cache in zip(result.rss_mib, result.cache_mib, strict=True)]
    return [mib for t, mib in pairs if t >= warm_after] or [mib for _, mib in pairs]


def soak_rows(result: SoakResult, budget: int, minutes: float) -> list[tuple[str, ...]]:
    warm_after = min(5 * 60.0, minutes * 60 / 6)
    warm = [mib for t, mib in result.rss_mib if t >= warm_after] or [mib for _, mib in result.rss_mib]
    base = warm[0] if warm else 0.0
    limit = base * 1.05 + budget / 2**20
    return [
        ("measure", "figure", "target"),
        ("requests", f"{result.requests}", ""),
        ("errors", f"{len(result.errors)}", "0"),
        ("hung requests", f"{result.hung}", "0"),
        ("RSS at start of warm phase (MiB)", f"{base:.0f}", ""),
        ("RSS max after warm-up (MiB)", f"{max(warm, default=0):.0f}", f"<= {limit:.0f} (5% + cache budget)"),
        ("RSS first / last sample (MiB)", f"{result.rss_mib[0][1]:.0f} / {result.rss_mib[-1][1]:.0f}", ""),
        ("prompt cache held, first / last sample (MiB)", f"{result.cache_mib[0]:.0f} / {result.cache_mib[-1]:.0f}", ""),
        (
            "RSS less the cache held, first warm / last (MiB)",
            f"{_less_cache(result, warm_after)[0]:.0f} / {_less_cache(result, warm_after)[-1]:.0f}",
            "",
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?")
    parser.add_argument("--minutes", type=float, default=1.0, help="30 for the full soak")
    parser.add_argument("--clients", type=int, default=3)
    parser.add_argument("--sample-s", type=float, default=10.0)
    args = parser.parse_args()
    result, budget = run_soak(args.model or test_model_path(), args.minutes, args.clients, args.sample_s)
    print(table(soak_rows(result, budget, args.minutes)))
    for error in result.errors[:10]:
        print("error:", error)
    return 0 if not result.errors and not result.hung else 1


if __name__ == "__main__":
    sys.exit(main())
