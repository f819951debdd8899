"""This machine's measured llama.cpp speed, and where it is kept.

`MachineSpeed` is what the benchmark (app/hardware/machine_speed_benchmark.py, running
app/engine/machine_speed_child.py) measured: how many weight bytes per second a decoded
token streams, and how many floating-point operations per second prompt processing
reaches, on the CPU and on each GPU, with a Q4_K model; on the CPU also how much
faster or slower each other weight type runs (llama.cpp's CPU kernels are often
compute-bound, and their speed per byte differs per type) and the rate of attention
over a long context, and a decoded token's fixed costs per layer and per output row
(what a narrow model of many layers, or a large vocabulary, pays beyond its bytes). The planner turns these into tokens per second for every model. The result is cached in the data folder, keyed by the hardware
(CPU model and cores, RAM, GPU names and drivers, the thread setting): a change of
any of them means a new measurement.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from app.hardware.gpus import GpuInfo
from app.utils import paths
from app.utils.atomic import atomic_write_text
from app.utils.units import GIB, bandwidth, compute_rate

log = logging.getLogger(__name__)

SPEED_FILE = "machine_speed.json"
# The benchmark model's weights: larger than any CPU's last-level cache, so every decoded
# token streams them from RAM as a real model's do.
DEFAULT_WEIGHTS_BYTES = 256 * 1024 * 1024
PROGRESS_MARK = "DSCODER_SPEED_PROGRESS"
RESULT_MARK = "DSCODER_SPEED_RESULT"
FAILED_MARK = "DSCODER_SPEED_FAILED"
# The weight types whose CPU speed the benchmark compares with Q4_K's.
CPU_BENCH_TYPES = ("Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_0", "Q4_0", "Q5_0")


@dataclass(frozen=True)
class TypeFactor:
    """How fast the CPU runs one ggml weight type, as a multiple of Q4_K's rates."""

    type_name: str  # a ggml type name: "Q8_0", "Q6_K", ...
    decode: float  # decode bytes per second of this type / of Q4_K
    prompt: float  # prompt FLOP per second of this type / of Q4_K


@dataclass(frozen=True)
class GpuSpeed:
    name: str
    decode_bytes_per_s: float
    prompt_flops: float


