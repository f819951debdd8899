"""Where a decoded token's time goes on this CPU: synthetic models that differ in one thing at a time.

Usage: python tests/bench/decode_attribution.py [--budget-s 60] [--model REAL.gguf] [--only NAME ...]

Each model is loaded in this process with the engine's thread plan and decodes single
tokens (llama.cpp's eval, logits copied as the engine gets them); the models take turns
token by token, so a small one is not read from the CPU's last-level cache. Printed per
model: milliseconds per token (mean of the faster half), the weight bytes a token streams,
and the GB/s that makes. Differences between rows attribute the time: layers (40 against 8
thin layers, 24 against 12: per-layer cost), vocabulary (152K or 64K against 512 rows: the output matrix and the logits),
weight type (Q5_0 against Q8_0 against Q4_0 at the same shape).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from app.engine.machine_speed_child import _load  # noqa: E402
from app.engine.speed_timing import fastest_half, interleaved_decode_seconds  # noqa: E402
from app.models.synthetic import bench  # noqa: E402
from app.models.synthetic.bench import BenchModel, BenchShape, QuantType  # noqa: E402
from tests.bench._util import table  # noqa: E402

Q = QuantType
QWEN = BenchShape(n_embd=896, n_ff=4864, n_head=14, n_head_kv=2, n_vocab=151936, output_quant=Q.Q8_0)
QWEN_SMALL_VOCAB = dataclasses.replace(QWEN, n_vocab=512)

# name: (shape, layers' type, layers); each differs from another row in one thing
VARIANTS: dict[str, tuple[BenchShape, QuantType, int]] = {
    "thin Q8_0 8L 512": (bench.THIN_SHAPE, Q.Q8_0, 8),
    "thin Q8_0 40L 512": (bench.THIN_SHAPE, Q.Q8_0, 40),
    "thin Q8_0 8L 64K": (bench.THIN_BIG_VOCAB_SHAPE, Q.Q8_0, 8),
    "qwen-shape Q5_0 24L 152K": (QWEN, Q.Q5_0, 24),
    "qwen-shape Q5_0 12L 152K": (QWEN, Q.Q5_0, 12),
    **{f"qwen-shape {quant.name} 24L 512": (QWEN_SMALL_VOCAB, quant, 24) for quant in (Q.Q5_0, Q.Q8_0, Q.Q4_0)},
    "ds1.3b Q4_K 24L 32K": (bench.DEEPSEEK_1P3B_SHAPE, Q.Q4_K, 24),
    **{f"ds1.3b Q4_K {layers}L 512": (bench.DEFAULT_SHAPE, Q.Q4_K, layers) for layers in (12, 24)},
    "ds1.3b Q5_0 24L 512": (bench.DEFAULT_SHAPE, Q.Q5_0, 24),
    "ds1.3b Q8_0 12L 512": (bench.DEFAULT_SHAPE, Q.Q8_0, 12),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget-s", type=float, default=60.0, help="seconds of decoding, all models together")
    parser.add_argument("--model", help="a real GGUF to time beside them")
    parser.add_argument("--only", nargs="*", help="variant names (substrings)")
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="attribution-") as folder:
        models: dict[str, BenchModel] = {}
        llms: dict[str, Any] = {}
        for index, (name, (shape, quant, layers)) in enumerate(VARIANTS.items()):
            if args.only and not any(part in name for part in args.only):
                continue
            models[name] = bench.write_bench_gguf(
                Path(folder) / f"m{index}.gguf", quant=quant, n_layer=layers, shape=shape
            )
            llms[name] = _load(models[name], None, 0)
        if args.model:
            import llama_cpp

            llms["real model"] = llama_cpp.Llama(args.model, n_ctx=512, n_threads=2, n_threads_batch=2, verbose=False)
        seconds = interleaved_decode_seconds(llms, args.budget_s)
        rows = [("model", "ms/token", "MB streamed", "GB/s", "output MB")]
        for name, taken in seconds.items():
            ms = fastest_half(taken) * 1000
            model = models.get(name)
            streamed = model.streamed_bytes_per_token / 1e6 if model else float("nan")
            output = model.output_bytes / 1e6 if model else float("nan")
            rows.append((name, f"{ms:.2f}", f"{streamed:.0f}", f"{streamed / ms:.1f}", f"{output:.0f}"))
        for llm in llms.values():
            llm.close()
    print(table(rows))
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
