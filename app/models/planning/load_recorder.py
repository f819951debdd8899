"""Record what a real load used, so the next estimate for that file is measured, not guessed.

Two small Qt-free calls for whoever owns the engine's state in the GUI (`info` is the
engine's `EngineInfo`, or the dict the engine reported when it became ready):

- `record_engine_load(pid, log_path, info)` when the engine becomes ready: reads the
  model, KV, compute and output buffer sizes llama.cpp wrote to the engine's log,
  and the engine process's resident memory;
- `record_engine_request(pid, info, usage)` when a request ends with its usage: the
  real decode and prompt speeds, and the resident memory at the largest context
  served so far.

Both compare with the estimate and log one that was more than 10% off. They never
raise: a failed record costs a log line, never the load or the answer.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from app.models.planning.file_estimate import file_header, log_if_off, memory_for, rates_for, this_machine
from app.models.planning.measured import LoadRecord, LoadSettings, MeasuredLoads, ModelFileId, SpeedSample, placement_of
from app.models.planning.shape import model_shape
from app.models.planning.speed_prediction import decode_seconds, prompt_seconds, streamed_bytes_per_token
from app.protocol.options import LoadOptions
from app.utils.units import MIB

log = logging.getLogger(__name__)

LOG_READ_LIMIT = 4 * MIB  # the load's lines come first; a long-running engine's log can grow
# "load_tensors:   CPU_Mapped model buffer size =   462.96 MiB", "llama_kv_cache:   CUDA0 KV buffer
# size = ...", "sched_reserve:   CPU compute buffer size = ...", "llama_context:   CPU  output buffer
# size = ..." (older builds: "llm_load_tensors: CPU buffer size", "CPU KV self size" has no device).
BUFFER_LINE = re.compile(
    r"(?P<device>[A-Za-z][\w-]*)\s+(?:(?P<kind>model|KV|output|compute)\s+)?buffer size\s*=\s*(?P<mib>\d+(?:\.\d+)?)\s*MiB"
)
MIN_PROMPT_SAMPLE_TOKENS = 32  # shorter prompts are mostly fixed costs: no speed to learn from
MIN_DECODE_SAMPLE_TOKENS = 4


def parse_buffer_sizes(text: str) -> dict[str, dict[str, int]]:
    """{"model": {"CPU_Mapped": bytes}, "kv": {"CPU": bytes}, "compute": {...}, "output": {...}}."""
    buffers: dict[str, dict[str, int]] = {}
    for match in BUFFER_LINE.finditer(text):
        kind = (match.group("kind") or "model").lower()
        device = match.group("device")
        per_device = buffers.setdefault(kind, {})
        per_device[device] = per_device.get(device, 0) + int(float(match.group("mib")) * MIB)
    return buffers


def process_memory(pid: int) -> tuple[int, int]:
    """(resident now, peak resident) of a process in bytes; the peak is the current one
    where the system keeps no high-water mark."""
    process = psutil.Process(pid)
    rss = int(process.memory_info().rss)
    peak = rss
    if sys.platform.startswith("linux"):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = int(line.split()[1]) * 1024
        except OSError:
            pass
    else:
        peak = int(getattr(process.memory_info(), "peak_wset", rss))
    return rss, max(rss, peak)


def _get(info: Mapping[str, Any] | object, name: str) -> Any:
    """A field of the engine's info: the dict it reported, or an `EngineInfo` (whose `extra`
    keeps what it has no field for, such as the load options)."""
    if isinstance(info, Mapping):
        return info.get(name)
    found = getattr(info, name, None)
    extra = getattr(info, "extra", None)
    return found if found is not None or not isinstance(extra, Mapping) else extra.get(name)


def _options(info: Mapping[str, Any] | object) -> LoadOptions | None:
    raw = _get(info, "load_options")
    if isinstance(raw, LoadOptions):
        return raw
    if isinstance(raw, Mapping):
        return LoadOptions(**{k: v for k, v in raw.items() if k in LoadOptions.__dataclass_fields__})
    return None


def _read_log(log_path: Path) -> str:
    with log_path.open("rb") as handle:
        return handle.read(LOG_READ_LIMIT).decode("utf-8", errors="replace")


def record_engine_load(
    pid: int, log_path: Path, info: Mapping[str, Any] | object, store: MeasuredLoads | None = None
) -> LoadRecord | None:
    """Call when the engine is ready: stores what this load of this file used; None when it cannot."""
    try:
        return _record_load(pid, Path(log_path), info, store if store is not None else MeasuredLoads())
    except Exception as exc:  # noqa: BLE001 - recording is a bonus, never a failed load
        log.warning("could not record the load of engine %s: %s", pid, exc)
        return None


def _record_load(pid: int, log_path: Path, info: Mapping[str, Any] | object, store: MeasuredLoads) -> LoadRecord | None:
    options = _options(info)
    file = ModelFileId.of(options.model_path) if options else None
    if options is None or file is None:
        return None
    header = file_header(file.path)
    n_layer = model_shape(header).n_layer
    settings = LoadSettings.of(options, n_layer, int(_get(info, "n_ctx") or 0) or None)
    machine = this_machine(options.n_threads)
    rss, _peak = process_memory(pid)
    record = store.get(file, settings) or LoadRecord(file, settings, n_layer)
    record.hardware = machine.machine_speed.hardware if machine.machine_speed else machine.hardware_key()
    record.placement = placement_of(settings, n_layer)
    record.buffers = parse_buffer_sizes(_read_log(log_path))
    record.rss_at_load = rss
    record.recorded_at = datetime.now(UTC).isoformat(timespec="seconds")
    estimate = memory_for(header, options, machine)
    record.streamed_bytes = streamed_bytes_per_token(model_shape(header), estimate)
    name = Path(file.path).name
    measured_kv = record.buffer_bytes("kv", True) + record.buffer_bytes("kv", False)
    measured_weights = record.buffer_bytes("model", True) + record.buffer_bytes("model", False)
    log_if_off("KV cache", name, estimate.kv_bytes / MIB, measured_kv / MIB, "MiB")
    log_if_off("Weights", name, estimate.weights_bytes / MIB, measured_weights / MIB, "MiB")
    store.put(record)
    return record


def forward_passes(usage: Mapping[str, Any]) -> int:
    """The decode steps of an answer: what the engine reports, else the tokens after the first
    less the drafted tokens accepted (each step yields its accepted drafts and one token more).
    The machine's speed is judged per step: drafting makes answers faster, not the machine."""
    reported = usage.get("forward_passes")
    if isinstance(reported, int) and reported >= 0:
        return reported
    completion_tokens = int(usage.get("completion_tokens") or 0)
    return max(0, completion_tokens - 1 - int(usage.get("draft_accepted") or 0))


