"""Numbers as the app writes them, the same in the window and in the CLI: sizes, rates,
durations and counts.

Two kinds of size, each with its own function:
- a file's size (a model file, a download, free disk) in decimal units, as the hub and
  file managers show it: "4.1 GB" is 4.1e9 bytes (`file_size`, `exact_file_size`);
- memory (RAM, VRAM, a model's footprint) in binary units labelled GB, as spec sheets
  and the system's own tools write it: a "24 GB" card has 24 GiB (`memory_size`).

Qt-free and pure.
"""

from __future__ import annotations

KB = 1000
MB = 1000**2
GB = 1000**3
TB = 1000**4
MIB = 1024**2
GIB = 1024**3

_FILE_UNITS = (("B", 1), ("KB", KB), ("MB", MB), ("GB", GB), ("TB", TB))


def file_size(n_bytes: float) -> str:
    """ "600 B", "540.6 KB", "4.1 GB": decimal units, one decimal above bytes."""
    value = float(n_bytes)
    for unit, scale in reversed(_FILE_UNITS):
        if abs(value) >= scale or unit == "B":
            return f"{value:.0f} B" if unit == "B" else f"{value / scale:.1f} {unit}"
    raise AssertionError("unreachable: bytes match any value")


def exact_file_size(n_bytes: int) -> str:
    """ "600 bytes", "245,000,000 bytes (245.0 MB)": for a message where the exact count matters."""
    if n_bytes < KB:
        return f"{n_bytes:,} bytes"
    return f"{n_bytes:,} bytes ({file_size(n_bytes)})"


def memory_size(n_bytes: float) -> str:
    """ "24.0 GB" for 24 GiB: memory as spec sheets write it (binary GB), one decimal."""
    return f"{n_bytes / GIB:.1f} GB"


def transfer_rate(bytes_per_s: float) -> str:
    """ "12.4 MB/s": a download's speed."""
    return f"{file_size(bytes_per_s)}/s"


def bandwidth(bytes_per_s: float) -> str:
    """ "11.5 GB/s", "230 GB/s": memory bandwidth (decimal GB, as hardware is rated)."""
    value = bytes_per_s / GB
    return f"{value:.1f} GB/s" if value < 100 else f"{value:.0f} GB/s"


def compute_rate(flops_per_s: float) -> str:
    """ "66 GFLOP/s", "30.0 TFLOP/s": floating-point operations per second."""
    if flops_per_s >= 1e12:
        return f"{flops_per_s / 1e12:.1f} TFLOP/s"
    return f"{flops_per_s / 1e9:.0f} GFLOP/s"


def token_rate(tokens_per_s: float) -> str:
    """ "12", "9.5": tokens per second without the unit (the caller says "tokens/s" or "tok/s")."""
    return f"{tokens_per_s:.0f}" if tokens_per_s >= 10 else f"{tokens_per_s:.1f}"


def duration(seconds: float) -> str:
    """A predicted or measured time, as precise as it is useful: "under 0.1 s", "2.5 s", "40 s", "3 min"."""
    if seconds < 0.1:
        return "under 0.1 s"
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min"


def time_left(seconds: float | None) -> str:
    """A countdown to the second: "42 s", "4 min 10 s", "1 h 05 min"; "" when not known."""
    if seconds is None:
        return ""
    whole = int(seconds + 0.5)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def token_count(tokens: int) -> str:
    """ "1 token", "950 tokens", "2.3k tokens"."""
    if tokens >= 1000:
        return f"{tokens / 1000:.1f}k tokens"
    return f"{tokens} token{'s' if tokens != 1 else ''}"


def parameter_count(parameters: float) -> str:
    """ "6.7B", "1.3B": a model's parameters in billions, as model names write them."""
    return f"{parameters / 1e9:.1f}B"
