"""Memory accuracy: the engine's real peak RSS against the estimator, CPU only.

Usage: python tests/bench/memory_accuracy.py [MODEL.gguf ...] [--ctx 512 2048 4096 8192] [--threads N]

Default models: the tiny test model (written to a temp folder) and the real small code
model from shared/tools/fetch-test-model. For each model and context the engine is
started through the real supervisor, the context is filled by a prompt of about
n_ctx tokens plus a short generation, and the engine process's peak resident memory
(VmHWM in /proc/PID/status) is compared with `estimate_memory(...).ram_bytes`.
Target: every row within +-10%.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from app.llm.client import OpenAIClient  # noqa: E402
from app.llm.supervisor import EngineSupervisor  # noqa: E402
from app.models.gguf import read_gguf_info  # noqa: E402
from app.models.planning.estimator import estimate_memory  # noqa: E402
from app.models.planning.load_recorder import process_memory  # noqa: E402
from app.models.synthetic.tiny import TinyModelSpec, write_tiny_gguf  # noqa: E402
from app.protocol.options import LoadOptions, SamplingParams  # noqa: E402
from tests.bench._util import fill_prompt, table, test_model_path  # noqa: E402

MIB = 1024 * 1024
GENERATED_TOKENS = 16
TOLERANCE = 0.10


def measure(model: str, n_ctx: int, threads: int) -> tuple[int, int]:
    options = LoadOptions(model_path=model, n_ctx=n_ctx, n_gpu_layers=0, n_threads=threads)
    prompt = fill_prompt(model, n_ctx - GENERATED_TOKENS - 8)
    with EngineSupervisor(options) as engine:
        endpoint = engine.start()
        client = OpenAIClient(endpoint.base_url, endpoint.api_key)
        try:
            for _event in client.stream_completion(prompt, params=SamplingParams(max_tokens=GENERATED_TOKENS)):
                pass
            rss, peak = process_memory(endpoint.pid)
            return peak, rss
        finally:
            client.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", help="GGUF files (default: the tiny model and the real test model)")
    parser.add_argument("--ctx", type=int, nargs="+", default=[512, 2048, 4096, 8192])
    parser.add_argument("--threads", type=int, default=max(1, (os.cpu_count() or 2)))
    args = parser.parse_args()
    models = list(args.models)
    if not models:
        tiny = Path(tempfile.mkdtemp(prefix="dscoder-bench-")) / "tiny-deepseek-v1.gguf"
        write_tiny_gguf(tiny, TinyModelSpec(context_length=max(args.ctx)))
        models = [str(tiny), test_model_path()]

    rows = [("model", "ctx", "estimate MiB", "peak RSS MiB", "RSS now MiB", "estimate/peak", "within 10%")]
    misses = 0
    for model in models:
        info = read_gguf_info(model)
        for n_ctx in args.ctx:
            if info.context_length and n_ctx > info.context_length:
                continue
            est = estimate_memory(info, n_ctx=n_ctx, n_gpu_layers=0)
            hwm, rss = measure(model, n_ctx, args.threads)
            ratio = est.ram_bytes / hwm
            ok = abs(ratio - 1) <= TOLERANCE
            misses += not ok
            rows.append(
                (
                    Path(model).name,
                    str(n_ctx),
                    f"{est.ram_bytes / MIB:.0f}",
                    f"{hwm / MIB:.0f}",
                    f"{rss / MIB:.0f}",
                    f"{ratio:.2f}",
                    "yes" if ok else "NO",
                )
            )
            print(
                f"{Path(model).name} ctx {n_ctx}: estimate {est.ram_bytes / MIB:.0f} MiB, peak {hwm / MIB:.0f} MiB",
                file=sys.stderr,
                flush=True,
            )
    print(table(rows))
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
