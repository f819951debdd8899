"""What the model manager's Benchmarks page shows, as plain rows (the widget only displays).

One group per catalog variant: its published scores, each in the family's own table's
terms with its source, then the files measured here (quant, scores, gap, date, time
taken). Then one group per other model measured here (known models such as the test
model, and files the catalog does not know), with the published figures the check
compared them with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from app.models.catalog import Catalog, CatalogEntry
from app.models.quality.report import WARN_BELOW_POINTS, chat_gap_points, reading
from app.models.quality.results import QualityRecord
from app.utils.units import time_left


@dataclass(frozen=True)
class BenchmarkRow:
    name: str  # "HumanEval (Python)", or "Q4_K_M, measured here (quick suite, 24 problems)"
    score: str  # "78.9%", or "chat 72.0% · FIM 60.0% / 45.0%" (single-line / multi-line holes)
    detail: str  # the source, or the reading
    measured: bool = False
    date: str = ""
    time_taken: str = ""
    warning: bool = False  # measured more than WARN_BELOW_POINTS below the published figure


@dataclass(frozen=True)
class BenchmarkGroup:
    title: str  # the variant or the model
    rows: tuple[BenchmarkRow, ...]


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def _date_text(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


def measured_row(record: QualityRecord, catalog: Catalog | None = None) -> BenchmarkRow:
    name = f"{record.quant or record.model.name}, measured here ({record.suite} suite, {record.problems} problems)"
    # FIM: the single-line holes' pass@1, then the multi-line holes' (the page's tooltip says so).
    score = (
        f"chat {_percent(record.chat_pass_at_1)} · FIM {_percent(record.fim_pass_at_1)}"
        f" / {_percent(record.fim_multi_line_pass_at_1)}"
    )
    gap = chat_gap_points(record)
    detail = reading(record, catalog)
    if record.busy:
        detail += " (The machine was busy with other work: the time taken is longer than usual.)"
    return BenchmarkRow(
        name,
        score,
        detail,
        measured=True,
        date=_date_text(record.measured_at),
        time_taken=time_left(record.seconds),
        warning=gap is not None and gap < -WARN_BELOW_POINTS,
    )


def _benchmark_order(catalog: Catalog, benchmark: str) -> int:
    """Where the family's tables put a benchmark (the catalog's order); unknown ones last."""
    order = list(catalog.benchmarks)
    return order.index(benchmark) if benchmark in order else len(order)


def benchmark_groups(catalog: Catalog, records: Sequence[QualityRecord]) -> list[BenchmarkGroup]:
    groups = []
    for variant in catalog.variants():
        published = [
            BenchmarkRow(s.label, f"{s.percent:.1f}%", s.source) for s in catalog.published_for_variant(variant)
        ]
        measured = [measured_row(r, catalog) for r in records if r.variant == variant]
        groups.append(BenchmarkGroup(variant, tuple(published + measured)))
    others: dict[str, list[QualityRecord]] = {}
    for record in records:
        if record.variant is None:
            others.setdefault(record.label or record.model.name, []).append(record)
    known = {k.name: k for k in catalog.known_models}
    for title, found in others.items():
        sources = known[title].score_sources if title in known else {}
        published = [
            BenchmarkRow(catalog.benchmarks.get(b, b), f"{score * 100:.1f}%", sources.get(b, ""))
            for b, score in sorted(found[-1].published.items(), key=lambda item: _benchmark_order(catalog, item[0]))
        ]
        groups.append(BenchmarkGroup(title, tuple(published + [measured_row(r, catalog) for r in found])))
    return groups


def quality_tip(entry: CatalogEntry, catalog: Catalog, records: Sequence[QualityRecord]) -> str:
    """The catalog row's quality in a few lines: published figures, then this quant measured here."""
    lines = [f"Published: {s.label} {s.percent:.1f}%" for s in catalog.published_for_variant(entry.variant)]
    for record in records:
        if record.variant == entry.variant and record.quant == entry.quant:
            row = measured_row(record, catalog)
            lines.append(f"Measured here ({row.date}, {record.suite} suite): {row.score}. {row.detail}")
    return "\n".join(lines) or "No published scores for this model"
