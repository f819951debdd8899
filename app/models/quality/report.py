"""A check's figures beside the published ones: the record kept, the CLI's JSON, the reading.

The chat pass@1 is compared with the published HumanEval (Python) figure of the same
model: the gap in points, and a reading that says what to do about it. The FIM figures
have no published counterpart (the holes are not HumanEval-FIM's protocol): they
compare files with each other.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.models.catalog import QUANT_ORDER, Catalog, load_catalog
from app.models.quality.check import CheckReport
from app.models.quality.published import ModelIdentity
from app.models.quality.quant_loss import noise_margin
from app.models.quality.results import CheckedModel, QualityRecord

CHAT_BENCHMARK = "humaneval_python"  # what the chat figure is comparable with
WARN_BELOW_POINTS = 10.0  # a measured score this far below the published one gets a warning


def record_of(
    report: CheckReport, identity: ModelIdentity, model: CheckedModel, settings: dict[str, Any]
) -> QualityRecord:
    return QualityRecord(
        model=model,
        settings=dict(settings),
        suite=report.suite,
        problems=report.problems,
        chat_pass_at_1=report.chat_pass_at_1,
        fim_pass_at_1=report.fim_pass_at_1,
        fim_multi_line_pass_at_1=report.fim_multi_line_pass_at_1,
        seconds=round(report.seconds, 1),
        measured_at=datetime.now().astimezone().isoformat(timespec="seconds"),
        variant=identity.variant,
        quant=identity.quant,
        label=identity.label,
        published=identity.published_fractions(),
        fim_multi_line_problems=report.fim_multi_line_problems,
        network_isolated=report.network_isolated,
        busy=report.busy,
    )


def _fraction(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def check_json(record: QualityRecord, reading: str = "") -> dict[str, Any]:
    """`dscoder check --json`'s last line: every score a fraction from 0 to 1."""
    return {
        "suite": record.suite,
        "problems": record.problems,
        "chat_pass_at_1": _fraction(record.chat_pass_at_1),
        "fim_pass_at_1": _fraction(record.fim_pass_at_1),
        "fim_multi_line_pass_at_1": _fraction(record.fim_multi_line_pass_at_1),
        "published": dict(record.published),
        "seconds": record.seconds,
        "model": record.label,
        "quant": record.quant,
        "fim_multi_line_problems": record.fim_multi_line_problems,
        "noise_margin": round(noise_margin(record.problems), 4),
        "network_isolated": record.network_isolated,
        "machine_busy": record.busy,
        "reading": reading,
    }


def next_quant_up(variant: str | None, quant: str | None, catalog: Catalog | None = None) -> str | None:
    """The catalog's next larger quant of the same variant, or None at the top (or off the catalog)."""
    if variant is None or quant not in QUANT_ORDER:
        return None
    offered = {e.quant for e in (catalog or load_catalog()).for_variant(variant)}
    return next((q for q in QUANT_ORDER[QUANT_ORDER.index(quant) + 1 :] if q in offered), None)


def chat_gap_points(record: QualityRecord) -> float | None:
    """Measured chat pass@1 minus the published HumanEval, in points; None without both."""
    published = record.published.get(CHAT_BENCHMARK)
    if published is None or record.chat_pass_at_1 is None:
        return None
    return (record.chat_pass_at_1 - published) * 100


def reading(record: QualityRecord, catalog: Catalog | None = None) -> str:
    """One or two sentences a user acts on."""
    quant = record.quant or "This file"
    gap = chat_gap_points(record)
    margin = noise_margin(record.problems) * 100
    if gap is None:
        if record.chat_pass_at_1 is None:
            return "The chat part was not checked."
        return (
            f"{record.label} has no published HumanEval figure here: compare its {record.chat_pass_at_1 * 100:.0f}% "
            "with other files checked on the same suite."
        )
    who = "this variant's" if record.variant else "the model's"
    if gap < -WARN_BELOW_POINTS:
        text = f"{quant} scores {-gap:.0f} points below {who} published HumanEval"
        better = next_quant_up(record.variant, record.quant, catalog)
        return text + (f": prefer {better} if it fits." if better else ": check the file and the engine's settings.")
    if abs(gap) <= margin:
        return (
            f"{quant} scores within the {record.suite} suite's noise (±{margin:.0f} points on {record.problems} "
            f"problems) of {who} published HumanEval."
        )
    side = "above" if gap > 0 else "below"
    return f"{quant} scores {abs(gap):.0f} points {side} {who} published HumanEval (noise: ±{margin:.0f} points)."
