"""Quality among the quantizations of one variant: measured where the check ran, expected elsewhere.

The planner first ranks every fit by the variant's published quality less a per-quant
penalty (`EXPECTED_LOSS_POINTS`, app/models/quality/quant_loss.py, with its sources).
Among the fits of the chosen variant that also meet the speed floors (at no smaller
context), this module then looks at what was measured on this machine
(`dscoder check`, the Benchmarks tab):

- a measured file counts with its measured pass@1 (chat for chat and "both", the
  single-line holes for completion);
- an unmeasured quant of a variant with a measured one is expected at the nearest
  measured quant's score moved by the table's difference between the two (the
  measurement carries this app's prompts, so the published figure would not compare);
- the highest is preferred only when it beats a smaller measured file by more than the
  noise of the measurements compared (`noise_margin`: one standard error of the
  difference at the measured number of problems, ±14 points on the quick suite's 24,
  ±6 on the full 164); otherwise the smallest measured file within that margin is
  preferred, as the smaller, faster one, and the reason says so. An unmeasured smaller
  quant is never chosen on the grounds of noise: that takes a measurement.

With nothing measured for the variant the planner's order stands: the table alone has no
measurement noise to weigh, and its order is the planner's penalty.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from app.models.catalog import QUANT_ORDER, CatalogEntry
from app.models.quality.quant_loss import expected_loss_points, noise_margin
from app.models.quality.report import WARN_BELOW_POINTS, chat_gap_points, next_quant_up
from app.models.quality.results import QualityRecord


@dataclass(frozen=True)
class QuantQuality:
    fraction: float  # pass@1, measured or expected
    problems: int  # of the measurement; 0: expected from the table

    @property
    def measured(self) -> bool:
        return self.problems > 0

    def text(self) -> str:
        if self.measured:
            return f"measured {self.fraction * 100:.0f}% on {self.problems} problems"
        return f"expected {self.fraction * 100:.0f}%"


def measured_score(record: QualityRecord, purpose: str) -> float | None:
    return record.fim_pass_at_1 if purpose == "completion" else record.chat_pass_at_1


def best_records(records: Iterable[QualityRecord]) -> dict[tuple[str, str], QualityRecord]:
    """(variant, quant) -> the record to judge it by: most problems, then the newest."""
    found: dict[tuple[str, str], QualityRecord] = {}
    for record in records:
        if record.variant is None or record.quant is None:
            continue
        key = (record.variant, record.quant)
        held = found.get(key)
        if held is None or (record.problems, record.measured_at) > (held.problems, held.measured_at):
            found[key] = record
    return found


def quant_qualities(
    entries: Sequence[CatalogEntry], records: Iterable[QualityRecord], purpose: str
) -> dict[str, QuantQuality]:
    """Entry id -> its measured or expected pass@1; {} when none of `entries` was measured."""
    best = best_records(records)
    measured = {
        e.id: QuantQuality(score, best[(e.variant, e.quant)].problems)
        for e in entries
        if (e.variant, e.quant) in best and (score := measured_score(best[(e.variant, e.quant)], purpose)) is not None
    }
    if not measured:
        return {}
    by_id = {e.id: e for e in entries}

    def expected(entry: CatalogEntry) -> QuantQuality:
        # From the nearest measured quant (a larger one on a tie): its score moved by the table's difference.
        def distance(entry_id: str) -> tuple[int, int]:
            quant = by_id[entry_id].quant
            if entry.quant not in QUANT_ORDER or quant not in QUANT_ORDER:
                return (len(QUANT_ORDER), -measured[entry_id].problems)
            step = QUANT_ORDER.index(quant) - QUANT_ORDER.index(entry.quant)
            return (abs(step), 0 if step > 0 else 1)

        reference = min(measured, key=distance)
        loss = expected_loss_points(entry.quant) - expected_loss_points(by_id[reference].quant)
        return QuantQuality(min(1.0, max(0.0, measured[reference].fraction - loss / 100)), 0)

    return {e.id: measured.get(e.id) or expected(e) for e in entries}


def margin_between(a: QuantQuality, b: QuantQuality) -> float:
    """The difference that is more than noise, between two of these (a fraction)."""
    counts = [q.problems for q in (a, b) if q.measured]
    return noise_margin(min(counts)) if counts else 0.0


def prefer_by_quality(
    best_entry: CatalogEntry, peers: Sequence[CatalogEntry], records: Iterable[QualityRecord], purpose: str
) -> tuple[CatalogEntry, str]:
    """Among `peers` (best_entry's variant, fast enough, no smaller context): the entry to
    recommend and a sentence for the plan's reason ("" when measurements played no part)."""
    peers = list({e.id: e for e in [best_entry, *peers]}.values())
    quality = quant_qualities(peers, records, purpose)
    if not quality:
        return best_entry, ""
    top = max(peers, key=lambda e: (quality[e.id].fraction, -e.size))
    # Going smaller on the grounds of noise takes a measurement: the table alone never does it.
    within = [
        e
        for e in peers
        if (e.id == top.id or quality[e.id].measured)
        and quality[top.id].fraction - quality[e.id].fraction <= margin_between(quality[top.id], quality[e.id])
    ]
    chosen = min(within, key=lambda e: e.size)
    if chosen.id != top.id:
        margin = margin_between(quality[top.id], quality[chosen.id]) * 100
        return chosen, (
            f"{chosen.quant} rather than {top.quant}: {quality[chosen.id].text()} against {quality[top.id].text()}, "
            f"within the noise (±{margin:.0f} points), so the smaller, faster file."
        )
    smaller = [e for e in peers if e.size < top.size]
    if not smaller:
        return top, f"{top.quant}: {quality[top.id].text()}."
    runner_up = max(smaller, key=lambda e: quality[e.id].fraction)
    margin = margin_between(quality[top.id], quality[runner_up.id]) * 100
    return top, (
        f"{top.quant} rather than the smaller {runner_up.quant}: {quality[top.id].text()} against "
        f"{quality[runner_up.id].text()}, more than the noise (±{margin:.0f} points)."
    )


def quality_warnings(records: Iterable[QualityRecord]) -> list[tuple[QualityRecord, str | None, str]]:
    """(record, next quant up, warning) for each catalog file measured more than
    WARN_BELOW_POINTS below its variant's published HumanEval."""
    found = []
    for record in best_records(records).values():
        gap = chat_gap_points(record)
        if gap is None or gap >= -WARN_BELOW_POINTS:
            continue
        better = next_quant_up(record.variant, record.quant)
        published = record.published.get("humaneval_python", 0.0) * 100
        text = (
            f"{record.variant} {record.quant} scored {-gap:.0f} points below its published HumanEval "
            f"({(record.chat_pass_at_1 or 0) * 100:.0f}% here, {published:.1f}% published)"
        )
        text += f": {better} is offered instead where it fits." if better else "."
        found.append((record, better, text))
    return found
