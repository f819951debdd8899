"""The machine-speed benchmark child: `python -m app.engine.machine_speed_child` (or `dscoder probe
--speed-child` in a frozen build), started by `app.hardware.machine_speed_benchmark.measure_machine_speed`.

It writes the synthetic benchmark model (app/models/synthetic/bench.py: 256 MB of Q4_K),
loads it with llama.cpp the way the engine loads a model, and measures on the CPU, then
on each GPU it was asked to: decode (one token at a time, so every token streams the
weights: bytes per second) and prompt processing (a batch of tokens: floating-point
operations per second). On the CPU it then compares the weight types: a small model
of each type in BENCH_TYPES against a small Q4_K one gives each type's decode and
prompt rate as a factor of Q4_K's (their decode tokens take turns, so none of them is
read from the CPU's last-level cache: see interleaved_decode_seconds). Thin models take
their turns in the same rounds: 8 and 40 layers 128 wide, and 8 layers with a 64K-row
output, whose differences are a decoded token's fixed costs per layer and per output row
(_fixed_costs); those are taken out of every model's time before its bytes give a rate,
so the 2,048-wide main model's bandwidth is the bandwidth, and a narrow model of many
layers pays its fixed costs on top. The small Q4_K model reads a batch after a long
cached context and from an empty one, whose difference is attention's rate, then decodes
single tokens after that context and after a few tokens: a decoded token's attention rate (with
flash attention off and on). It prints
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.engine.speed_decode_attention import (
    DecodeAttention,
    attention_timing,
    seconds_per_position,
    solve_decode_attention,
)
from app.engine.speed_timing import (
    PROMPT_TOKENS,
    WARMUP_TOKENS,
    decode_seconds,
    fastest_half,
    interleaved_decode_seconds,
    prompt_batches,
    tokens,
)
from app.hardware.machine_speed import (
    DEFAULT_WEIGHTS_BYTES,
    FAILED_MARK,
    PROGRESS_MARK,
    RESULT_MARK,
    attention_flops,
)
from app.models.synthetic.bench import (
    BENCH_TYPES,
    DEFAULT_SHAPE,
    N_EMBD,
    Q4_K,
    THIN_BIG_VOCAB_SHAPE,
    THIN_SHAPE,
    BenchModel,
    BenchShape,
    QuantType,
    write_bench_gguf,
)

SMALL_PROMPT_TOKENS = 64  # a small model's batch: the same kernels, in half the time
SMALL_LAYERS = 2  # the per-type models: tens of MB, written and loaded in a blink
Q8_0 = QuantType.Q8_0
# The thin models of a decoded token's fixed costs (app/models/synthetic/bench.py THIN_SHAPE):
# their name, weight type, layers and shape. 8 against 40 layers: the per-layer cost; the
# 64K-row output against the 512-row one: the per-output-row cost.
FEW_LAYERS_KEY, MANY_LAYERS_KEY, BIG_VOCAB_KEY = "thin-8", "thin-40", "thin-vocab"
THIN_MODELS: list[tuple[str, QuantType, int, BenchShape]] = [
    (FEW_LAYERS_KEY, Q8_0, 8, THIN_SHAPE),
    (MANY_LAYERS_KEY, Q8_0, 40, THIN_SHAPE),
    (BIG_VOCAB_KEY, Q8_0, 8, THIN_BIG_VOCAB_SHAPE),
]
THIN_MODEL_NAMES = frozenset(name for name, *_rest in THIN_MODELS)
# Streaming keeps at least this share of a token's time: fixed costs measured in noise can
# never leave a model no time (or less than none) to read its weights in.
MIN_STREAMING_SHARE = 0.2
TYPE_ROUNDS = 3  # rounds over all the weight types (see _compare_types)
CACHED_TOKENS = 1024  # the context attention is measured over
DECODE_ATTENTION_TOKENS = 24  # single tokens decoded after CACHED_TOKENS, and after a few
LONG_CONTEXT_MODELS = frozenset((Q4_K.name, MANY_LAYERS_KEY))  # attention is measured on them
FLASH_SUFFIX = "+flash"  # a long-context model's second load, with flash attention on
ATTENTION_CTX = 1280  # CACHED_TOKENS and one batch, padded to 256
# Shares of the measuring budget: the main model (all devices), the weight types, attention.
MAIN_SHARE, TYPES_SHARE, ATTENTION_SHARE = 0.4, 0.45, 0.15
# Attention's rate is kept between these shares of the matmul rate: a difference lost in
# timing noise (or negative) means no measurable slowdown; below the floor it is noise too.
ATTENTION_FLOOR, ATTENTION_CEILING = 0.02, 1.0
# A weight type's factor outside this range is taken for noise (another program took the
# cores mid-measurement) and left out: the planner then runs that type at Q4_K's rates.
PLAUSIBLE_FACTORS = (0.2, 5.0)


@dataclass(frozen=True)
class DecodeFixedCosts:
    """Seconds a decoded token takes besides streaming its weights: per layer and per output row."""

    layer_s: float
    output_row_s: float

    def streaming_s(self, model: BenchModel, token_s: float) -> float:
        """The part of a token's seconds that streamed the model's weights."""
        fixed = model.n_layer * self.layer_s + model.shape.n_vocab * self.output_row_s
        return max(token_s - fixed, token_s * MIN_STREAMING_SHARE)


def _announce(mark: str, payload: dict[str, Any]) -> None:
    sys.stdout.write(f"{mark} {json.dumps(payload)}\n")
    sys.stdout.flush()


def _progress(fraction: float, step: str) -> None:
    _announce(PROGRESS_MARK, {"fraction": round(fraction, 3), "step": step})


def _flops_per_prompt_token(model: BenchModel, n_tokens: int = PROMPT_TOKENS) -> float:
    return 2 * model.matmul_params_per_token + attention_flops(model.n_layer, N_EMBD, n_tokens) / n_tokens


def _measure(model: BenchModel, llm: Any, budget_s: float) -> dict[str, float]:
    llm.eval(tokens(WARMUP_TOKENS))  # touches every weight page once: the load is not measured
    decoded = decode_seconds(llm, budget_s * 0.4)
    decode = 1.0 / fastest_half(decoded)  # as the small models' tokens: their fixed costs come out of it
    batches = prompt_batches(llm, budget_s * 0.6)
    prompt = len(batches) * PROMPT_TOKENS / sum(batches)
    return {
        "decode_tokens_per_s": decode,
        "prompt_tokens_per_s": prompt,
        "decode_bytes_per_s": decode * model.streamed_bytes_per_token,
        "prompt_flops": prompt * _flops_per_prompt_token(model),
    }


def _load(model: BenchModel, gpu: int | None, threads: int, n_ctx: int = 512, flash_attn: bool = False) -> Any:
    import llama_cpp

    from app.engine.backends import ensure_backends_loaded, model_params_for_this_cpu
    from app.engine.threads import plan_threads

    ensure_backends_loaded()
    kwargs: dict[str, Any] = dict(
        model_path=str(model.path),
        n_ctx=n_ctx,
        n_batch=512,
        n_ubatch=512,
        verbose=False,
        n_gpu_layers=0,
        flash_attn=flash_attn,
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
    llm.eval(tokens(CACHED_TOKENS, 7))
    batch = SMALL_PROMPT_TOKENS
    cached_s = min(prompt_batches(llm, budget_s, n_tokens=batch, n_past=CACHED_TOKENS, at_least=2))
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


def _decode_attention(
    models: dict[str, BenchModel], llms: dict[str, Any], rates: dict[QuantType, Any], threads: int
) -> tuple[DecodeAttention, DecodeAttention]:
    """A decoded token's attention per layer, query head and position (app/engine/speed_decode_attention.py),
    with flash attention off and on: the small Q4_K model (heads 128 wide; its cache holds
    CACHED_TOKENS since _attention_share) and the thin many-layer one (heads 64 wide), each
    also loaded with flash attention on (its kernel pays a head's width far more dearly), the
    four decode single tokens in turns after CACHED_TOKENS and after a few."""
    names = (MANY_LAYERS_KEY, Q4_K.name)
    flash_names = [name + FLASH_SUFFIX for name in names]
    for name, flash_name in zip(names, flash_names, strict=True):
        models[flash_name] = models[name]  # the same file: unlinked once, closed each
        llms[flash_name] = _load(models[name], None, threads, ATTENTION_CTX, flash_attn=True)
    for name in (MANY_LAYERS_KEY, *flash_names):
        llms[name].reset()
        llms[name].eval(tokens(CACHED_TOKENS, 7))
    turns = {name: llms[name] for name in (*names, *flash_names)}
    seconds = seconds_per_position(turns, CACHED_TOKENS, DECODE_ATTENTION_TOKENS)
    bytes_per_s, empty_s = rates[Q4_K]
    matmul_rate = SMALL_PROMPT_TOKENS * _flops_per_prompt_token(models[Q4_K.name], SMALL_PROMPT_TOKENS) / empty_s

    def solved(flash_attn: bool) -> DecodeAttention:
        suffix = FLASH_SUFFIX if flash_attn else ""
        narrow, wide = (attention_timing(models[name], seconds[name + suffix]) for name in names)
        return solve_decode_attention(narrow, wide, bytes_per_s, matmul_rate * ATTENTION_CEILING, flash_attn)

    return solved(False), solved(True)


def _token_seconds(name: str, seconds: list[float]) -> float:
    """A model's time for one token: the faster half's mean, or a thin model's fastest token.

    The fixed costs are the difference of two thin models' times, a few ms each: a burst
    of load that preempts one of the threads between two of the many small operations adds
    as much as the whole difference, and any token may catch one. Their fastest token is the
    one no burst caught (they decode many tokens in the time a type's model decodes one)."""
    return min(seconds) if name in THIN_MODEL_NAMES else fastest_half(seconds)


def _fixed_costs(models: dict[str, BenchModel], seconds: dict[str, float]) -> DecodeFixedCosts:
    """A decoded token's per-layer and per-output-row seconds besides streaming its weights.

    The thin models' weights are a few MB: what the many-layer one takes beyond the
    few-layer one, less its extra bytes at Q8_0's rate, is the layers' fixed work; what the
    large-vocabulary one takes beyond the few-layer one, less its output matrix's bytes, is
    the cost of its extra output rows. Both are run twice: Q8_0's rate is measured on a
    model that paid these costs too."""
    costs = DecodeFixedCosts(0.0, 0.0)
    few, many, vocab = models[FEW_LAYERS_KEY], models[MANY_LAYERS_KEY], models[BIG_VOCAB_KEY]
    for _pass in range(2):
        q8_rate = models[Q8_0.name].streamed_bytes_per_token / costs.streaming_s(models[Q8_0.name], seconds[Q8_0.name])
        extra_layers = seconds[MANY_LAYERS_KEY] - seconds[FEW_LAYERS_KEY]
        extra_layers -= (many.streamed_bytes_per_token - few.streamed_bytes_per_token) / q8_rate
        extra_rows = seconds[BIG_VOCAB_KEY] - seconds[FEW_LAYERS_KEY]
        extra_rows -= (vocab.output_bytes - few.output_bytes) / q8_rate
        costs = DecodeFixedCosts(
            layer_s=max(0.0, extra_layers / (many.n_layer - few.n_layer)),
            output_row_s=max(0.0, extra_rows / (vocab.shape.n_vocab - few.shape.n_vocab)),
        )
    return costs


def _compare_types(folder: Path, types: list[QuantType], threads: int, budget_s: float) -> dict[str, Any]:
    """Each weight type's rates as factors of a small Q4_K model's, a decoded token's fixed
    costs (per layer, per output row), and attention's share.

    All the small models are loaded at once and measured in rounds, each round taking every
    type in turn, and each type's rate is taken over all its rounds: a burst of load from
    another program then slows one round of every type alike instead of one type's whole
    measurement, which would skew that type's factor. The thin models of the fixed costs
    take their turns in the same rounds."""
    ordered = [Q4_K, *(quant for quant in types if quant != Q4_K)]  # the reference first
    if Q8_0 not in ordered:
        ordered.append(Q8_0)  # the thin models' type: their bytes are counted at its rate
    per_turn = budget_s * TYPES_SHARE / (TYPES_SHARE + ATTENTION_SHARE) / len(ordered) / TYPE_ROUNDS
    models: dict[str, BenchModel] = {}
    llms: dict[str, Any] = {}
    try:
        to_write = [(quant.name, quant, SMALL_LAYERS, DEFAULT_SHAPE) for quant in ordered] + THIN_MODELS
        for index, (name, quant, n_layer, shape) in enumerate(to_write):
            _progress(0.35 + 0.1 * index / len(to_write), f"writing the {name} model")
            path = folder / f"speed-{name}.gguf"
            models[name] = write_bench_gguf(path, quant=quant, n_layer=n_layer, shape=shape)
            llms[name] = _load(models[name], None, threads, ATTENTION_CTX if name in LONG_CONTEXT_MODELS else 512)
            llms[name].eval(tokens(1))  # pages the weights in
        decoded: dict[str, list[float]] = {name: [] for name in llms}
        batches: dict[str, list[float]] = {quant.name: [] for quant in ordered}
        for round_index in range(TYPE_ROUNDS):
            _progress(0.45 + 0.4 * round_index / TYPE_ROUNDS, f"comparing weight types, round {round_index + 1}")
            for name, seconds in interleaved_decode_seconds(llms, per_turn * 0.4 * len(ordered)).items():
                decoded[name] += seconds
            for quant in ordered:
                batches[quant.name] += prompt_batches(llms[quant.name], per_turn * 0.6, n_tokens=SMALL_PROMPT_TOKENS)
        token_s = {name: _token_seconds(name, seconds) for name, seconds in decoded.items()}
        costs = _fixed_costs(models, token_s)
        rates = {
            quant: (
                models[quant.name].streamed_bytes_per_token
                / costs.streaming_s(models[quant.name], token_s[quant.name]),
                min(batches[quant.name]),
            )
            for quant in ordered
        }
        _progress(0.85, "attention over 1K tokens")
        attention_budget = budget_s * ATTENTION_SHARE / (TYPES_SHARE + ATTENTION_SHARE)
        attention = _attention_share(models[Q4_K.name], llms[Q4_K.name], rates[Q4_K][1], attention_budget)
        decode_attention, flash_decode_attention = _decode_attention(models, llms, rates, threads)
    finally:
        for name, llm in llms.items():
            llm.close()
            models[name].path.unlink(missing_ok=True)
    decode_ref, prompt_ref_s = rates[Q4_K]
    factors = {}
    for quant, (decode, prompt_s) in rates.items():
        factor = {"decode": decode / decode_ref, "prompt": prompt_ref_s / prompt_s}
        if all(PLAUSIBLE_FACTORS[0] <= value <= PLAUSIBLE_FACTORS[1] for value in factor.values()):
            factors[quant.name] = factor
        else:
            print(f"{quant.name}: factors {factor} look like noise; left out", file=sys.stderr)
    return {
        "type_factors": factors,
        "attention_share": attention,
        "decode_attention": decode_attention,
        "flash_decode_attention": flash_decode_attention,
        "fixed_costs": costs,
    }


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
    costs: DecodeFixedCosts = compared["fixed_costs"]
    # The main model's layers paid the fixed costs too: its bytes alone stream faster.
    token_s = model.streamed_bytes_per_token / cpu["decode_bytes_per_s"]
    cpu["decode_bytes_per_s"] = model.streamed_bytes_per_token / costs.streaming_s(model, token_s)
    cpu["layer_overhead_s"] = costs.layer_s
    cpu["output_row_s"] = costs.output_row_s
    cpu["type_factors"] = compared["type_factors"]
    cpu["attention_flops"] = cpu["prompt_flops"] * compared["attention_share"]
    for key in ("decode_attention", "flash_decode_attention"):
        law: DecodeAttention = compared[key]
        cpu[f"{key}_row_s"], cpu[f"{key}_flops"] = law.row_s, law.flops
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
