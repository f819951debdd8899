"""The loaded model's vocabulary: tokenizing prompts, special tokens, and fill-in-the-middle.

Fill-in-the-middle prompts are built from the vocabulary's FIM token ids
(`llama_vocab_fim_pre/suf/mid`), never by parsing text, so user code that contains
special-token text stays text. (llama-cpp-python's `create_completion(suffix=...)`
builds broken FIM prompts: it puts token id 0 where the FIM tokens go.)
"""

from __future__ import annotations

from collections.abc import Iterable

import llama_cpp

from app.engine import llama_private as _internals  # llama-cpp-python's private API, through one door
from app.utils.errors import PromptError


def fim_missing() -> PromptError:
    """A new error each time: one instance raised from many request threads would share its traceback."""
    return PromptError(
        "This model has no fill-in-the-middle tokens, so it can't complete code at the cursor",
        "Use a DeepSeek-Coder base or V2-Lite model (or another FIM-capable code model) for completion",
    )


class Vocabulary:
    """Token ids and texts of one loaded model."""

    def __init__(self, model: _internals.LlamaModel) -> None:
        self._model = model
        self.vocab = model.vocab
        self.n_vocab = int(llama_cpp.llama_vocab_n_tokens(self.vocab))
        self.bos = int(llama_cpp.llama_vocab_bos(self.vocab))
        self.eos = int(llama_cpp.llama_vocab_eos(self.vocab))
        self.eot = int(llama_cpp.llama_vocab_eot(self.vocab))
        self.add_bos = bool(llama_cpp.llama_vocab_get_add_bos(self.vocab))
        self.fim_ids = (
            int(llama_cpp.llama_vocab_fim_pre(self.vocab)),
            int(llama_cpp.llama_vocab_fim_suf(self.vocab)),
            int(llama_cpp.llama_vocab_fim_mid(self.vocab)),
        )
        # Repository-level FIM (Qwen2.5-Coder's <|repo_name|> and <|file_sep|>); -1 when absent.
        self.fim_repo_ids = (
            int(llama_cpp.llama_vocab_fim_rep(self.vocab)),
            int(llama_cpp.llama_vocab_fim_sep(self.vocab)),
        )

    @property
    def has_fim(self) -> bool:
        return all(t >= 0 for t in self.fim_ids)

    @property
    def has_repo_fim(self) -> bool:
        return all(t >= 0 for t in self.fim_repo_ids)

    def all_texts(self) -> set[str]:
        return {self.token_text(i) for i in range(self.n_vocab)}

    def token_text(self, token: int) -> str:
        if token < 0:
            return ""
        raw = llama_cpp.llama_vocab_get_text(self.vocab, token)
        return raw.decode("utf-8", errors="replace") if raw else ""

    def token_id(self, text: str) -> int | None:
        ids = self.tokenize(text, special=True)
        return ids[0] if len(ids) == 1 else None

    def is_end(self, token: int) -> bool:
        return bool(llama_cpp.llama_vocab_is_eog(self.vocab, token))

    def stop_ids(self, stop_texts: Iterable[str]) -> frozenset[int]:
        """End-of-generation ids: EOS, EOT and the chat format's stop tokens."""
        ids = {self.eos, self.eot}
        for text in stop_texts:
            token = self.token_id(text)
            if token is not None:
                ids.add(token)
        return frozenset(i for i in ids if i >= 0)

    def tokenize(self, text: str, *, special: bool) -> list[int]:
        return list(self._model.tokenize(text.encode("utf-8"), add_bos=False, special=special))

    def piece(self, token: int) -> bytes:
        """The bytes of one generated token (special tokens give none)."""
        return bytes(self._model.detokenize([token], special=False))

    def prompt_tokens(self, text: str) -> list[int]:
        """A rendered prompt: template special tokens are parsed, BOS added once."""
        tokens = self.tokenize(text, special=True)
        if self.add_bos and self.bos >= 0 and (not tokens or tokens[0] != self.bos):
            tokens.insert(0, self.bos)
        return tokens

    def fim_tokens(self, prefix: str, suffix: str, budget: int) -> list[int]:
        """PSM order: <PRE> prefix <SUF> suffix <MID>, code tokenized as text only, within
        `budget` tokens (keeping the code nearest the cursor)."""
        if not self.has_fim:
            raise fim_missing()
        pre, suf, mid = self.fim_ids
        prefix_ids = self.tokenize(prefix, special=False)
        suffix_ids = self.tokenize(suffix, special=False)
        room = budget - 4
        if len(prefix_ids) + len(suffix_ids) > room:
            keep_suffix = min(len(suffix_ids), room // 4)
            suffix_ids = suffix_ids[:keep_suffix]
            prefix_ids = prefix_ids[-(room - keep_suffix) :] if room > keep_suffix else []
        tokens = [pre, *prefix_ids, suf, *suffix_ids, mid]
        if self.add_bos and self.bos >= 0:
            tokens.insert(0, self.bos)
        return tokens

    def special_texts(self) -> dict[str, str]:
        ids = {"bos": self.bos, "eos": self.eos, "eot": self.eot}
        ids.update(zip(("fim_pre", "fim_suf", "fim_mid"), self.fim_ids, strict=True))
        return {name: text for name, token in ids.items() if (text := self.token_text(token))}