@dataclass(frozen=True)
class MachineSpeed:
    cpu_decode_bytes_per_s: float
    cpu_prompt_flops: float
    gpus: tuple[GpuSpeed, ...] = ()
    measured_at: str = ""  # ISO 8601 in UTC; empty for a recorded or assumed profile
    run_s: float = 0.0  # how long the benchmark took, start of the child to its result
    hardware: str = ""  # the hardware key it was measured on
    # Per weight type against Q4_K, on the CPU; a type not here runs at Q4_K's rates. GPUs
    # have none: their decode streams the weights from VRAM, bandwidth-bound for every
    # type, and their prompt kernels dequantize to the same tensor-core matmuls.
    cpu_type_factors: tuple[TypeFactor, ...] = ()
    cpu_attention_flops: float = 0.0  # attention over a long context; 0: not measured (the prompt rate)
    # A decoded token's attention over its past, per layer, query head and position: a fixed
    # part (the dot product's reduction, a softmax entry) and a rate over the head's width
    # (app/engine/speed_decode_attention.py), far slower per operation than a batch's.
    # 0: not measured (an older benchmark; the batch's attention rate stands in).
    cpu_decode_attention_row_s: float = 0.0
    cpu_decode_attention_flops: float = 0.0
    # The same law with flash attention on (a load option; a quantized KV cache needs it): its
    # kernel pays a wide head far more dearly (128 wide: about 3x on a 2-core EPYC), a head's
    # time growing faster than its width, so the fixed part may be negative (the line through
    # the widths 64 and 128: app/engine/speed_decode_attention.py). Flops 0: not measured (a
    # benchmark before version 7): the flash-off law stands in.
    cpu_flash_decode_attention_row_s: float = 0.0
    cpu_flash_decode_attention_flops: float = 0.0
    # A decoded token's time on the CPU besides streaming its weights: per layer (its dozen
    # small operations, each ending in a sync of the threads) and per row of the output
    # matrix (a dot product each, the logits copied out). 0: not measured (an older benchmark).
    cpu_layer_overhead_s: float = 0.0
    cpu_output_row_s: float = 0.0
    # Every run of the benchmark found other programs busy (or the hypervisor stealing time):
    # the machine may be faster than this says (app/hardware/machine_load.py).
    measured_under_load: bool = False
    runs: int = 1  # benchmark runs made to find a quiet one (the fastest quiet run is kept)

    def when(self) -> str:
        """ "measured 2026-05-01 10:58 UTC in 6.1 s", or "recorded" for a speed not measured here."""
        if not self.measured_at:
            return "recorded"
        return f"measured {self.measured_at[:16].replace('T', ' ')} UTC in {self.run_s:.1f} s"

    def describe(self) -> str:
        """The sentence the window and `dscoder probe` both show: "CPU 11.5 GB/s decode,
        66 GFLOP/s prompt, 34 GFLOP/s attention; NVIDIA GeForce RTX 3060 230 GB/s, 30.0 TFLOP/s
        (measured 2026-05-01 10:58 UTC in 6.1 s)"."""
        cpu = f"CPU {bandwidth(self.cpu_decode_bytes_per_s)} decode, {compute_rate(self.cpu_prompt_flops)} prompt"
        if self.cpu_attention_flops:
            cpu += f", {compute_rate(self.cpu_attention_flops)} attention"
        if self.cpu_decode_attention_flops:
            row_ns = self.cpu_decode_attention_row_s * 1e9
            cpu += f", decoded attention {compute_rate(self.cpu_decode_attention_flops)} + {row_ns:.1f} ns a head"
        if self.cpu_layer_overhead_s:
            cpu += f", {self.cpu_layer_overhead_s * 1e6:.0f} µs a layer"
        gpus = [f"{g.name} {bandwidth(g.decode_bytes_per_s)}, {compute_rate(g.prompt_flops)}" for g in self.gpus]
        text = f"{'; '.join([cpu, *gpus])} ({self.when()})"
        note = under_load_note(self)
        return f"{text}; {note}" if note else text

    def gpu(self, name: str) -> GpuSpeed | None:
        return next((g for g in self.gpus if g.name == name), None)

    @property
    def cpu_attention_rate(self) -> float:
        """FLOP/s of attention on the CPU: measured, or the prompt rate when it was not."""
        return self.cpu_attention_flops or self.cpu_prompt_flops

    @property
    def cpu_decode_attention_rate(self) -> float:
        """FLOP/s of a decoded token's attention on the CPU: measured, or a batch's when it was not."""
        return self.cpu_decode_attention_flops or self.cpu_attention_rate

    def decode_attention_law(self, flash_attn: bool) -> tuple[float, float]:
        """A decoded token's attention on the CPU with flash attention on or off: (seconds per
        layer, query head and position; FLOP/s over the head's width). Flash on, but measured by
        a benchmark before version 7: the flash-off law."""
        if flash_attn and self.cpu_flash_decode_attention_flops > 0:
            return self.cpu_flash_decode_attention_row_s, self.cpu_flash_decode_attention_flops
        return self.cpu_decode_attention_row_s, self.cpu_decode_attention_rate

    def to_json(self) -> dict[str, Any]:
        """The `machine_speed` object of `dscoder probe --json` (and of the cache file)."""
        data: dict[str, Any] = {
            "cpu_decode_bytes_per_s": self.cpu_decode_bytes_per_s,
            "cpu_prompt_flops": self.cpu_prompt_flops,
            "cpu_type_factors": type_factors_json(self.cpu_type_factors),
            "gpus": [asdict(g) for g in self.gpus],
            "measured_at": self.measured_at,
            "measured_under_load": self.measured_under_load,
            "runs": self.runs,
        }
        if self.cpu_attention_flops > 0:
            data["cpu_attention_flops"] = self.cpu_attention_flops
        if self.cpu_decode_attention_flops > 0:
            data["cpu_decode_attention_flops"] = self.cpu_decode_attention_flops
            data["cpu_decode_attention_row_s"] = self.cpu_decode_attention_row_s
        if self.cpu_flash_decode_attention_flops > 0:
            data["cpu_flash_decode_attention_flops"] = self.cpu_flash_decode_attention_flops
            data["cpu_flash_decode_attention_row_s"] = self.cpu_flash_decode_attention_row_s
        data["cpu_layer_overhead_s"] = self.cpu_layer_overhead_s
        data["cpu_output_row_s"] = self.cpu_output_row_s
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any], hardware: str = "") -> MachineSpeed:
        return cls(
            cpu_decode_bytes_per_s=float(data["cpu_decode_bytes_per_s"]),
            cpu_prompt_flops=float(data["cpu_prompt_flops"]),
            gpus=tuple(
                GpuSpeed(str(g["name"]), float(g["decode_bytes_per_s"]), float(g["prompt_flops"]))
                for g in data.get("gpus", [])
            ),
            measured_at=str(data.get("measured_at", "")),
            run_s=float(data.get("run_s", 0.0)),
            hardware=hardware or str(data.get("hardware", "")),
            cpu_type_factors=type_factors_from_json(data.get("cpu_type_factors") or {}),
            cpu_attention_flops=float(data.get("cpu_attention_flops") or 0.0),
            cpu_decode_attention_row_s=_non_negative(data.get("cpu_decode_attention_row_s")),
            cpu_decode_attention_flops=_non_negative(data.get("cpu_decode_attention_flops")),
            cpu_flash_decode_attention_row_s=_finite(data.get("cpu_flash_decode_attention_row_s")),
            cpu_flash_decode_attention_flops=_non_negative(data.get("cpu_flash_decode_attention_flops")),
            cpu_layer_overhead_s=_non_negative(data.get("cpu_layer_overhead_s")),
            cpu_output_row_s=_non_negative(data.get("cpu_output_row_s")),
            measured_under_load=bool(data.get("measured_under_load", False)),
            runs=int(data.get("runs") or 1),
        )


