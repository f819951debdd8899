"""Which model a file is, and the published scores the check compares it with.

A file is a catalog variant when its file name is a catalog file's, or its GGUF name
(`general.name`) or file name names a catalog variant ("deepseek-coder-6.7b-instruct");
otherwise the catalog's `known_models` (models outside the catalog whose published
scores the app knows, such as the real test model Qwen2.5-Coder-0.5B-Instruct) are
matched the same way; otherwise the file is unknown and has no published figures.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from app.models.catalog import Catalog, CatalogEntry, PublishedScore, load_catalog
from app.models.gguf import ModelFileError, read_gguf_info


@dataclass(frozen=True)
class ModelIdentity:
    label: str  # what the page and the report call it
    variant: str | None  # the catalog variant; None for known models and unknown files
    quant: str | None  # "Q4_K_M"; None when neither the header nor the name says
    published: tuple[PublishedScore, ...]
    entry: CatalogEntry | None = None

    def published_fractions(self) -> dict[str, float]:
        """{benchmark: score from 0 to 1}, for JSON."""
        return {score.benchmark: round(score.fraction, 4) for score in self.published}


def _words(text: str) -> str:
    """Lower case, every run of separators one space: "Qwen2.5-Coder_0.5B" -> "qwen2.5 coder 0.5b"."""
    return " ".join(re.split(r"[\s_\-]+", text.lower())).strip()


def _names_match(pattern: str, *names: str) -> bool:
    wanted = _words(pattern)
    return any(wanted and wanted in _words(name) for name in names if name)


_QUANT_RE = re.compile(r"(?i)(?:^|[._-])((?:I?Q\d(?:_[A-Z0-9]+)*)|F16|BF16|F32)(?:[._-]|$)")


def _quant_from_name(file_name: str) -> str | None:
    match = _QUANT_RE.search(os.path.splitext(file_name)[0])
    return match.group(1).upper() if match else None


def identify_model(path: str, catalog: Catalog | None = None) -> ModelIdentity:
    """The catalog variant, known model or unknown file at `path`, with its published scores."""
    catalog = catalog or load_catalog()
    file_name = os.path.basename(path)
    header_name, quant = "", None
    try:
        info = read_gguf_info(path)
        header_name, quant = info.name or "", info.quant
    except ModelFileError:
        pass  # the engine explains a bad file when it loads it; the name may still say what it is
    quant = quant or _quant_from_name(file_name)
    entry = catalog.find_by_file_name(file_name)
    if entry is None:
        # Longest variant names first: "deepseek-coder-v2-lite-instruct" before "...-v2-instruct".
        for variant in sorted(catalog.variants(), key=len, reverse=True):
            if _names_match(variant, header_name, file_name):
                same_quant = [e for e in catalog.for_variant(variant) if e.quant == quant]
                entry = (same_quant or list(catalog.for_variant(variant)))[0]
                break
    if entry is not None:
        published = catalog.published_scores(entry.scores, entry.score_sources)
        return ModelIdentity(entry.variant, entry.variant, quant or entry.quant, published, entry)
    for known in catalog.known_models:
        if _names_match(known.match, header_name, file_name):
            return ModelIdentity(known.name, None, quant, catalog.published_scores(known.scores, known.score_sources))
    return ModelIdentity(header_name or file_name, None, quant, ())


def published_score(identity: ModelIdentity, benchmark: str) -> PublishedScore | None:
    return next((s for s in identity.published if s.benchmark == benchmark), None)
