"""How fast a model will feel on this machine: decode and prompt speed, time to first token.

The machine's measured rates (app/hardware/machine_speed.py: weight bytes per second a
decoded token streams, floating-point operations per second on a prompt, per CPU and
GPU) meet the model's shape and its placement (the memory estimate says which
layers sit on the GPU):

- decoding one token streams the active weights on each device once (all of a dense
  model, the shared part and the used experts of a MoE) and attends over the KV cache so
  far: on the CPU at the measured rate of a decoded token's attention (compute-bound: its
  dot products per query head and position, not the cache's bytes, take the time); the
  devices run one after the other, so their times add up;
- a prompt token multiplies by the active layer weights (2 operations per parameter)
  plus attention over the tokens before it.

On the CPU each weight type runs at its own measured factor of the Q4_K rates
(weight_types.py), and attention at its own measured rate; a decoded token also pays
fixed costs the benchmark measures apart from the bytes: per layer (a dozen small
operations, each ending in a sync of the threads: a narrow model of many layers pays
them more often per byte) and per row of the output matrix (a 152K-token vocabulary
pays 152K dot products and logits). GPUs keep one rate for every type: their decode
is bandwidth-bound.

A machine that was never measured gets typical rates, and the result says "assumed".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from app.hardware.gpus import GpuInfo
from app.hardware.machine_speed import MachineSpeed, TypeFactor, attention_flops, decode_attention_flops
from app.models.planning.estimator import KV_BYTES_PER_ELEMENT, MemoryEstimate
from app.models.planning.shape import ModelMemoryShape
from app.models.planning.weight_types import decode_cost, output_decode_cost, prompt_cost

QUESTION_TOKENS = 2048  # "a 2K-token question": the prompt the first-token time is for
# What a warm inline completion evaluates after a keystroke: the engine keeps the cells
# before the edit and moves the unchanged ones after it (app/engine/slots.py), so only the
# edited tokens and 16 after them are evaluated (tests/bench/completion.py: 3 at the end of
# the window, 18 at its start or middle); 32 leaves room for a word typed in one go.
WARM_COMPLETION_TOKENS = 32
COMPLETION_CONTEXT_TOKENS = 1500  # tokens already in the context of a completion request
# Typical rates for a machine that was never measured (a mid-range desktop; per GPU
# vendor, a mid-range card): the plan says these are assumed.
ASSUMED_CPU = (20e9, 300e9)  # decode bytes/s, prompt FLOP/s
ASSUMED_GPU = {"nvidia": (300e9, 25e12), "amd": (300e9, 15e12), "apple": (80e9, 2e12), "intel": (150e9, 5e12)}
ASSUMED_OTHER_GPU = (150e9, 5e12)
# Per decoded token, besides the weights: building the graph, sampling over the
# vocabulary, detokenizing (measured with the test model: about 1 ms at 152K tokens).
TOKEN_OVERHEAD_S = 0.0004
SAMPLING_S_PER_VOCAB_TOKEN = 4e-9
# The default decoding drafts from the prompt only while drafting pays (app/engine/
# draft_policy.py): prompt-lookup guesses are checked in shadow against the answer, and a
# batch is spent only on a kind of guess that is being kept, so an answer that does not
# repeat its input spends no batch (a dictionary lookup per token) and decodes at plain
# speed. A rewrite gains far more, but how much depends on how much the answer repeats,
# which no shape predicts: the prediction is for a free-form answer, and plain decoding is
# shown beside it.
FREE_FORM_DRAFTING = 1.0

PREDICTED = "predicted"
MEASURED = "measured"
CALIBRATED = "calibrated"
ASSUMED = "assumed"


@dataclass(frozen=True)
class DeviceRates:
    cpu_bytes_per_s: float
    cpu_flops: float
    gpu_bytes_per_s: float
    gpu_flops: float
    assumed: bool
    cpu_type_factors: tuple[TypeFactor, ...] = ()  # per weight type against Q4_K; (): all 1
    cpu_attention_flops: float = 0.0  # 0: the prompt rate
    cpu_layer_overhead_s: float = 0.0  # a decoded token's fixed cost per CPU layer
    cpu_output_row_s: float = 0.0  # and per output row, when the output matrix is on the CPU
    # A decoded token's attention, flash attention off and on (MachineSpeed.decode_attention_law:
    # per layer, query head and position a fixed part, and a rate over the head's width).
    # None: no machine speed (no fixed part, the batch's attention rate).
    cpu_decode_attention: tuple[tuple[float, float], tuple[float, float]] | None = None

    @property
    def cpu_attention_rate(self) -> float:
        return self.cpu_attention_flops or self.cpu_flops

    def decode_attention_law(self, flash_attn: bool) -> tuple[float, float]:
        """(seconds per layer, query head and position; FLOP/s over the head's width)."""
        if self.cpu_decode_attention is None:
            return 0.0, self.cpu_attention_rate
        return self.cpu_decode_attention[flash_attn]


def device_rates(speed: MachineSpeed | None, gpus: Sequence[GpuInfo] = ()) -> DeviceRates:
    """The rates of the CPU and of the GPUs the plan offloads to (the slowest of them).
    An assumed CPU runs every type at one rate, attention included."""
    assumed = speed is None
    cpu_bytes, cpu_flops = (speed.cpu_decode_bytes_per_s, speed.cpu_prompt_flops) if speed else ASSUMED_CPU
    gpu_rates = []
    for gpu in gpus:
        measured = speed.gpu(gpu.name) if speed else None
        if measured is not None:
            gpu_rates.append((measured.decode_bytes_per_s, measured.prompt_flops))
        else:
            assumed = True
            gpu_rates.append(ASSUMED_GPU.get(gpu.vendor, ASSUMED_OTHER_GPU))
    gpu_bytes, gpu_flops = min(gpu_rates) if gpu_rates else ASSUMED_OTHER_GPU
    if speed is None:
        return DeviceRates(cpu_bytes, cpu_flops, gpu_bytes, gpu_flops, assumed)
    return DeviceRates(
        cpu_bytes,
        cpu_flops,
        gpu_bytes,
        gpu_flops,
        assumed,
        speed.cpu_type_factors,
        speed.cpu_attention_flops,
        speed.cpu_layer_overhead_s,
        speed.cpu_output_row_s,
        (speed.decode_attention_law(False), speed.decode_attention_law(True)),
    )


@dataclass(frozen=True)
class SpeedEstimate:
    decode_tokens_per_s: float  # while answering a 2K-token question, default settings (drafting on)
    prompt_tokens_per_s: float  # reading a 2K-token question
    first_token_s: float  # a 2K-token question: reading it and the first token
    completion_s: float  # a warm inline completion: the first ghost text after a keystroke
    source: str = PREDICTED  # measured, calibrated, predicted or assumed
    # measured / predicted (decode, prompt) ratios applied: this file's own, or the machine's
    correction: tuple[float, float] = (1.0, 1.0)
    plain_decode_tokens_per_s: float = 0.0  # drafting off, one token per step; 0: as decode_tokens_per_s

    @property
    def plain_decode(self) -> float:
        return self.plain_decode_tokens_per_s or self.decode_tokens_per_s

    def cli_dict(self) -> dict[str, object]:
        data: dict[str, object] = {
            "decode_tokens_per_s": round(self.decode_tokens_per_s, 2),
            "prompt_tokens_per_s": round(self.prompt_tokens_per_s, 2),
            "first_token_s_at_2k": round(self.first_token_s, 2),
            "plain_decode_tokens_per_s": round(self.plain_decode, 2),
            "speed_source": self.source,
        }
        if self.source in (MEASURED, CALIBRATED):
            data["speed_correction"] = {"decode": round(self.correction[0], 3), "prompt": round(self.correction[1], 3)}
        return data

    def correction_text(self) -> str:
        """ "corrected by real answers: decode ×0.85, prompt ×1.10", or "" when none was applied."""
        if self.source not in (MEASURED, CALIBRATED):
            return ""
        decode, prompt = self.correction
        whose = "this model's" if self.source == MEASURED else "this machine's"
        return f"corrected by {whose} real answers: decode ×{decode:.2f}, prompt ×{prompt:.2f}"

    def scaled(self, decode: float, prompt: float, source: str) -> SpeedEstimate:
        """Corrected by measured/predicted ratios (for decode and for prompt processing)."""
        return replace(
            self,
            correction=(decode, prompt),
            decode_tokens_per_s=self.decode_tokens_per_s * decode,
            plain_decode_tokens_per_s=self.plain_decode_tokens_per_s * decode,
            prompt_tokens_per_s=self.prompt_tokens_per_s * prompt,
            first_token_s=self.first_token_s / prompt,
            completion_s=self.completion_s / min(decode, prompt),
            source=source,
        )


def _gpu_layer_share(shape: ModelMemoryShape, est: MemoryEstimate) -> float:
    return max(0, est.n_gpu_layers - 1) / max(1, shape.n_layer)


def _kv_bytes_per_token(shape: ModelMemoryShape, kv_type: str) -> float:
    return (shape.kv_k_per_layer + shape.kv_v_per_layer) * shape.n_layer * KV_BYTES_PER_ELEMENT.get(kv_type, 2.0)


@dataclass(frozen=True)
class _Streamed:
    """Weight bytes one decoded token reads: the CPU's layers and output, all of the GPUs'."""

    cpu_layers: float
    cpu_output: float
    gpu: float


def _streamed_bytes(shape: ModelMemoryShape, est: MemoryEstimate) -> _Streamed:
    """The layers count with the model's active share (a MoE reads only its used experts);
    the output matrix is read whole, and the token embedding only when it doubles as
    the output (a tied model): otherwise a token reads one row of it."""
    output = shape.output_bytes + (shape.token_embd_bytes if shape.tied_output else 0)
    if est.n_gpu_layers >= 1:
        cpu_layers = est.weights_ram_bytes - shape.token_embd_bytes
        gpu_layers = est.weights_vram_bytes - output
        return _Streamed(
            max(0, cpu_layers) * shape.active_fraction, 0.0, max(0, gpu_layers) * shape.active_fraction + output
        )
    cpu_layers = est.weights_ram_bytes - shape.token_embd_bytes - shape.output_bytes
    return _Streamed(max(0, cpu_layers) * shape.active_fraction, output, 0.0)


def streamed_bytes_per_token(shape: ModelMemoryShape, est: MemoryEstimate) -> int:
    """Weight bytes a decoded token reads, all devices: whether a load is large enough to correct the machine."""
    streamed = _streamed_bytes(shape, est)
    return int(streamed.cpu_layers + streamed.cpu_output + streamed.gpu)


def decode_seconds(shape: ModelMemoryShape, est: MemoryEstimate, rates: DeviceRates, n_past: int) -> float:
    """Seconds to generate one token with n_past tokens already in the context."""
    streamed = _streamed_bytes(shape, est)
    factors = rates.cpu_type_factors
    cpu_weights = streamed.cpu_layers * decode_cost(shape.layer_types, factors)
    cpu_weights += streamed.cpu_output * output_decode_cost(shape.output_type, factors)
    gpu_share = _gpu_layer_share(shape, est)
    kv = _kv_bytes_per_token(shape, est.kv_type) * n_past
    cpu = cpu_weights / rates.cpu_bytes_per_s + _cpu_attention_seconds(shape, est, kv, rates, n_past) * (1 - gpu_share)
    cpu += _cpu_fixed_seconds(shape, est, rates, gpu_share)
    gpu = (streamed.gpu + kv * gpu_share) / rates.gpu_bytes_per_s if est.n_gpu_layers else 0.0
    return cpu + gpu + TOKEN_OVERHEAD_S + SAMPLING_S_PER_VOCAB_TOKEN * shape.vocab


def _cpu_attention_seconds(
    shape: ModelMemoryShape, est: MemoryEstimate, kv_bytes: float, rates: DeviceRates, n_past: int
) -> float:
    """A decoded token's attention over n_past positions, all layers on the CPU, as the
    benchmark measured it with the load's flash attention setting (on, its kernel pays the
    head's width far more dearly: app/engine/speed_decode_attention.py): per layer, query head and
    position a fixed part and the head's width at a rate (thin operations, far slower than a
    batch's: a GQA model's heads that share a KV head each pay their own), and on top the KV
    cache's bytes at the decode bandwidth (a model whose heads each have their own KV reads
    many; measured, they add to the operations rather than hide behind them)."""
    row_s, rate = rates.decode_attention_law(est.flash_attn)
    rows = row_s * shape.n_layer * shape.n_head * n_past
    # Flash attention's fixed part may be negative (see MachineSpeed): a head never costs less than nothing.
    operations = max(0.0, rows + decode_attention_flops(shape.n_layer, shape.n_embd, n_past) / rate)
    return operations + kv_bytes / rates.cpu_bytes_per_s


def _cpu_fixed_seconds(shape: ModelMemoryShape, est: MemoryEstimate, rates: DeviceRates, gpu_share: float) -> float:
    """What a decoded token's CPU part takes besides its bytes: each CPU layer's fixed work,
    and each output row's when the output matrix runs on the CPU (no GPU layers)."""
    layers = shape.n_layer * (1 - gpu_share) * rates.cpu_layer_overhead_s
    output_rows = 0.0 if est.n_gpu_layers else shape.vocab * rates.cpu_output_row_s
    return layers + output_rows


def prompt_seconds(
    shape: ModelMemoryShape, est: MemoryEstimate, rates: DeviceRates, n_tokens: int, n_past: int = 0
) -> float:
    """Seconds to read n_tokens of prompt after n_past cached ones (the logits of the last only)."""
    matmul = 2.0 * shape.layer_params * shape.active_fraction * n_tokens
    attention = attention_flops(shape.n_layer, shape.n_embd, n_past + n_tokens) - attention_flops(
        shape.n_layer, shape.n_embd, n_past
    )
    gpu_share = _gpu_layer_share(shape, est)
    cpu_matmul = matmul * prompt_cost(shape.layer_types, rates.cpu_type_factors) / rates.cpu_flops
    seconds = (cpu_matmul + attention / rates.cpu_attention_rate) * (1 - gpu_share)
    if est.n_gpu_layers:
        seconds += (matmul + attention) * gpu_share / rates.gpu_flops
    return seconds


def predict_speed(
    shape: ModelMemoryShape,
    est: MemoryEstimate,
    rates: DeviceRates,
    question_tokens: int = QUESTION_TOKENS,
    drafting: bool = True,
) -> SpeedEstimate:
    """Decode and prompt speed for a question of question_tokens, and a warm completion's latency;
    decode as the default decoding answers (drafting on: see FREE_FORM_DRAFTING) and plainly."""
    read = prompt_seconds(shape, est, rates, question_tokens)
    first_decode = decode_seconds(shape, est, rates, question_tokens)
    decode = 1.0 / decode_seconds(shape, est, rates, question_tokens + 128)  # halfway through an answer
    past = COMPLETION_CONTEXT_TOKENS - WARM_COMPLETION_TOKENS
    completion = prompt_seconds(shape, est, rates, WARM_COMPLETION_TOKENS, past) + decode_seconds(
        shape, est, rates, COMPLETION_CONTEXT_TOKENS
    )
    return SpeedEstimate(
        decode_tokens_per_s=decode * (FREE_FORM_DRAFTING if drafting else 1.0),
        plain_decode_tokens_per_s=decode,
        prompt_tokens_per_s=question_tokens / read,
        first_token_s=read + first_decode,
        completion_s=completion,
        source=ASSUMED if rates.assumed else PREDICTED,
    )