def _finite(value: Any) -> float:
    seconds = float(value or 0.0)
    if not math.isfinite(seconds):
        raise ValueError("a decoded token's attention law is not a number")
    return seconds


def _non_negative(value: Any) -> float:
    seconds = float(value or 0.0)
    if not 0.0 <= seconds < math.inf:
        raise ValueError("a decoded token's fixed cost or attention rate is not a non-negative number")
    return seconds


NOT_MEASURED = "not measured yet; the estimates assume a typical machine"
UNDER_LOAD = "measured while the machine was busy; Measure again"


def under_load_note(speed: MachineSpeed | None) -> str:
    """What the window and `dscoder probe` say about a speed measured while other programs
    were busy (the window shows it beside its Measure again button); "" for a quiet one."""
    return UNDER_LOAD if speed is not None and speed.measured_under_load else ""


def describe_machine_speed(speed: MachineSpeed | None) -> str:
    """`MachineSpeed.describe`, or that the machine is not measured (the same words everywhere)."""
    return speed.describe() if speed is not None else NOT_MEASURED


def type_factors_json(factors: Sequence[TypeFactor]) -> dict[str, dict[str, float]]:
    """{"Q8_0": {"decode": 1.4, "prompt": 0.5}, ...}"""
    return {f.type_name: {"decode": f.decode, "prompt": f.prompt} for f in factors}


def type_factors_from_json(data: dict[str, Any]) -> tuple[TypeFactor, ...]:
    factors = tuple(
        TypeFactor(str(name), float(rates["decode"]), float(rates["prompt"])) for name, rates in sorted(data.items())
    )
    if not all(0 < f.decode < math.inf and 0 < f.prompt < math.inf for f in factors):
        raise ValueError("a weight type's speed factor is not a positive number")
    return factors


def attention_flops(n_layer: int, attention_width: int, n_tokens: int) -> float:
    """Floating-point operations of attention over a prompt of n_tokens, all layers.

    Token i attends to i + 1 positions: a dot product per position for the scores
    and a weighted sum for the values, each 2 * width operations; summed over the
    prompt that is about 2 * width * n_tokens^2 per layer.
    """
    return 2.0 * n_layer * attention_width * n_tokens * (n_tokens + 1)


