"""Quality-check records for tests: a finished check of a catalog file, with what a test varies."""

from __future__ import annotations

from typing import Any

from app.models.quality.results import CheckedModel, QualityRecord

VARIANT = "deepseek-coder-6.7b-instruct"
PUBLISHED = {"humaneval_python": 0.789, "mbpp": 0.654}


def quality_record(
    quant: str = "Q3_K_M", chat: float | None = 0.62, problems: int = 164, variant: str = VARIANT, **fields: Any
) -> QualityRecord:
    values: dict[str, Any] = {
        "model": CheckedModel(f"{variant}.{quant}.gguf", 1_000_000 + problems, quant.lower() * 8),
        "settings": {"n_ctx": 4096, "kv_cache_type": "f16", "flash_attn": False},
        "suite": "quick" if problems == 24 else "full",
        "problems": problems,
        "chat_pass_at_1": chat,
        "fim_pass_at_1": None,
        "fim_multi_line_pass_at_1": None,
        "seconds": 500.0,
        "measured_at": "2026-12-06T12:00:00+00:00",
        "variant": variant,
        "quant": quant,
        "label": variant,
        "published": PUBLISHED,
    }
    values.update(fields)
    return QualityRecord(**values)
