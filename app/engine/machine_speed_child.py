"""The machine-speed benchmark child: `python -m app.engine.machine_speed_child` (or `dscoder probe
--speed-child` in a frozen build), started by `app.hardware.machine_speed_benchmark.measure_machine_speed`.

It writes the synthetic benchmark model (app/models/synthetic/bench.py: 256 MB of Q4_K),
loads it with llama.cpp the way the engine loads a model, and measures on the CPU, then
on each GPU it was asked to: decode (one token at a time, so every token streams the
weights: bytes per second) and prompt processing (a batch of tokens: floating-point
operations per second). On the CPU it then compares the weight types: a small model
of each type in BENCH_TYPES against a small Q4_K one gives each type's decode and
prompt rate as a factor of Q4_K's (their decode tokens take turns, so none of them is
read from the CPU's last-level cache: see _interleaved_decode_seconds); and the small Q4_K model reads a batch after a long
cached context and from an empty one, whose difference is attention's rate. It prints
progress lines and one result line on stdout:

    DSCODER_SPEED_PROGRESS {"fraction": 0.4, "step": "decoding on the CPU"}
    DSCODER_SPEED_RESULT {"cpu": {...}, "gpus": [...], "elapsed_s": 6.1}

llama.cpp runs here, never in the GUI process; a crash or a hang costs only this child.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from app.hardware.machine_speed import DEFAULT_WEIGHTS_BYTES, FAILED_MARK, PROGRESS_MARK, RESULT_MARK, attention_flops
from app.models.synthetic.bench import BENCH_TYPES, N_EMBD, Q4_K, BenchModel, QuantType, write_bench_gguf

PROMPT_TOKENS = 128  # one batch: large enough for the matrix kernels llama.cpp uses on prompts
SMALL_PROMPT_TOKENS = 64  # a small model's batch: the same kernels, in half the time
WARMUP_TOKENS = 8
MIN_DECODE_TOKENS = 8
MAX_DECODE_TOKENS = 256
MAX_PROMPT_BATCHES = 16
FIRST_TOKEN = 3  # after <unk>, <s>, </s>: ordinary tokens
SMALL_LAYERS = 2  # the per-type models: tens of MB, written and loaded in a blink
TYPE_ROUNDS = 3  # rounds over all the weight types (see _compare_types)
CACHED_TOKENS = 1024  # the context attention is measured over
ATTENTION_CTX = 1280  # CACHED_TOKENS and one batch, padded to 256
# Shares of the measuring budget: the main model (all devices), the weight types, attention.
MAIN_SHARE, TYPES_SHARE, ATTENTION_SHARE = 0.4, 0.45, 0.15
# Attention's rate is kept between these shares of the matmul rate: a difference lost in
# timing noise (or negative) means no measurable slowdown; below the floor it is noise too.
ATTENTION_FLOOR, ATTENTION_CEILING = 0.02, 1.0
# A weight type's factor outside this range is taken for noise (another program took the
# cores mid-measurement) and left out: the planner then runs that type at Q4_K's rates.
PLAUSIBLE_FACTORS = (0.2, 5.0)


def _announce(mark: str, payload: dict[str, Any]) -> None:
    sys.stdout.write(f"{mark} {json.dumps(payload)}\n")
    sys.stdout.flush()


def _progress(fraction: float, step: str) -> None:
    _announce(PROGRESS_MARK, {"fraction": round(fraction, 3), "step": step})


def _tokens(count: int, start: int = 0) -> list[int]:
    return [FIRST_TOKEN + (start + i) % 250 for i in range(count)]


def _decode_seconds(llm: Any, budget_s: float) -> list[float]:
    """Seconds of each token, one token per llama_decode, right after a short prompt."""
    llm.reset()
    llm.eval(_tokens(WARMUP_TOKENS))
    seconds: list[float] = []
    while len(seconds) < MAX_DECODE_TOKENS and (len(seconds) < MIN_DECODE_TOKENS or sum(seconds) < budget_s):
        started = time.perf_counter()
        llm.eval(_tokens(1, len(seconds)))
        seconds.append(time.perf_counter() - started)
    return seconds


def _interleaved_decode_seconds(llms: dict[QuantType, Any], budget_s: float) -> dict[QuantType, list[float]]:
    """Seconds of single tokens of each model, the models taking turns token by token.

    A small model of a compact type fits a large last-level cache (two layers of Q2_K are
    34 MB, the L3 of many server CPUs 32 MiB): decoded on its own, every token after the
    first would read its weights from the cache, and the type would look faster than it
    runs in a real model, which streams from RAM. Between two tokens of one model every
    other model streams its weights, hundreds of MB together, so each token reads from RAM."""
    for llm in llms.values():
        llm.reset()
        llm.eval(_tokens(WARMUP_TOKENS))
    seconds: dict[QuantType, list[float]] = {quant: [] for quant in llms}
    spent = 0.0
    step = 0
    while step < MAX_DECODE_TOKENS and (step < MIN_DECODE_TOKENS or spent < budget_s):
        for quant, llm in llms.items():
            started = time.perf_counter()
            llm.eval(_tokens(1, step))
            took = time.perf_counter() - started
            seconds[quant].append(took)
            spent += took
        step += 1
    return seconds


def _fastest_half(seconds: list[float]) -> float:
    """The mean of the faster half: what the machine does when nothing else takes its cores."""
    fastest = sorted(seconds)[: max(1, len(seconds) // 2)]
    return sum(fastest) / len(fastest)


def _prompt_batches(
    llm: Any, budget_s: float, *, n_tokens: int = PROMPT_TOKENS, n_past: int = 0, at_least: int = 1
) -> list[float]:
    """Seconds of each fresh batch of n_tokens read after the first n_past tokens
    (already in the cache: the cache is cut back to them before each batch)."""
    seconds: list[float] = []
    while len(seconds) < MAX_PROMPT_BATCHES and (len(seconds) < at_least or sum(seconds) < budget_s):
        if n_past:
            llm.n_tokens = n_past  # eval drops the cache past n_tokens
        else:
            llm.reset()
        started = time.perf_counter()
        llm.eval(_tokens(n_tokens, len(seconds)))
        seconds.append(time.perf_counter() - started)
    return seconds


def _flops_per_prompt_token(model: BenchModel, n_tokens: int = PROMPT_TOKENS) -> float:
    return 2 * model.matmul_params_per_token + attention_flops(model.n_layer, N_EMBD, n_tokens) / n_tokens


def _measure(model: BenchModel, llm: Any, budget_s: float) -> dict[str, float]:
    llm.eval(_tokens(WARMUP_TOKENS))  # touches every weight page once: the load is not measured
    decoded = _decode_seconds(llm, budget_s * 0.4)
    decode = len(decoded) / sum(decoded)
    batches = _prompt_batches(llm, budget_s * 0.6)
    prompt = len(batches) * PROMPT_TOKENS / sum(batches)
    return {
        "decode_tokens_per_s": decode,
        "prompt_tokens_per_s": prompt,
        "decode_bytes_per_s": decode * model.streamed_bytes_per_token,
        "prompt_flops": prompt * _flops_per_prompt_token(model),
    }


def _load(model: BenchModel, gpu: int | None, threads: int, n_ctx: int = 512) -> Any:
    import llama_cpp

    from app.engine.backends import ensure_backends_loaded, model_params_for_this_cpu
    from app.engine.threads import plan_threads

    ensure_backends_loaded()
    kwargs: dict[str, Any] = dict(
        model_path=str(model.path), n_ctx=n_ctx, n_batch=512, n_ubatch=512, verbose=False, n_gpu_layers=0
    )
    # The engine's own thread plan (physical performance cores decode, every logical core
    # evaluates prompts), so the speed measured is the speed the engine will run at.
    plan = plan_threads(threads, 0)
    kwargs["n_threads"], kwargs["n_threads_batch"] = plan.decode, plan.batch
    if gpu is not None:
        kwargs.update(n_gpu_layers=-1, main_gpu=gpu, split_mode=llama_cpp.LLAMA_SPLIT_MODE_NONE)
    with model_params_for_this_cpu():
        return llama_cpp.Llama(**kwargs)


def _attention_share(model: BenchModel, llm: Any, empty_s: float, budget_s: float) -> float:
    """Attention's FLOP/s over a long context as a share of the same model's matmul FLOP/s.

    The same batch is read after CACHED_TOKENS and from an empty context: the extra time
    is the extra attention (attention_flops counts it), the rest is the same matmuls."""
    llm.reset()
    llm.eval(_tokens(CACHED_TOKENS, 7))
    batch = SMALL_PROMPT_TOKENS
    cached_s = min(_prompt_batches(llm, budget_s, n_tokens=batch, n_past=CACHED_TOKENS, at_least=2))
    layers = model.n_layer
    extra_flops = (
        attention_flops(layers, N_EMBD, CACHED_TOKENS + batch)
        - attention_flops(layers, N_EMBD, CACHED_TOKENS)
        - attention_flops(layers, N_EMBD, batch)
    )
    matmul_rate = batch * _flops_per_prompt_token(model, batch) / empty_s
    extra_s = cached_s - empty_s
    if extra_s <= 0:
        return ATTENTION_CEILING
    return min(ATTENTION_CEILING, max(ATTENTION_FLOOR, extra_flops / extra_s / matmul_rate))


def _compare_types(folder: Path, types: list[QuantType], threads: int, budget_s: float) -> dict[str, Any]:
    """Each weight type's rates as factors of a small Q4_K model's, and attention's share.

    All the small models are loaded at once and measured in rounds, each round taking every
    type in turn, and each type's rate is taken over all its rounds: a burst of load from
    another program then slows one round of every type alike instead of one type's whole
    measurement, which would skew that type's factor."""
    ordered = [Q4_K, *(quant for quant in types if quant != Q4_K)]  # the reference first
    per_turn = budget_s * TYPES_SHARE / (TYPES_SHARE + ATTENTION_SHARE) / len(ordered) / TYPE_ROUNDS
    models: dict[QuantType, BenchModel] = {}
    llms: dict[QuantType, Any] = {}
    try:
        for index, quant in enumerate(ordered):
            _progress(0.35 + 0.1 * index / len(ordered), f"writing the {quant.name} model")
            models[quant] = write_bench_gguf(folder / f"speed-{quant.name}.gguf", quant=quant, n_layer=SMALL_LAYERS)
            llms[quant] = _load(models[quant], None, threads, ATTENTION_CTX if quant == Q4_K else 512)
            llms[quant].eval(_tokens(1))  # pages the weights in
        decoded: dict[QuantType, list[float]] = {quant: [] for quant in ordered}
        batches: dict[QuantType, list[float]] = {quant: [] for quant in ordered}
        for round_index in range(TYPE_ROUNDS):
            _progress(0.45 + 0.4 * round_index / TYPE_ROUNDS, f"comparing weight types, round {round_index + 1}")
            for quant, seconds in _interleaved_decode_seconds(llms, per_turn * 0.4 * len(ordered)).items():
                decoded[quant] += seconds
            for quant in ordered:
                batches[quant] += _prompt_batches(llms[quant], per_turn * 0.6, n_tokens=SMALL_PROMPT_TOKENS)
        rates = {
            quant: (models[quant].streamed_bytes_per_token / _fastest_half(decoded[quant]), min(batches[quant]))
            for quant in ordered
        }
        _progress(0.85, "attention over 1K tokens")
        attention_budget = budget_s * ATTENTION_SHARE / (TYPES_SHARE + ATTENTION_SHARE)
        attention = _attention_share(models[Q4_K], llms[Q4_K], rates[Q4_K][1], attention_budget)
    finally:
        for quant, llm in llms.items():
            llm.close()
            models[quant].path.unlink(missing_ok=True)
    decode_ref, prompt_ref_s = rates[Q4_K]
    factors = {}
    for quant, (decode, prompt_s) in rates.items():
        factor = {"decode": decode / decode_ref, "prompt": prompt_ref_s / prompt_s}
        if all(PLAUSIBLE_FACTORS[0] <= value <= PLAUSIBLE_FACTORS[1] for value in factor.values()):
            factors[quant.name] = factor
        else:
            print(f"{quant.name}: factors {factor} look like noise; left out", file=sys.stderr)
    return {"type_factors": factors, "attention_share": attention}


