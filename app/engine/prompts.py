"""Chat prompts: templates rendered in Jinja's sandbox, and fitting a chat into the context.

A GGUF's `tokenizer.chat_template` is untrusted text from the internet, so it is
rendered only in `ImmutableSandboxedEnvironment`; a template that reaches for Python
internals fails with a clear PromptError instead of running code. Files without a
template (the 2023 DeepSeek-Coder GGUFs) get their family's template, chosen from
the vocabulary.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import jinja2
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from app.protocol.deepseek import DS_BOS, DS_EOS, DS_EOT, TEMPLATES_DIR
from app.utils.errors import PromptError

Message = dict[str, str]  # {"role": "system"|"user"|"assistant", "content": "..."}


@dataclass(frozen=True)
class ChatFormat:
    """How one model turns messages into a prompt, and where its answers end."""

    template: str
    family: str  # "gguf" when the file's own template is used, else the family's name
    bos_token: str = ""
    eos_token: str = ""
    stop_token_texts: tuple[str, ...] = ()  # special tokens that end an answer

    def render(self, messages: Sequence[Message], add_generation_prompt: bool = True) -> str:
        return render_template(
            self.template,
            messages,
            bos_token=self.bos_token,
            eos_token=self.eos_token,
            add_generation_prompt=add_generation_prompt,
        )


def _raise_exception(message: str) -> None:
    # Hugging Face templates call raise_exception() to reject bad message orders.
    raise TemplateError(message)


@functools.lru_cache(maxsize=16)
def _compile(template: str) -> jinja2.Template:
    # The same options as transformers' apply_chat_template, so GGUF templates render
    # byte for byte as their authors tested them.
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False)
    env.globals["raise_exception"] = _raise_exception
    return env.from_string(template)


def render_template(
    template: str,
    messages: Sequence[Message],
    *,
    bos_token: str = "",
    eos_token: str = "",
    add_generation_prompt: bool = True,
) -> str:
    """Render a chat template safely; every failure becomes a PromptError."""
    try:
        compiled = _compile(template)
        return compiled.render(
            messages=[dict(m) for m in messages],
            bos_token=bos_token,
            eos_token=eos_token,
            add_generation_prompt=add_generation_prompt,
        )
    except SecurityError as exc:
        raise PromptError(
            "The model's chat template tried to reach Python internals and was stopped",
            "Use a different GGUF file for this model; this one's template is unsafe",
            detail=str(exc),
        ) from exc
    except TemplateError as exc:
        raise PromptError(
            f"The model's chat template failed: {exc}",
            "Use a different GGUF file, or report the template to its publisher",
            detail=str(exc),
        ) from exc


def family_template(family: str) -> str:
    return (TEMPLATES_DIR / f"{family}.jinja").read_text(encoding="utf-8")


def detect_family(vocab_texts: set[str], architecture: str) -> str | None:
    """Which DeepSeek-Coder family a vocabulary belongs to, or None."""
    if DS_EOT in vocab_texts and DS_BOS in vocab_texts:
        return "deepseek-v1"
    if architecture == "deepseek2" or (DS_BOS in vocab_texts and DS_EOS in vocab_texts):
        return "deepseek-v2"
    return None


def choose_chat_format(
    gguf_template: str | None,
    vocab_texts: set[str],
    architecture: str,
    bos_token: str,
    eos_token: str,
) -> ChatFormat:
    """The file's own template when it has one, else the DeepSeek family's."""
    family = detect_family(vocab_texts, architecture)
    stops: tuple[str, ...] = ()
    if family == "deepseek-v1":
        stops = (DS_EOT, DS_EOS)
    elif family == "deepseek-v2":
        stops = (DS_EOS,)
    if gguf_template:
        return ChatFormat(gguf_template, "gguf", bos_token, eos_token, stops)
    if family is None:
        raise PromptError(
            "This model file has no chat template and is not a DeepSeek-Coder file, so the app "
            "cannot tell how to format a chat for it",
            "Use it for code completion, or choose an instruct model that carries a chat template",
        )
    return ChatFormat(family_template(family), family, bos_token, eos_token, stops)


@dataclass
class FittedChat:
    """The messages that fit, and what was dropped to make them fit."""

    messages: list[Message]
    prompt: str
    prompt_tokens: int
    max_tokens: int
    dropped_turns: int = 0
    notes: list[str] = field(default_factory=list)


def fit_chat(
    chat_format: ChatFormat,
    messages: Sequence[Message],
    count_tokens: Callable[[str], int],
    n_ctx: int,
    max_tokens: int,
    min_answer_tokens: int = 64,
) -> FittedChat:
    """Drop the oldest turns until prompt plus answer fit the context; never cut silently.

    The system message and the last user message always stay. When even they don't
    fit with `max_tokens` of room, the answer budget shrinks (down to
    `min_answer_tokens`), with a note; below that the request fails with a PromptError.
    """
    system = [m for m in messages if m["role"] == "system"][:1]
    turns = [m for m in messages if m["role"] != "system"]
    dropped = 0
    notes: list[str] = []
    while True:
        kept = system + turns
        prompt = chat_format.render(kept)
        tokens = count_tokens(prompt)
        if tokens + max_tokens <= n_ctx:
            break
        # Drop the oldest whole turn (a user message and the answers after it).
        if len(turns) > 1:
            cut = 1
            while cut < len(turns) - 1 and turns[cut]["role"] != "user":
                cut += 1
            dropped += sum(1 for m in turns[:cut] if m["role"] == "user") or 1
            turns = turns[cut:]
            continue
        room = n_ctx - tokens
        if room >= min_answer_tokens:
            notes.append(
                f"The answer is limited to {room} tokens (not {max_tokens}) so that it fits the "
                f"context of {n_ctx} tokens."
            )
            max_tokens = room
            break
        raise PromptError(
            f"The message is {tokens} tokens long but the context holds {n_ctx} tokens, with room "
            f"needed for the answer",
            "Shorten the message (or the included file), or raise the context size in Settings",
        )
    if dropped:
        notes.insert(
            0,
            f"{dropped} oldest turn{'s' if dropped != 1 else ''} left out so that the conversation fits "
            f"the context of {n_ctx} tokens.",
        )
    return FittedChat(list(kept), prompt, tokens, max_tokens, dropped, notes)
