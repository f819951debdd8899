"""What a decoded token pays per position of context: synthetic models that differ in one thing at a time.

Usage: python tests/bench/decode_attention.py [--rounds 2] [--tokens 8] [--flash] [--only NAME ...]

Each model (Q8_0 layers, a 512-token vocabulary, a thin FFN) is loaded in this process with the engine's thread plan and flash attention off
(the default) or on (--flash). A round fills its context step by step and decodes
--tokens single tokens after 2048, 1024, 512 and 8 cached tokens (cut back in turn). Printed per model:
milliseconds per token at each past (fastest token of each position over the rounds),
the slope in microseconds per 1,000 positions (least squares), and that slope divided by
n_layer x n_head (per query-head row), by n_layer x n_head x head_dim (per FLOP of the
QK and AV products: 4 operations per element) and by the KV bytes a position adds.
Rows differ in one thing: query heads, head width, KV heads, layers.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from app.engine.speed_timing import decode_after, tokens  # noqa: E402
from app.models.synthetic import bench  # noqa: E402
from app.models.synthetic.bench import BenchShape, QuantType  # noqa: E402
from tests.bench._util import table  # noqa: E402

Q = QuantType
PASTS = (8, 512, 1024, 2048)


def _shape(n_head: int, head_dim: int, n_head_kv: int) -> BenchShape:
    """Heads of head_dim, a thin FFN and a byte vocabulary: the weights stream in a few ms, and
    what a long past adds to a token stands out."""
    return BenchShape(
        n_embd=n_head * head_dim, n_ff=256, n_head=n_head, n_head_kv=n_head_kv, n_vocab=512, output_quant=Q.Q8_0
    )


# name: (shape, layers); each differs from the first in one thing
VARIANTS: dict[str, tuple[BenchShape, int]] = {
    "14x64 kv2 8L (qwen 0.5B heads)": (_shape(14, 64, 2), 8),
    "28x64 kv2 8L (2x query heads)": (_shape(28, 64, 2), 8),
    "14x128 kv2 8L (2x head width)": (_shape(14, 128, 2), 8),
    "14x64 kv14 8L (7x KV heads)": (_shape(14, 64, 14), 8),
    "14x64 kv2 16L (2x layers)": (_shape(14, 64, 2), 16),
    "16x128 kv16 8L (ds 1.3B heads)": (_shape(16, 128, 16), 8),
    "2x64 kv2 40L (benchmark thin)": (_shape(2, 64, 2), 40),
    "4x32 kv4 40L (32-wide heads)": (_shape(4, 32, 4), 40),
}


def _load(path: Path, flash: bool) -> Any:
    import llama_cpp

    from app.engine.backends import ensure_backends_loaded, model_params_for_this_cpu
    from app.engine.threads import plan_threads

    ensure_backends_loaded()
    plan = plan_threads(0, 0)
    with model_params_for_this_cpu():
        return llama_cpp.Llama(
            model_path=str(path),
            n_ctx=max(PASTS) + 256,
            n_batch=512,
            n_ubatch=512,
            n_threads=plan.decode,
            n_threads_batch=plan.batch,
            flash_attn=flash,
            verbose=False,
        )


def _round(llm: Any, n_tokens: int) -> dict[int, list[float]]:
    """Seconds of single tokens decoded after each past in PASTS: the context is filled to the
    longest once, then cut back past by past (cutting is free; filling is a prompt's time)."""
    llm.reset()
    llm.eval(tokens(max(PASTS)))
    return {past: decode_after(llm, past, n_tokens) for past in sorted(PASTS, reverse=True)}


def _slope(xs: list[float], ys: list[float]) -> float:
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sum((x - mean_x) ** 2 for x in xs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--tokens", type=int, default=24, help="tokens decoded after each past, per round")
    parser.add_argument("--flash", action="store_true", help="flash attention on")
    parser.add_argument("--only", nargs="*", help="variant names (substrings)")
    args = parser.parse_args()
    print(f"flash attention {'on' if args.flash else 'off'}; load average before: {os.getloadavg()}")
    rows = [("model", *(f"ms@{p}" for p in PASTS), "µs/1K pos", "ns/pos/(L*H)", "ps/pos/FLOP", "ns/pos/KV-KB")]
    with tempfile.TemporaryDirectory(prefix="decode-attention-") as folder:
        for index, (name, (shape, layers)) in enumerate(VARIANTS.items()):
            if args.only and not any(part in name for part in args.only):
                continue
            model = bench.write_bench_gguf(Path(folder) / f"m{index}.gguf", quant=Q.Q8_0, n_layer=layers, shape=shape)
            llm = _load(model.path, args.flash)
            best: dict[int, float] = {}
            for _round_index in range(args.rounds):
                for past, taken in _round(llm, args.tokens).items():
                    best[past] = min([best.get(past, float("inf")), *taken])
            llm.close()
            model.path.unlink()
            slope = _slope([float(p) for p in PASTS], [best[p] for p in PASTS])  # seconds per position
            head_dim = shape.n_embd // shape.n_head
            rows_per_pos = layers * shape.n_head
            flops_per_pos = 4.0 * rows_per_pos * head_dim
            kv_kb = 2 * layers * shape.n_head_kv * head_dim * 2 / 1000
            rows.append(
                (
                    name,
                    *(f"{best[p] * 1000:.2f}" for p in PASTS),
                    f"{slope * 1e9:.0f}",
                    f"{slope / rows_per_pos * 1e9:.2f}",
                    f"{slope / flops_per_pos * 1e12:.2f}",
                    f"{slope / kv_kb * 1e9:.2f}",
                )
            )
            print(rows[-1], flush=True)
    print(table(rows))
    print(f"load average after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