def run(
    weights_bytes: int, gpus: list[int], threads: int, budget_s: float, folder: Path, types: list[QuantType]
) -> dict[str, Any]:
    started = time.perf_counter()
    devices: list[int | None] = [None, *gpus]
    _progress(0.0, "writing the test model")
    model = write_bench_gguf(folder / "speed-benchmark.gguf", weights_bytes)
    results: list[dict[str, Any]] = []
    compared: dict[str, Any] = {}
    for index, gpu in enumerate(devices):
        where = "the CPU" if gpu is None else f"GPU {gpu}"
        _progress(0.05 if gpu is None else 0.85 + 0.15 * index / len(devices), f"measuring {where}")
        llm = _load(model, gpu, threads)
        try:
            results.append(_measure(model, llm, budget_s * MAIN_SHARE / len(devices)))
        finally:
            llm.close()
        if gpu is None:
            compared = _compare_types(folder, types, threads, budget_s * (1 - MAIN_SHARE))
    _progress(1.0, "done")
    cpu, *on_gpus = results
    cpu["type_factors"] = compared["type_factors"]
    cpu["attention_flops"] = cpu["prompt_flops"] * compared["attention_share"]
    return {
        "cpu": cpu,
        "gpus": [{"index": gpu, **speeds} for gpu, speeds in zip(gpus, on_gpus, strict=True)],
        "weights_bytes": model.weight_bytes,
        "elapsed_s": time.perf_counter() - started,
        "cpu_s": _own_cpu_seconds(),  # the parent tells its own load from other programs'
    }