def record_engine_request(
    pid: int, info: Mapping[str, Any] | object, usage: Mapping[str, Any], store: MeasuredLoads | None = None
) -> LoadRecord | None:
    """Call when a request ends with the engine's usage (prompt_tokens, cached_tokens,
    completion_tokens, prompt_ms, decode_ms): stores its speeds and the memory it reached."""
    try:
        return _record_request(pid, info, usage, store if store is not None else MeasuredLoads())
    except Exception as exc:  # noqa: BLE001 - recording is a bonus, never a failed answer
        log.warning("could not record a request of engine %s: %s", pid, exc)
        return None


def _record_request(
    pid: int, info: Mapping[str, Any] | object, usage: Mapping[str, Any], store: MeasuredLoads
) -> LoadRecord | None:
    options = _options(info)
    file = ModelFileId.of(options.model_path) if options else None
    if options is None or file is None:
        return None
    header = file_header(file.path)
    shape = model_shape(header)
    settings = LoadSettings.of(options, shape.n_layer, int(_get(info, "n_ctx") or 0) or None)
    record = store.get(file, settings)
    if record is None:
        return None  # the load was not recorded: nothing to compare with
    prompt_tokens, cached = int(usage.get("prompt_tokens") or 0), int(usage.get("cached_tokens") or 0)
    completion_tokens = int(usage.get("completion_tokens") or 0)
    machine = this_machine(options.n_threads)
    memory = memory_for(header, options, machine)
    rates = rates_for(machine, memory.n_gpu_layers)
    name = Path(file.path).name
    processed, prompt_s = prompt_tokens - cached, float(usage.get("prompt_ms") or 0) / 1000
    if processed >= MIN_PROMPT_SAMPLE_TOKENS and prompt_s > 0:
        predicted = prompt_seconds(shape, memory, rates, processed, cached)
        record.add_sample(SpeedSample("prompt", processed, prompt_s, cached, predicted))
        log_if_off("Prompt speed", name, processed / predicted, processed / prompt_s, "tokens/s")
    passes, decode_s = forward_passes(usage), float(usage.get("decode_ms") or 0) / 1000
    if passes >= MIN_DECODE_SAMPLE_TOKENS and decode_s > 0:
        predicted = passes * decode_seconds(shape, memory, rates, prompt_tokens + completion_tokens // 2)
        record.add_sample(SpeedSample("decode", passes, decode_s, prompt_tokens, predicted))
        log_if_off("Decode speed", name, passes / predicted, passes / decode_s, "passes/s")
    context = prompt_tokens + completion_tokens
    if context >= record.peak_context:
        _rss, peak = process_memory(pid)
        record.rss_peak, record.peak_context = max(record.rss_peak, peak), context
        if record.full_context_seen:
            log_if_off("RAM", name, memory.ram_bytes / MIB, record.rss_peak / MIB, "MiB")
    store.put(record)
    return record


__all__ = ["forward_passes", "parse_buffer_sizes", "process_memory", "record_engine_load", "record_engine_request"]
