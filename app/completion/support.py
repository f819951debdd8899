"""Whether the loaded model may complete at the cursor, and how the status bar labels it."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CompletionSupport:
    """Whether the loaded model can complete at the cursor, and how to label it."""

    enabled: bool
    label: str = ""  # shown next to the status: "" or "unofficial"
    reason: str = ""  # why it is disabled, or what "unofficial" means


NO_MODEL = CompletionSupport(False, reason="No model is loaded. Load a model to get inline completion.")

_INSTRUCT_RE = re.compile(r"instruct|chat", re.IGNORECASE)


def completion_support(info: Mapping[str, Any] | None) -> CompletionSupport:
    """Decide from the engine's /dscoder/info (None: a remote server without it).

    - no FIM tokens: disabled, and the reason says which models can;
    - a DeepSeek-Coder v1 *instruct* model: allowed, labelled "unofficial" (DeepSeek
      trained FIM into the base models; the instruct ones keep the tokens and work when
      the middle ends at the end-of-sentence token, which the engine stops on);
    - anything else with FIM tokens, or a remote server: enabled.
    """
    if info is None:
        return CompletionSupport(
            True, label="remote", reason="The server gives no model details; completion is tried as it is"
        )
    name = str(info.get("model_name") or str(info.get("model_file") or "") or "the model")
    if not info.get("has_fim"):
        return CompletionSupport(
            False,
            reason=(
                f"{name} has no fill-in-the-middle tokens, so it can't complete code at the cursor. "
                "Load a DeepSeek-Coder base or V2-Lite model (or another FIM-capable code model) for completion."
            ),
        )
    specials = info.get("special_tokens") or {}
    deepseek_v1 = (
        str(specials.get("fim_pre", "")) == "<｜fim▁begin｜>"
        and int(info.get("n_ctx_train") or 0) <= 16384
        and "deepseek2" != info.get("architecture")
    )
    looks_instruct = bool(_INSTRUCT_RE.search(name)) or bool(_INSTRUCT_RE.search(str(info.get("model_file") or "")))
    if deepseek_v1 and looks_instruct:
        return CompletionSupport(
            True,
            label="unofficial",
            reason=(
                f"{name} is an instruct model: DeepSeek trained fill-in-the-middle into the base models only. "
                "It works, stopping at the end-of-sentence token, but a base model completes better."
            ),
        )
    return CompletionSupport(True)


def language_enabled(language: str, disabled_languages: Iterable[str]) -> bool:
    return language not in set(disabled_languages)
