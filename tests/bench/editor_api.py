"""An editor's completion through llama-server's /infill (llama.vim's request pattern) against
the window's own completion path, at the same n_predict, side by side.

Usage: python tests/bench/editor_api.py [MODEL.gguf] [--runs N] [--n-predict N]

Two engines load the same model with the same options, one per path, so neither evicts
the other's warm completion context; requests alternate between them, which one goes
first swapping every pair, with half a second between requests. Each request follows a one-character edit at the cursor, with the same
other-file chunks each time (warm):

- editor: llama.vim's body (input_prefix, input_suffix, input_extra = the chunks,
  prompt = the line before the cursor, n_indent, samplers, response_fields), not
  streamed, as llama.vim sends it;
- window: app.completion.fim_window builds the prompt (the same chunks in the repository
  format, then the file), app.completion.fim.complete_middle streams it with the FIM
  stop rules, as the editor's ghost text does.

Latency is from sending to the finished middle. The ratio is editor / window (target <= 1.2).
The load average before and after says how busy the machine was.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import httpx  # noqa: E402

from app.completion.fim import complete_middle  # noqa: E402
from app.completion.fim_window import build_completion_prompt  # noqa: E402
from app.completion.ring import RingChunk, ring_prefix  # noqa: E402
from app.llm.client import OpenAIClient  # noqa: E402
from app.llm.supervisor import EngineSupervisor  # noqa: E402
from app.protocol.options import LoadOptions, SamplingParams  # noqa: E402
from tests.bench._util import table, test_model_path  # noqa: E402

FUNCTION = (
    "def scale_{n}(values: list[float], factor: float = {n}.0) -> list[float]:\n"
    '    """Multiply each value by {n}."""\n'
    "    return [value * factor for value in values]\n\n\n"
)
PAUSE_S = 0.5
CHUNK = "class Store{n}:\n    def __init__(self, path: str) -> None:\n        self.path = path\n        self.rows{n} = []\n\n"


def source(functions: int) -> str:
    head = "".join(FUNCTION.format(n=n) for n in range(functions))
    return head + "def mean(values: list[float]) -> float:\n    total = sum(values)\n    return total / len(val"


def chunks(count: int) -> list[RingChunk]:
    return [RingChunk(f"store_{n}.py", CHUNK.format(n=n) * 6, "python") for n in range(count)]


def editor_request(base: str, key: str, text: str, cursor: int, extra: list[RingChunk], n_predict: int) -> float:
    """llama.vim's FIM request for `text` at `cursor`; its latency in seconds."""
    line_start = text.rfind("\n", 0, cursor) + 1
    line = text[line_start:cursor]
    body = {
        "input_prefix": text[:line_start],
        "input_suffix": text[cursor:] + "\n",
        "input_extra": [{"text": c.text, "filename": c.path, "time": 0} for c in extra],
        "prompt": line,
        "n_predict": n_predict,
        "stop": [],
        "n_indent": len(line) - len(line.lstrip()),
        "top_k": 40,
        "top_p": 0.90,
        "temperature": 0.0,
        "stream": False,
        "samplers": ["top_k", "top_p", "infill"],
        "cache_prompt": True,
        "t_max_prompt_ms": 500,
        "t_max_predict_ms": 1000,
        "response_fields": ["content", "timings/prompt_n", "timings/predicted_n", "truncated", "tokens_cached"],
    }
    started = time.perf_counter()
    reply = httpx.post(f"{base}/infill", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=300)
    reply.raise_for_status()
    return time.perf_counter() - started


def window_request(client: OpenAIClient, text: str, cursor: int, extra: list[RingChunk], n_predict: int) -> float:
    """The window's own completion at `cursor`; its latency in seconds."""
    context = ring_prefix(extra, "stats.py")
    prompt = build_completion_prompt(
        text, cursor, path="stats.py", language="python", repository_prefix=context.text, repository_paths=context.paths
    )
    started = time.perf_counter()
    complete_middle(
        client, prompt.prefix, prompt.suffix, "python", SamplingParams(temperature=0.0, max_tokens=n_predict)
    )
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", nargs="?")
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--n-predict", type=int, default=32)
    parser.add_argument("--functions", type=int, default=10)
    parser.add_argument("--chunks", type=int, default=3)
    args = parser.parse_args()
    model = args.model or test_model_path()
    options = LoadOptions(model_path=model, n_ctx=4096, completion_ctx=4096)
    text, extra = source(args.functions), chunks(args.chunks)
    load_before = os.getloadavg()
    with EngineSupervisor(options) as editor_engine, EngineSupervisor(options) as window_engine:
        editor_ep, window_ep = editor_engine.start(), window_engine.start()
        base = editor_ep.base_url.removesuffix("/v1")
        client = OpenAIClient(window_ep.base_url, window_ep.api_key)
        editor_ms: list[float] = []
        window_ms: list[float] = []
        try:
            for i in range(args.runs + 1):  # the first pair only warms both contexts
                text = text + "u" if i else text
                cursor = len(text)
                # Which goes first swaps every pair, with a pause between: an engine's threads
                # may still spin just after its request, which would slow whichever comes second.
                timed: dict[str, float] = {}
                for path in ("window", "editor") if i % 2 else ("editor", "window"):
                    if path == "editor":
                        timed[path] = editor_request(base, editor_ep.api_key, text, cursor, extra, args.n_predict)
                    else:
                        timed[path] = window_request(client, text, cursor, extra, args.n_predict)
                    time.sleep(PAUSE_S)
                editor, window = timed["editor"], timed["window"]
                if i:
                    editor_ms.append(editor * 1000)
                    window_ms.append(window * 1000)
        finally:
            client.close()
    load_after = os.getloadavg()
    ratio = statistics.median(editor_ms) / statistics.median(window_ms)
    rows = [("path", "p50 ms", "min ms", "max ms")]
    for name, values in (("editor: /infill (llama.vim)", editor_ms), ("window: its own completion", window_ms)):
        rows.append((name, f"{statistics.median(values):.1f}", f"{min(values):.1f}", f"{max(values):.1f}"))
    print(f"model: {os.path.basename(model)}; n_predict {args.n_predict}; {args.runs} alternated pairs, warm")
    print(table(rows))
    print(f"ratio editor / window (p50): {ratio:.2f}x (target <= 1.2x)")
    print(f"load average before / after: {load_before[0]:.2f} / {load_after[0]:.2f} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
