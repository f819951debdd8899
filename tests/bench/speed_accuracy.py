"""Speed accuracy: the planner's predicted speeds against the app's engine at default settings.

Usage: python tests/bench/speed_accuracy.py [MODEL.gguf | --shape deepseek-1.3b] [--ctx 2048 4096 8192]
                                             [--prompts 256 1536] [--tokens 64] [--weights-mb 256] [--flash-attn]

1. Measures this machine with the app's own benchmark child (a synthetic Q4_K model run
   by llama.cpp in a child process, small models of the other weight types, attention
   over a long context) and reports how long that took. The result is not
   cached: the app's own measurement stays as it was.
2. For each context, starts the engine through the real supervisor with the app's
   default settings (Settings() made into load options, flash attention on with --flash-attn, "auto" GPU layers resolved as
   the app resolves them), warms it with one short request, then sends one prompt of
   each length (their texts differ from the first token, so no prefix is reused) and
   lets it generate --tokens tokens; then the same request again with plain decoding.
3. Prints predicted and measured decode tokens/s, prompt tokens/s and first-token time
   (the engine's own timings from the usage it returns), with measured/predicted ratios.
   Decode is predicted as the default decodes (prompt-lookup drafting on, drafting only
   while it pays: a free-form answer, FREE_FORM_DRAFTING) and plainly, one token per step;
   both are compared, the default against the target. The benchmark's own load reading
   (measured_under_load) and the load average before and after are printed: on a busy
   machine every figure is noisy, ratios less so.

Default model: the real small code model from shared/tools/fetch-test-model. `--shape deepseek-1.3b`
writes a DeepSeek-Coder-1.3B-shaped model instead (random Q4_K weights, 32K vocabulary, Q6_K
output: app/models/synthetic/bench.py DEEPSEEK_1P3B_SHAPE) into a temporary folder.
Targets: decode within +-25%, prompt within +-30%. Run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from app.config.settings import Settings  # noqa: E402
from app.hardware.machine_speed_benchmark import measure_machine_speed  # noqa: E402
from app.hardware.probe import MachineProfile, probe_machine  # noqa: E402
from app.llm.client import OpenAIClient  # noqa: E402
from app.llm.supervisor import EngineSupervisor  # noqa: E402
from app.models.gguf import read_gguf_info  # noqa: E402
from app.models.planning.file_estimate import memory_for, rates_for  # noqa: E402
from app.models.planning.gpu_layers import resolve_auto_gpu_layers  # noqa: E402
from app.models.planning.shape import model_shape  # noqa: E402
from app.models.planning.speed_prediction import FREE_FORM_DRAFTING, decode_seconds, prompt_seconds  # noqa: E402
from app.models.synthetic.bench import DEEPSEEK_1P3B_LAYERS, DEEPSEEK_1P3B_SHAPE, write_bench_gguf  # noqa: E402
from app.protocol.options import LoadOptions, SamplingParams, load_options_for  # noqa: E402
from tests.bench._util import fill_prompt, table, test_model_path  # noqa: E402

DECODE_TARGET = 0.25
PROMPT_TARGET = 0.30


@dataclass(frozen=True)
class Timing:
    decode_tokens_per_s: float  # plain decoding: one token per step (measured; predicted: the same)
    prompt_tokens_per_s: float
    first_token_s: float
    drafted_tokens_per_s: float = float("nan")  # the default settings: prompt-lookup drafting on
    acceptance: float = float("nan")  # of the drafted tokens


def predicted(model: str, options: LoadOptions, machine: MachineProfile, n_prompt: int, n_tokens: int) -> Timing:
    info = read_gguf_info(model)
    shape, memory = model_shape(info), memory_for(info, options, machine)
    rates = rates_for(machine, memory.n_gpu_layers)
    read = prompt_seconds(shape, memory, rates, n_prompt)
    decode = decode_seconds(shape, memory, rates, n_prompt + n_tokens // 2)
    first = read + decode_seconds(shape, memory, rates, n_prompt)
    return Timing(1 / decode, n_prompt / read, first, drafted_tokens_per_s=FREE_FORM_DRAFTING / decode)


def _request(client: OpenAIClient, prompt: str, n_tokens: int, speculative: bool | None) -> dict:
    params = SamplingParams(max_tokens=n_tokens, temperature=0.0, speculative=speculative)
    events = list(client.stream_completion(prompt, params=params))
    stats = events[-1].stats
    assert stats is not None
    return dict(stats.usage)


def _decode_rate(usage: dict) -> float:
    decoded = int(usage["completion_tokens"]) - 1
    decode_s = float(usage["decode_ms"]) / 1000
    return decoded / decode_s if decoded >= 4 and decode_s > 0 else float("nan")


def measured(client: OpenAIClient, prompt: str, n_tokens: int) -> Timing:
    """The prompt and the answer at default settings (drafting on), then the same request with
    plain decoding (its prompt is cached by then: only its decode rate counts)."""
    usage = _request(client, prompt, n_tokens, speculative=None)
    prompt_s = float(usage["prompt_ms"]) / 1000
    processed = int(usage["prompt_tokens"]) - int(usage.get("cached_tokens") or 0)
    acceptance = usage.get("draft_acceptance")
    plain = _request(client, prompt, n_tokens, speculative=False)
    return Timing(
        _decode_rate(plain),
        processed / prompt_s,
        prompt_s,
        _decode_rate(usage),
        float(acceptance) if isinstance(acceptance, (int, float)) else float("nan"),
    )


def run_context(
    model: str, n_ctx: int, prompts: list[int], n_tokens: int, machine: MachineProfile, flash_attn: bool = False
) -> list[tuple[int, Timing, Timing]]:
    settings = dataclasses.replace(Settings(), flash_attn=flash_attn)
    options = resolve_auto_gpu_layers(load_options_for(settings, model, n_ctx=n_ctx))
    rows = []
    # A fresh home for the engine, as a new user has: the prompt cache persists on disk, and
    # the same prompts from an earlier run would be read back instead of evaluated.
    with (
        tempfile.TemporaryDirectory(prefix="speed-accuracy-home-") as home,
        _engine_home(home),
        EngineSupervisor(options) as engine,
    ):
        endpoint = engine.start()
        client = OpenAIClient(endpoint.base_url, endpoint.api_key)
        try:
            measured(client, fill_prompt(model, 32, variant=99), 8)  # pages the weights in
            for index, n_prompt in enumerate(prompts):
                if n_prompt + n_tokens + 8 > n_ctx:
                    continue
                text = fill_prompt(model, n_prompt, variant=index)
                rows.append(
                    (n_prompt, predicted(model, options, machine, n_prompt, n_tokens), measured(client, text, n_tokens))
                )
                print(f"ctx {n_ctx} prompt {n_prompt}: done", file=sys.stderr, flush=True)
        finally:
            client.close()
    return rows


@contextlib.contextmanager
def _engine_home(home: str) -> Iterator[None]:
    """DSCODER_HOME set to `home` for the engines started inside (they inherit the environment)."""
    before = os.environ.get("DSCODER_HOME")
    os.environ["DSCODER_HOME"] = home
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("DSCODER_HOME", None)
        else:
            os.environ["DSCODER_HOME"] = before


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def ratio_cell(measured_value: float, predicted_value: float, target: float | None) -> tuple[str, bool]:
    ratio = measured_value / predicted_value
    ok = target is None or abs(ratio - 1) <= target
    return f"{ratio:.2f}" + ("" if ok else " !"), ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", help="a GGUF file (default: the real small code model)")
    parser.add_argument("--shape", choices=["deepseek-1.3b"], help="a synthetic model of this shape instead")
    parser.add_argument("--ctx", type=int, nargs="+", default=[2048, 4096, 8192])
    parser.add_argument("--prompts", type=int, nargs="+", default=[256, 1536])
    parser.add_argument("--tokens", type=int, default=64, help="tokens to generate per request")
    parser.add_argument("--weights-mb", type=int, default=256, help="size of the benchmark's synthetic model")
    parser.add_argument("--flash-attn", action="store_true", help="load the model with flash attention on")
    args = parser.parse_args()
    if args.shape:
        with tempfile.TemporaryDirectory(prefix="speed-accuracy-") as folder:
            path = Path(folder) / "deepseek-1.3b-shaped.gguf"
            write_bench_gguf(path, n_layer=DEEPSEEK_1P3B_LAYERS, shape=DEEPSEEK_1P3B_SHAPE)
            return compare(str(path), args)
    return compare(args.model or test_model_path(), args)


def compare(model: str, args: argparse.Namespace) -> int:
    machine = probe_machine(Path(model).parent)
    print(f"{machine.cpu.name}, {machine.cpu.logical_cores} cores; load average before: {_load()}")
    started = time.perf_counter()
    # One run with room for a busy machine: the script reports the load instead of waiting for quiet.
    speed = measure_machine_speed(
        machine, weights_bytes=args.weights_mb * 1024 * 1024, save=False, max_runs=1, timeout_s=600
    )
    print(f"Machine benchmark: {time.perf_counter() - started:.1f} s (child's own count {speed.run_s:.1f} s)")
    print(f"  {speed.runs} run(s); measured under load: {speed.measured_under_load}")
    print(
        f"  CPU {speed.cpu_decode_bytes_per_s / 1e9:.2f} GB/s decode, {speed.cpu_prompt_flops / 1e9:.1f} GFLOP/s prompt"
    )
    print(
        f"  CPU attention {speed.cpu_attention_rate / 1e9:.1f} GFLOP/s (a batch),"
        f" {speed.cpu_decode_attention_rate / 1e9:.1f} GFLOP/s"
        f" + {speed.cpu_decode_attention_row_s * 1e9:.2f} ns a head and position (a decoded token);"
        f" flash attention on: {speed.cpu_flash_decode_attention_flops / 1e9:.1f} GFLOP/s"
        f" + {speed.cpu_flash_decode_attention_row_s * 1e9:.2f} ns"
    )
    print(
        f"  CPU fixed costs of a decoded token: {speed.cpu_layer_overhead_s * 1e6:.0f} us a layer,"
        f" {speed.cpu_output_row_s * 1e9:.2f} ns an output row"
    )
    for factor in speed.cpu_type_factors:
        print(f"  CPU {factor.type_name}: decode x{factor.decode:.2f}, prompt x{factor.prompt:.2f} (against Q4_K)")
    for gpu in speed.gpus:
        print(f"  {gpu.name}: {gpu.decode_bytes_per_s / 1e9:.1f} GB/s, {gpu.prompt_flops / 1e12:.2f} TFLOP/s")
    machine = dataclasses.replace(machine, machine_speed=speed)

    header = ("ctx", "prompt", "default pred", "default meas", "ratio", "accepted", "plain pred", "plain meas", "ratio")
    header += ("prompt pred", "prompt meas", "ratio")
    rows: list[tuple[str, ...]] = [header + ("1st token pred", "1st token meas", "ratio")]
    misses = 0
    for n_ctx in args.ctx:
        for n_prompt, pred, meas in run_context(model, n_ctx, args.prompts, args.tokens, machine, args.flash_attn):
            default_ratio, decode_ok = ratio_cell(meas.drafted_tokens_per_s, pred.drafted_tokens_per_s, DECODE_TARGET)
            plain_ratio, _ = ratio_cell(meas.decode_tokens_per_s, pred.decode_tokens_per_s, None)
            prompt_ratio, prompt_ok = ratio_cell(meas.prompt_tokens_per_s, pred.prompt_tokens_per_s, PROMPT_TARGET)
            first_ratio, _ = ratio_cell(meas.first_token_s, pred.first_token_s, None)
            misses += (not decode_ok) + (not prompt_ok)
            rows.append(
                (
                    str(n_ctx),
                    str(n_prompt),
                    f"{pred.drafted_tokens_per_s:.1f}",
                    f"{meas.drafted_tokens_per_s:.1f}",
                    default_ratio,
                    f"{meas.acceptance:.0%}",
                    f"{pred.decode_tokens_per_s:.1f}",
                    f"{meas.decode_tokens_per_s:.1f}",
                    plain_ratio,
                    f"{pred.prompt_tokens_per_s:.1f}",
                    f"{meas.prompt_tokens_per_s:.1f}",
                    prompt_ratio,
                    f"{pred.first_token_s:.2f} s",
                    f"{meas.first_token_s:.2f} s",
                    first_ratio,
                )
            )
    print()
    print(
        f"{Path(model).name}, flash attention {'on' if args.flash_attn else 'off'}; tokens/s except first-token time; ratio = measured / predicted"
    )
    print("default: drafting on, as a user gets it (the target's row); plain: drafting off, one token per step")
    print(table(rows))
    print(f"load average after: {_load()}")
    print(f"\nTargets: decode within +-{DECODE_TARGET:.0%}, prompt within +-{PROMPT_TARGET:.0%}; misses: {misses}")
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
