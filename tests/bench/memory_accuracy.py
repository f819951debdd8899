"""Memory accuracy: the engine's real peak RSS in real use against the estimator, CPU only.

Usage: python tests/bench/memory_accuracy.py [MODEL.gguf ...] [--ctx 4096 8192] [--shape-1p3b]

Real use, with the app's default settings (Settings() made into load options, the
context given by --ctx): a chat that fills the chat KV context (a prompt of about n_ctx
tokens and a short answer), then an inline completion with a full fill-in-the-middle
window (FIM_WINDOW_TOKENS of prefix and suffix and a short answer): both KV contexts used.
The engine process's peak resident memory (VmHWM in /proc/PID/status), less what the
prompt-state cache holds at the end (/dscoder/info), is compared with the estimate's
`ram_bytes`, which leaves the cache out (it is its own line at its budget).

Default models: the real small code model from shared/tools/fetch-test-model and, with
--shape-1p3b, a DeepSeek-Coder-1.3B-shaped model (24 layers of 2048, random Q4_K weights)
written to a temporary folder. Target: every row within +-10%.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from app.completion.fim_window import DEFAULT_BUDGET_TOKENS  # noqa: E402
from app.config.settings import Settings  # noqa: E402
from app.hardware.probe import read_cpu  # noqa: E402
from app.llm.client import OpenAIClient  # noqa: E402
from app.llm.supervisor import EngineSupervisor  # noqa: E402
from app.models.gguf import read_gguf_info  # noqa: E402
from app.models.planning.estimator import estimate_load, repacked_types  # noqa: E402
from app.models.planning.load_recorder import process_memory  # noqa: E402
from app.models.synthetic.bench import write_bench_gguf  # noqa: E402
from app.protocol.options import LoadOptions, SamplingParams, load_options_for  # noqa: E402
from app.utils.errors import ClientError  # noqa: E402
from tests.bench._util import fill_prompt, table, test_model_path  # noqa: E402

MIB = 1024 * 1024
GENERATED_TOKENS = 16
FIM_WINDOW_TOKENS = DEFAULT_BUDGET_TOKENS  # prefix and suffix together, as inline completion sends
TOLERANCE = 0.10


def _drain(events: object) -> None:
    for _event in events:  # type: ignore[attr-defined]
        pass


def measure(options: LoadOptions, n_ctx: int) -> tuple[int, int, int, bool]:
    """(peak RSS, RSS now, prompt cache held, whether the FIM window ran) after a full chat
    context and a full FIM window (a model without FIM tokens answers 400 to the second)."""
    model = options.model_path
    chat = fill_prompt(model, n_ctx - GENERATED_TOKENS - 8, variant=1)
    fim = fill_prompt(model, FIM_WINDOW_TOKENS, variant=2)
    cut = len(fim) * 3 // 4  # a cursor three quarters down the window
    with EngineSupervisor(options) as engine:
        endpoint = engine.start()
        client = OpenAIClient(endpoint.base_url, endpoint.api_key)
        try:
            _drain(client.stream_completion(chat, params=SamplingParams(max_tokens=GENERATED_TOKENS)))
            try:
                _drain(client.stream_completion(fim[:cut], fim[cut:], SamplingParams(max_tokens=GENERATED_TOKENS)))
                completed = True
            except ClientError:
                completed = False  # no FIM tokens: its completion context stays empty
            rss, peak = process_memory(endpoint.pid)
            cache = int(client.engine_info().get("prompt_cache", {}).get("bytes") or 0)
            return peak, rss, cache, completed
        finally:
            client.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", help="GGUF files (default: the real test model)")
    parser.add_argument("--ctx", type=int, nargs="+", default=[4096])
    parser.add_argument("--shape-1p3b", action="store_true", help="also a DeepSeek-Coder-1.3B-shaped model")
    args = parser.parse_args()
    models = list(args.models) or [test_model_path()]
    if args.shape_1p3b:
        folder = Path(tempfile.mkdtemp(prefix="dscoder-bench-"))
        models.append(str(write_bench_gguf(folder / "deepseek-1.3b-shaped.gguf", n_layer=24).path))

    header = ("model", "ctx", "estimate MiB", "peak MiB", "cache MiB", "peak less cache", "est/peak", "within 10%")
    rows: list[tuple[str, ...]] = [header]
    misses = 0
    cpu = read_cpu()
    for model in models:
        info = read_gguf_info(model)
        for n_ctx in args.ctx:
            if info.context_length and n_ctx > info.context_length:
                continue
            options = load_options_for(Settings(), model, n_ctx=n_ctx, n_gpu_layers=0)
            est = estimate_load(info, options, repacked=repacked_types(cpu.flags, cpu.arch))
            hwm, _rss, cache, completed = measure(options, n_ctx)
            used = hwm - cache
            # Without a FIM window the completion context's KV is resident (cleared at load)
            # but its compute buffer was never written: the estimate leaves that part out.
            estimate = est.ram_bytes - (0 if completed else est.completion_compute_bytes)
            ratio = estimate / used
            ok = abs(ratio - 1) <= TOLERANCE
            misses += not ok
            cells = (estimate, hwm, cache, used)
            rows.append(
                (
                    Path(model).name + ("" if completed else " (chat only: no FIM tokens)"),
                    str(n_ctx),
                    *(f"{n / MIB:.0f}" for n in cells),
                    f"{ratio:.2f}",
                    "yes" if ok else "NO",
                )
            )
            print(f"{Path(model).name} ctx {n_ctx}: {rows[-1]}", file=sys.stderr, flush=True)
    print(table(rows))
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