# Per element of a query head's width and cached position: a multiply-add for the score's
# dot product and one for the weighted sum of the values.
DECODE_ATTENTION_FLOPS_PER_ELEMENT = 4.0


def decode_attention_flops(n_layer: int, attention_width: int, n_past: int) -> float:
    """Floating-point operations of one decoded token's attention over n_past cached positions,
    all layers (attention_width: query heads x head width; a head sharing its KV with others
    (GQA) still makes its own)."""
    return DECODE_ATTENTION_FLOPS_PER_ELEMENT * n_layer * attention_width * n_past


# Part of the key: a measurement made by an earlier benchmark is measured again (2: with the
# engine's own thread plan, where 1 used llama-cpp-python's default of half the CPUs; 3: with
# the CPU's per-type factors and attention rate; 4: watching the machine's load, repeated
# while it is busy; 5: a decoded token's fixed costs per layer and per output row, which
# narrow many-layer models and large vocabularies pay beyond their bytes; 6: a decoded token's
# attention rate, which a long past slows decoding by; 7: that rate with flash attention on too).
BENCHMARK_VERSION = 7
# The vector extensions that change which llama.cpp kernels run, widest first: a VM moved to
# a host with another vector width (same CPU name) is another machine.
VECTOR_WIDTHS = (("avx512f", "AVX-512"), ("avx2", "AVX2"), ("avx", "AVX"), ("neon", "NEON"), ("asimd", "NEON"))


def vector_width(cpu_flags: Sequence[str]) -> str:
    """ "AVX-512", "AVX2", ...: the widest vector extension among the CPU's flags, "" when none is known."""
    flags = {flag.lower() for flag in cpu_flags}
    return next((name for flag, name in VECTOR_WIDTHS if flag in flags), "")


def hardware_key(
    cpu_name: str,
    cores: int,
    hw_threads: int,
    ram_total_bytes: int,
    gpus: Sequence[GpuInfo],
    n_threads: int = 0,
    cpu_flags: Sequence[str] = (),
) -> str:
    """What the speed depends on, as one string: a new key means a new measurement (a change of
    CPU, of its vector width, of RAM size, of a GPU or its driver, of the thread setting, or a
    new release of the benchmark)."""
    ram_gib = round(ram_total_bytes / GIB * 2) / 2  # MemTotal moves a little between kernels
    width = vector_width(cpu_flags)
    cpu = f"{cpu_name} ({cores}c/{hw_threads}t{', ' + width if width else ''})"
    parts = [cpu, f"{ram_gib:g} GiB", f"benchmark {BENCHMARK_VERSION}"]
    parts += [f"{g.name} [{g.driver or g.backend or g.vendor}]" for g in gpus if g.backend_usable]
    if n_threads > 0:
        parts.append(f"{n_threads} threads")
    return " | ".join(parts)


def speed_path() -> Path:
    return paths.data_dir() / SPEED_FILE


def _read_all(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("the machine speed file %s is unreadable (%s); measuring again", path, exc)
        return {}
    entries = data.get("machines") if isinstance(data, dict) else None
    return entries if isinstance(entries, dict) else {}


def load_cached_speed(key: str, path: Path | None = None) -> MachineSpeed | None:
    """The speed measured on hardware `key`, or None when it was never measured there."""
    raw = _read_all(path or speed_path()).get(key)
    if not isinstance(raw, dict):
        return None
    try:
        return MachineSpeed.from_json(raw, hardware=key)
    except (KeyError, TypeError, ValueError) as exc:
        log.warning("the cached machine speed for %s is damaged (%s); measuring again", key, exc)
        return None


def save_speed(speed: MachineSpeed, path: Path | None = None) -> None:
    """Keep the measurement (one per hardware key: a laptop with and without its eGPU keeps both)."""
    path = path or speed_path()
    entries = _read_all(path)
    entries[speed.hardware] = {**speed.to_json(), "run_s": speed.run_s}
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps({"schema": 1, "machines": entries}, indent=2, sort_keys=True))
