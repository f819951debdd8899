"""Generating text on a KV slot: sampling, stop rules, streaming deltas, speculative checks.

Generation is a plain loop over `llama_decode` and llama.cpp's sampler chain, so every
stop rule (stop token ids, stop strings, max tokens, cancel) is checked on each token.
Stop strings are held back until they can be ruled out, so a stop string never reaches
the output, even split across tokens.

With a drafter, the loop decodes the last token together with guessed next tokens and
samples at each position in turn: a guess is kept while it equals what the sampler
picks there, so the text is what plain decoding gives from the same logits (see
app/engine/drafting.py for where llama.cpp's batch rounding makes a near-tie differ).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import llama_cpp

from app.engine.abort import GenerationCancelled
from app.engine.drafting import DraftChain
from app.engine.slots import KvSlot
from app.engine.vocab import Vocabulary
from app.protocol.options import SamplingParams


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0  # prompt tokens whose KV was reused (live, shifted or from the state cache)
    prompt_ms: float = 0.0
    decode_ms: float = 0.0
    draft_tokens: int = 0
    draft_accepted: int = 0
    draft_pauses: int = 0  # times drafting stopped in this answer because it did not pay
    cache_restored: bool = False  # the prompt started from the prompt-state cache

    def as_dict(self) -> dict[str, object]:
        rate = self.draft_accepted / self.draft_tokens if self.draft_tokens else None
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
            "cached_tokens": self.cached_tokens,
            "prompt_ms": round(self.prompt_ms, 2),
            "decode_ms": round(self.decode_ms, 2),
            "draft_tokens": self.draft_tokens,
            "draft_accepted": self.draft_accepted,
            "draft_acceptance": round(rate, 3) if rate is not None else None,
            "draft_pauses": self.draft_pauses,
            "cache_restored": self.cache_restored,
        }


@dataclass
class GenerationEvent:
    """One step of a stream: a text delta, a queue position, or the end with its reason and usage."""

    delta: str = ""
    finish_reason: str | None = None  # stop, length, cancelled
    usage: Usage | None = None
    waiting: int | None = None  # requests ahead of this one while it is queued
    notes: list[str] = field(default_factory=list)


def make_sampler(params: SamplingParams, n_vocab: int) -> Any:
    """llama.cpp's sampler chain for `params` (the same order as llama-cpp-python's)."""
    chain = llama_cpp.llama_sampler_chain_init(llama_cpp.llama_sampler_chain_default_params())
    add = llama_cpp.llama_sampler_chain_add
    if params.repeat_penalty != 1.0:
        add(chain, llama_cpp.llama_sampler_init_penalties(64, params.repeat_penalty, 0.0, 0.0))
    if params.temperature <= 0:
        add(chain, llama_cpp.llama_sampler_init_greedy())
        return chain
    add(chain, llama_cpp.llama_sampler_init_top_k(params.top_k))
    add(chain, llama_cpp.llama_sampler_init_top_p(params.top_p, 1))
    add(chain, llama_cpp.llama_sampler_init_min_p(params.min_p, 1))
    add(chain, llama_cpp.llama_sampler_init_temp(params.temperature))
    seed = params.seed if params.seed is not None and params.seed >= 0 else llama_cpp.LLAMA_DEFAULT_SEED
    add(chain, llama_cpp.llama_sampler_init_dist(seed))
    return chain


class TextOut:
    """Turns token bytes into text deltas: whole UTF-8 characters, stop strings held back."""

    def __init__(self, stops: Sequence[str]) -> None:
        self.stops = tuple(s for s in stops if s)
        self.pending = b""  # bytes of an incomplete UTF-8 character
        self.held = ""  # text that might be the start of a stop string
        self.stopped = False

    def feed(self, piece: bytes) -> str:
        """The text that is safe to send after `piece`; sets `stopped` at a stop string."""
        self.pending += piece
        try:
            text, self.pending = self.pending.decode("utf-8"), b""
        except UnicodeDecodeError:
            if len(self.pending) < 4:
                return ""
            text, self.pending = self.pending.decode("utf-8", errors="replace"), b""
        self.held += text
        if not self.stops:
            out, self.held = self.held, ""
            return out
        cut = _find_stop(self.held, self.stops)
        if cut is not None:
            out, self.held, self.stopped = self.held[:cut], "", True
            return out
        safe = len(self.held) - _partial_stop_len(self.held, self.stops)
        out, self.held = self.held[:safe], self.held[safe:]
        return out

    def flush(self) -> str:
        out, self.held = self.held, ""
        return out


@dataclass
class Generation:
    """One request's generation on a slot whose KV already holds the prompt (all but its
    sampled continuation): the slot's last batch has the logits to sample from."""

    slot: KvSlot
    vocab: Vocabulary
    params: SamplingParams
    stop_ids: frozenset[int]
    max_tokens: int
    drafts: DraftChain | None = None
    produced: list[int] = field(default_factory=list)
    finish: str = "length"

    def run(self, cancel: threading.Event, usage: Usage) -> Iterator[str]:
        """Yield text deltas until a stop rule ends the generation (`finish` says which)."""
        sampler = make_sampler(self.params, self.vocab.n_vocab)
        out = TextOut(self.params.stop)
        try:
            token = self.slot.sample(sampler)
            while True:
                delta, done = self._emit(token, out)
                if delta:
                    yield delta
                if done or cancel.is_set():
                    self.finish = "cancelled" if cancel.is_set() and not done else self.finish
                    break
                token, done = yield from self._advance(token, sampler, out, cancel, usage)
                if done:
                    break
        except GenerationCancelled:
            self.finish = "cancelled"
        finally:
            llama_cpp.llama_sampler_free(sampler)
        if self.finish != "cancelled":
            rest = out.flush()
            if rest:
                yield rest

    def _emit(self, token: int, out: TextOut) -> tuple[str, bool]:
        """Account for one chosen token: (text to send, whether generation ends here)."""
        if token in self.stop_ids or self.vocab.is_end(token):
            self.finish = "stop"
            return "", True
        self.produced.append(token)
        text = out.feed(self.vocab.piece(token))
        if out.stopped:
            self.finish = "stop"
            return text, True
        if len(self.produced) >= self.max_tokens:
            self.finish = "length"
            return text, True
        return text, False

    def _advance(
        self, token: int, sampler: Any, out: TextOut, cancel: threading.Event, usage: Usage
    ) -> Generator[str, None, tuple[int, bool]]:
        """Decode `token` and any drafts after it, yielding the text of accepted drafts;
        returns the next token (sampled, not yet decoded) and whether generation ended."""
        slot = self.slot
        room = min(self.max_tokens - len(self.produced), slot.n_ctx - len(slot.tokens) - 2, slot.n_batch - 1)
        drafts: list[int] = []
        if self.drafts is not None:
            self.drafts.extend([token])
            drafts = self.drafts.propose(room, cancel) if room > 0 else []
        slot.decode([token, *drafts], cancel, all_logits=bool(drafts))
        if self.drafts is not None:
            self.drafts.policy.cost.observe(1 + len(drafts), slot.last_decode_s)
        accepted = 0
        ended = False
        next_token = slot.sample(sampler, 0)
        for i, draft in enumerate(drafts):
            if next_token != draft:
                break
            accepted += 1
            delta, ended = self._emit(draft, out)
            if delta:
                yield delta
            if ended:
                break
            next_token = slot.sample(sampler, i + 1)
        if drafts:
            slot.truncate(len(slot.tokens) - (len(drafts) - accepted))
            assert self.drafts is not None
            self.drafts.extend(drafts[:accepted])
            self.drafts.feedback(len(drafts), accepted)
            usage.draft_tokens += len(drafts)
            usage.draft_accepted += accepted
        return next_token, ended


def run_generation(
    generation: Generation, cancel: threading.Event, usage: Usage, started: float
) -> Iterator[GenerationEvent]:
    """Stream a Generation as events, ending with one that has finish_reason and usage."""
    first_at: float | None = None
    for delta in generation.run(cancel, usage):
        if first_at is None:
            first_at = time.perf_counter()
        yield GenerationEvent(delta=delta)
    ended = time.perf_counter()
    usage.completion_tokens = len(generation.produced)
    usage.decode_ms = (ended - (first_at or ended)) * 1000
    yield GenerationEvent(finish_reason=generation.finish, usage=usage)


def _find_stop(text: str, stops: tuple[str, ...]) -> int | None:
    positions = [text.find(s) for s in stops]
    found = [p for p in positions if p >= 0]
    return min(found) if found else None


def _partial_stop_len(text: str, stops: tuple[str, ...]) -> int:
    """Length of the longest tail of `text` that is the start of a stop string."""
    best = 0
    for stop in stops:
        for n in range(min(len(stop) - 1, len(text)), 0, -1):
            if text.endswith(stop[:n]):
                best = max(best, n)
                break
    return best