def _own_cpu_seconds() -> float:
    """CPU seconds this process used so far, every thread (llama.cpp's pool included)."""
    times = os.times()
    return times.user + times.system


def build_arg_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dscoder-speed", description="Measure this machine's llama.cpp speed")
    parser.add_argument("--weights-bytes", type=int, default=DEFAULT_WEIGHTS_BYTES)
    parser.add_argument("--gpu", type=int, action="append", default=[], help="also measure this GPU (index)")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for decoding (0: the engine's default)")
    parser.add_argument("--budget-s", type=float, default=3.5, help="seconds of measuring, all steps together")
    parser.add_argument(
        "--types", default=",".join(q.name for q in BENCH_TYPES), help="weight types to compare with Q4_K, by name"
    )
    parser.add_argument("--dir", default=None, help="where to write the test model (default: a temporary folder)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_arg_parser().parse_args(argv)
    try:
        with tempfile.TemporaryDirectory(prefix="dscoder-speed-", dir=args.dir) as folder:
            types = [QuantType.__members__[name] for name in args.types.split(",") if name]
            result = run(args.weights_bytes, args.gpu, args.threads, args.budget_s, Path(folder), types)
    except Exception as exc:  # noqa: BLE001 - any failure becomes the parent's message
        _announce(FAILED_MARK, {"what": f"{type(exc).__name__}: {exc}"})
        return 1
    _announce(RESULT_MARK, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
