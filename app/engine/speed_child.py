"""The machine-speed benchmark child: `python -m app.engine.speed_child` (or `dscoder probe
--speed-child` in a frozen build), started by `app.hardware.speed.measure_machine_speed`.

It writes the synthetic benchmark model (app/models/synthetic/bench.py), loads it with
llama.cpp the way the engine loads a model, and measures on the CPU, then on each GPU
it was asked to: decode (one token at a time, so every token streams the weights:
bytes per second) and prompt processing (a batch of tokens: floating-point operations
per second). It prints progress lines and one result line on stdout:

    DSCODER_SPEED_PROGRESS {"fraction": 0.4, "step": "decoding on the CPU"}
    DSCODER_SPEED_RESULT {"cpu": {...}, "gpus": [...], "elapsed_s": 6.1}

llama.cpp runs here, never in the GUI process; a crash or a hang costs only this child.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from app.hardware.speed import DEFAULT_WEIGHTS_BYTES, FAILED_MARK, PROGRESS_MARK, RESULT_MARK, attention_flops
from app.models.synthetic.bench import N_EMBD, BenchModel, write_bench_gguf

PROMPT_TOKENS = 128  # one batch: large enough for the matrix kernels llama.cpp uses on prompts
WARMUP_TOKENS = 8
MIN_DECODE_TOKENS = 8
MAX_DECODE_TOKENS = 256
MAX_PROMPT_BATCHES = 16
FIRST_TOKEN = 3  # after <unk>, <s>, </s>: ordinary tokens


def _announce(mark: str, payload: dict[str, Any]) -> None:
    sys.stdout.write(f"{mark} {json.dumps(payload)}\n")
    sys.stdout.flush()


def _tokens(count: int, start: int = 0) -> list[int]:
    return [FIRST_TOKEN + (start + i) % 250 for i in range(count)]


def _decode_speed(llm: Any, budget_s: float) -> float:
    """Tokens per second, one token per llama_decode, right after a short prompt."""
    llm.reset()
    llm.eval(_tokens(WARMUP_TOKENS))
    count, started = 0, time.perf_counter()
    while count < MAX_DECODE_TOKENS:
        llm.eval(_tokens(1, count))
        count += 1
        if count >= MIN_DECODE_TOKENS and time.perf_counter() - started >= budget_s:
            break
    return count / (time.perf_counter() - started)


def _prompt_speed(llm: Any, budget_s: float) -> float:
    """Prompt tokens per second: a fresh batch of PROMPT_TOKENS at a time."""
    batches, elapsed = 0, 0.0
    while batches < MAX_PROMPT_BATCHES and (batches == 0 or elapsed < budget_s):
        llm.reset()
        started = time.perf_counter()
        llm.eval(_tokens(PROMPT_TOKENS, batches))
        elapsed += time.perf_counter() - started
        batches += 1
    return batches * PROMPT_TOKENS / elapsed


def _measure(model: BenchModel, llm: Any, budget_s: float) -> dict[str, float]:
    llm.eval(_tokens(WARMUP_TOKENS))  # touches every weight page once: the load is not measured
    decode = _decode_speed(llm, budget_s * 0.4)
    prompt = _prompt_speed(llm, budget_s * 0.6)
    flops_per_token = (
        2 * model.matmul_params_per_token + attention_flops(model.n_layer, N_EMBD, PROMPT_TOKENS) / PROMPT_TOKENS
    )
    return {
        "decode_tokens_per_s": decode,
        "prompt_tokens_per_s": prompt,
        "decode_bytes_per_s": decode * model.streamed_bytes_per_token,
        "prompt_flops": prompt * flops_per_token,
    }


def _load(model: BenchModel, gpu: int | None, threads: int) -> Any:
    import llama_cpp

    from app.engine.backends import ensure_backends_loaded, model_params_for_this_cpu
    from app.engine.threads import plan_threads

    ensure_backends_loaded()
    kwargs: dict[str, Any] = dict(
        model_path=str(model.path), n_ctx=512, n_batch=512, n_ubatch=512, verbose=False, n_gpu_layers=0
    )
    # The engine's own thread plan (physical performance cores decode, every logical core
    # evaluates prompts), so the speed measured is the speed the engine will run at.
    plan = plan_threads(threads, 0)
    kwargs["n_threads"], kwargs["n_threads_batch"] = plan.decode, plan.batch
    if gpu is not None:
        kwargs.update(n_gpu_layers=-1, main_gpu=gpu, split_mode=llama_cpp.LLAMA_SPLIT_MODE_NONE)
    with model_params_for_this_cpu():
        return llama_cpp.Llama(**kwargs)


def run(weights_bytes: int, gpus: list[int], threads: int, budget_s: float, folder: Path) -> dict[str, Any]:
    started = time.perf_counter()
    devices: list[int | None] = [None, *gpus]
    _announce(PROGRESS_MARK, {"fraction": 0.0, "step": "writing the test model"})
    model = write_bench_gguf(folder / "speed-benchmark.gguf", weights_bytes)
    results: list[dict[str, float]] = []
    for index, gpu in enumerate(devices):
        where = "the CPU" if gpu is None else f"GPU {gpu}"
        _announce(PROGRESS_MARK, {"fraction": 0.1 + 0.9 * index / len(devices), "step": f"measuring {where}"})
        llm = _load(model, gpu, threads)
        try:
            results.append(_measure(model, llm, budget_s / len(devices)))
        finally:
            llm.close()
    _announce(PROGRESS_MARK, {"fraction": 1.0, "step": "done"})
    cpu, *on_gpus = results
    return {
        "cpu": cpu,
        "gpus": [{"index": gpu, **speeds} for gpu, speeds in zip(gpus, on_gpus, strict=True)],
        "weights_bytes": model.weight_bytes,
        "elapsed_s": time.perf_counter() - started,
    }


def build_arg_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dscoder-speed", description="Measure this machine's llama.cpp speed")
    parser.add_argument("--weights-bytes", type=int, default=DEFAULT_WEIGHTS_BYTES)
    parser.add_argument("--gpu", type=int, action="append", default=[], help="also measure this GPU (index)")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for decoding (0: the engine's default)")
    parser.add_argument("--budget-s", type=float, default=5.0, help="seconds of measuring, all devices together")
    parser.add_argument("--dir", default=None, help="where to write the test model (default: a temporary folder)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_arg_parser().parse_args(argv)
    try:
        with tempfile.TemporaryDirectory(prefix="dscoder-speed-", dir=args.dir) as folder:
            result = run(args.weights_bytes, args.gpu, args.threads, args.budget_s, Path(folder))
    except Exception as exc:  # noqa: BLE001 - any failure becomes the parent's message
        _announce(FAILED_MARK, {"what": f"{type(exc).__name__}: {exc}"})
        return 1
    _announce(RESULT_MARK, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
