"""Soak: mixed traffic from several clients against one engine, with its RSS sampled.

Usage: python tests/bench/soak.py [MODEL.gguf] [--minutes 10] [--clients 3] [--sample-s 10]
(also `python tests/bench/cache.py --only soak --soak-minutes 30`; the 2-hour run by hand:
`--minutes 120`).

Each client loops over: a chat cancelled at a random point, a fill-in-the-middle
request, a short chat, and a switch to another of four conversations. A request that
has not ended within HUNG_S counts as hung. The engine's RSS less what its prompt-state
cache holds (/dscoder/info's memory section; computed from the RSS and the cache's bytes
for an engine that does not report it) is sampled every --sample-s seconds and printed
per minute: the cache grows by design up to its budget, the rest should level off.
Targets: the RSS less the cache grows at most 2% over the second half of the run, and
at most 1% over the last hour of a run of two hours or more. After the warm-up (the
first sixth of the run, at most 5 minutes) the whole RSS must also stay within 5% of
its first warm sample plus the prompt-cache budget.
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

from app.llm.client import OpenAIClient  # noqa: E402
from app.llm.stream import CancelToken  # noqa: E402
from app.llm.supervisor import EngineSupervisor  # noqa: E402
from app.protocol.options import LoadOptions, SamplingParams  # noqa: E402
from app.utils.errors import DscoderError  # noqa: E402
from tests.bench._util import table, test_model_path  # noqa: E402

HUNG_S = 120.0
SECOND_HALF_GROWTH = 0.02  # target: RSS less the cache, over the second half of the run
LAST_HOUR_GROWTH = 0.01  # target: the same over the last hour of a 2-hour run
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
    less_cache_mib: list[float] = field(default_factory=list)  # RSS less the cache, at each RSS sample
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
            _sample(result, process, probe, time.monotonic() - start)
            time.sleep(sample_s)
        _sample(result, process, probe, time.monotonic() - start)
        for worker in workers:
            worker.join(HUNG_S)
            if worker.is_alive():
                result.hung += 1
        probe.close()
    return result, budget


def _sample(result: SoakResult, process: psutil.Process, probe: OpenAIClient, seconds: float) -> None:
    """One sample: the RSS, the cache's RAM, and the RSS less the cache (as the engine reports
    it when it does; the two separate readings otherwise)."""
    info = probe.engine_info()
    rss = process.memory_info().rss
    cache = int(info["prompt_cache"]["bytes"])
    less = (info.get("memory") or {}).get("rss_less_prompt_cache_bytes")
    result.rss_mib.append((seconds, rss / 2**20))
    result.cache_mib.append(cache / 2**20)
    result.less_cache_mib.append((int(less) if isinstance(less, int) else rss - cache) / 2**20)


def _at(result: SoakResult, seconds: float) -> float:
    """RSS less the cache at the sample nearest `seconds` into the run."""
    nearest = min(range(len(result.rss_mib)), key=lambda i: abs(result.rss_mib[i][0] - seconds))
    return result.less_cache_mib[nearest]


def growth(result: SoakResult, from_s: float, to_s: float) -> float:
    """Relative growth of the RSS less the cache between two moments of the run."""
    start = _at(result, from_s)
    return _at(result, to_s) / start - 1 if start > 0 else 0.0


def curve(result: SoakResult) -> list[tuple[str, ...]]:
    """RSS less the cache, per minute: the figure that must level off."""
    end = result.rss_mib[-1][0]
    rows: list[tuple[str, ...]] = [("minute", "RSS MiB", "cache MiB", "RSS less cache MiB")]
    for minute in range(int(end // 60) + 1):
        nearest = min(range(len(result.rss_mib)), key=lambda i: abs(result.rss_mib[i][0] - minute * 60))
        rss = result.rss_mib[nearest][1]
        rows.append(
            (str(minute), f"{rss:.0f}", f"{result.cache_mib[nearest]:.0f}", f"{result.less_cache_mib[nearest]:.0f}")
        )
    return rows


def _less_cache(result: SoakResult, warm_after: float) -> list[float]:
    """RSS less the prompt-state cache, from the warm phase on."""
    pairs = [(t, less) for (t, _rss), less in zip(result.rss_mib, result.less_cache_mib, strict=True)]
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
        *_growth_rows(result),
    ]


def _growth_rows(result: SoakResult) -> list[tuple[str, ...]]:
    end = result.rss_mib[-1][0]
    second_half = growth(result, end / 2, end)
    rows = [("growth over the second half, less the cache", f"{second_half:+.1%}", f"<= {SECOND_HALF_GROWTH:.0%}")]
    if end >= 2 * 3600 - 60:
        last_hour = growth(result, end - 3600, end)
        rows.append(("growth in the last hour, less the cache", f"{last_hour:+.1%}", f"<= {LAST_HOUR_GROWTH:.0%}"))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?")
    parser.add_argument("--minutes", type=float, default=10.0, help="120 for the 2-hour run by hand")
    parser.add_argument("--clients", type=int, default=3)
    parser.add_argument("--sample-s", type=float, default=10.0)
    args = parser.parse_args()
    result, budget = run_soak(args.model or test_model_path(), args.minutes, args.clients, args.sample_s)
    print(table(curve(result)))
    print()
    print(table(soak_rows(result, budget, args.minutes)))
    for error in result.errors[:10]:
        print("error:", error)
    return 0 if not result.errors and not result.hung else 1


if __name__ == "__main__":
    sys.exit(main())
