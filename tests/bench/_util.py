"""Small helpers shared by the benchmark scripts."""

from __future__ import annotations

import statistics
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_model_path() -> str:
    """The real small code model, fetched once into a cache by the shared tool."""
    tool = REPO.parent / "shared" / "tools" / "fetch-test-model"
    return subprocess.run([str(tool)], check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
