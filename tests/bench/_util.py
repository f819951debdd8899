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


CODE_LINE = "def handler_{i}(request):\n    return process(request.data, retries={i})\n\n"


def fill_prompt(model: str, n_tokens: int, variant: int = 0) -> str:
    """Code that tokenizes to about n_tokens tokens with this model's vocabulary; each
    variant starts differently, so no two share a cached prefix."""
    import llama_cpp

    from app.engine import llama_private as _internals

    # The vocabulary alone, no context: a context on a vocab-only load warns that its
    # n_ctx exceeds the (unread) training context of 0.
    params = llama_cpp.llama_model_default_params()
    params.vocab_only = True
    vocab = _internals.LlamaModel(path_model=model, params=params, verbose=False)
    lines = (CODE_LINE.format(i=i + 1000 * variant) for i in range(max(8, n_tokens // 4)))
    text = f"# module {variant}\n" + "".join(lines)
    tokens = vocab.tokenize(text.encode(), add_bos=False, special=False)
    while len(tokens) < n_tokens:
        text += text
        tokens = vocab.tokenize(text.encode(), add_bos=False, special=False)
    prompt = vocab.detokenize(tokens[:n_tokens]).decode("utf-8", errors="ignore")
    vocab.close()
    return prompt


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
