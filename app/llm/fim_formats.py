"""Fill-in-the-middle prompts written as raw text, per model family, for servers that do
not build them from OpenAI's `suffix` (or build them wrong): the family's FIM token texts
around the prefix and the suffix, in PSM order (prefix, suffix, then the middle).

The families are those the catalog and the tests use (DeepSeek-Coder, Qwen2.5-Coder) and
the other common FIM vocabularies (StarCoder's, CodeLlama's).
"""

from __future__ import annotations

from dataclasses import dataclass

from app.protocol.deepseek import DS_FIM_BEGIN, DS_FIM_END, DS_FIM_HOLE


@dataclass(frozen=True)
class FimFormat:
    key: str
    label: str  # the family, for the remote's status line
    before_prefix: str
    before_suffix: str
    before_middle: str
    name_hints: tuple[str, ...]  # words in a model's name that suggest this family

    def prompt(self, prefix: str, suffix: str) -> str:
        return f"{self.before_prefix}{prefix}{self.before_suffix}{suffix}{self.before_middle}"

    def suits(self, model: str) -> bool:
        name = model.lower()
        return any(hint in name for hint in self.name_hints)


FIM_FORMATS: tuple[FimFormat, ...] = (
    FimFormat("deepseek", "DeepSeek-Coder", DS_FIM_BEGIN, DS_FIM_HOLE, DS_FIM_END, ("deepseek",)),
    FimFormat("qwen", "Qwen2.5-Coder", "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>", ("qwen",)),
    FimFormat("starcoder", "StarCoder", "<fim_prefix>", "<fim_suffix>", "<fim_middle>", ("starcoder", "santa")),
    FimFormat("codellama", "CodeLlama", "<PRE> ", " <SUF>", " <MID>", ("codellama", "code-llama")),
)


def fim_format(key: str) -> FimFormat:
    """The format with this key (DeepSeek-Coder's for an unknown or empty one)."""
    return next((f for f in FIM_FORMATS if f.key == key), FIM_FORMATS[0])


def formats_for(model: str) -> list[FimFormat]:
    """Every format, the ones the model's name suggests first."""
    return sorted(FIM_FORMATS, key=lambda f: not f.suits(model))
