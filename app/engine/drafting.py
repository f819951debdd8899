"""Draft tokens for speculative decoding: guesses that the model checks in one batch.

Rewrite-style requests (Apply, Fix this error, Refactor, Add docstrings, tests for a
selection) repeat most of their input. A guess of the next few tokens costs little to
check: the model evaluates the last token and the guesses in one batch, which on a CPU
takes about as long as one token, and keeps the guesses it would have produced itself.
Each kept guess is the token the sampler picks from the model's own logits at that place,
so the answer is the one plain decoding gives: token for token where the arithmetic is
exact (the f32 test model; tested). llama.cpp 0.3.36 on the CPU rounds a batch
differently from single tokens (measured: logits up to 0.4 apart on a Q4_K model, from a
batch of 2 on at a long context), so at a near-tie a greedy answer can take the other
token. A request sends `"speculative": false` for plain decoding.

- `PromptLookup` guesses from the text so far (prompt and answer): when the last few
  tokens occurred before, what followed them then is the guess (prompt-lookup decoding).
  It costs a dictionary lookup per token and proposes nothing when there is no match,
  so it is on by default; its draft length adapts to how much of it was accepted.
- `ModelDrafter` asks a small model of the same vocabulary (DeepSeek-Coder 1.3B for
  6.7B or 33B) for the next tokens, when no lookup matched.
- A draft batch costs more than one token; `DraftChain` drafts only while it pays for
  this model on this machine (app/engine/draft_policy.py), so an answer that does not
  repeat its input decodes as fast as without drafting.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import llama_cpp

from app.engine.draft_policy import DraftCost, DraftPolicy, measure_draft_cost
from app.engine.slots import KvSlot
from app.utils.errors import EngineError

log = logging.getLogger(__name__)

NGRAM_MIN = 2
NGRAM_MAX = 4
DRAFT_START = 8
DRAFT_MAX = 16


class Drafter(Protocol):
    def extend(self, tokens: Sequence[int]) -> None: ...
    def propose(self, limit: int, cancel: threading.Event | None = None) -> list[int]: ...


class PromptLookup:
    """Prompt-lookup drafting over the prompt and the answer so far."""

    def __init__(self, prompt: Sequence[int]) -> None:
        self.history: list[int] = []
        self._follows: dict[tuple[int, ...], int] = {}  # n-gram -> index of the token after its latest use
        self.extend(prompt)

    def extend(self, tokens: Sequence[int]) -> None:
        history = self.history
        for token in tokens:
            end = len(history)  # the n-grams ending just before `token` are followed by it
            for n in range(NGRAM_MIN, NGRAM_MAX + 1):
                if end >= n:
                    self._follows[tuple(history[end - n : end])] = end
            history.append(int(token))

    def propose(self, limit: int, cancel: threading.Event | None = None) -> list[int]:
        history = self.history
        for n in range(NGRAM_MAX, NGRAM_MIN - 1, -1):
            if len(history) < n:
                continue
            start = self._follows.get(tuple(history[-n:]))
            if start is not None:
                return history[start : start + limit]
        return []


class ModelDrafter:
    """Greedy guesses from a small draft model on its own context."""

    def __init__(self, slot: KvSlot, prompt: Sequence[int]) -> None:
        self.slot = slot
        self.history = list(prompt)
        self._sampler = llama_cpp.llama_sampler_init_greedy()

    def close(self) -> None:
        llama_cpp.llama_sampler_free(self._sampler)

    def extend(self, tokens: Sequence[int]) -> None:
        self.history.extend(int(t) for t in tokens)

    def propose(self, limit: int, cancel: threading.Event | None = None) -> list[int]:
        slot = self.slot
        if len(self.history) + limit >= slot.n_ctx:
            return []
        keep = slot.reuse_prefix(self.history)
        slot.decode(self.history[keep:], cancel)
        drafts: list[int] = []
        while len(drafts) < limit:
            token = slot.sample(self._sampler)
            drafts.append(token)
            if len(drafts) < limit:
                slot.decode([token], cancel)
        return drafts


def measure_slot_draft_cost(slot: KvSlot, token: int) -> DraftCost:
    """What a batch of drafts costs against one token on `slot` (left empty), for this model
    on this machine; free (drafting not held back) if it can't be measured."""
    try:
        cost = measure_draft_cost(
            lambda tokens, logits: slot.decode(tokens, all_logits=logits), slot.truncate, max(token, 0)
        )
    except EngineError as exc:
        log.warning("could not measure what drafts cost (%s); drafting is not held back", exc)
        return DraftCost.free()
    finally:
        slot.clear()
    log.info("draft cost on this machine: %s", cost.as_dict())
    return cost


class DraftChain:
    """One answer's drafting: prompt lookup first, then the draft model; the draft length
    adapts to acceptance and to what a batch costs, and drafting pauses while it does not
    pay (`DraftPolicy`: the KV context's, kept across its answers, or this answer's own)."""

    def __init__(
        self, drafters: Sequence[Any], cost: DraftCost | None = None, policy: DraftPolicy | None = None
    ) -> None:
        self.drafters = list(drafters)
        self.policy = policy or DraftPolicy(cost or DraftCost.free())
        self.policy.start_answer()
        self._pauses_before = self.policy.pauses
        self.length = DRAFT_START
        self.proposed = 0
        self.accepted = 0
        self._propose_seconds = 0.0

    @property
    def pauses(self) -> int:
        """Times drafting stopped in this answer because it did not pay."""
        return self.policy.pauses - self._pauses_before

    def extend(self, tokens: Sequence[int]) -> None:
        for drafter in self.drafters:
            drafter.extend(tokens)

    def propose(self, room: int, cancel: threading.Event | None = None) -> list[int]:
        limit = min(self.length, room)
        if limit <= 0 or not self.policy.should_draft():
            return []
        limit = self.policy.draft_length(limit)
        began = time.perf_counter()
        try:
            for drafter in self.drafters:
                drafts = drafter.propose(limit, cancel)
                if drafts:
                    return drafts
            return []
        finally:
            self._propose_seconds = time.perf_counter() - began

    def feedback(self, proposed: int, accepted: int) -> None:
        self.policy.feedback(proposed, accepted, self._propose_seconds)
        self.proposed += proposed
        self.accepted += accepted
        if accepted == proposed:
            self.length = min(DRAFT_MAX, self.length * 2)
        else:
            self.length = max(2, accepted + 1)

    def close(self) -> None:
        for drafter in self.drafters:
            close = getattr(drafter, "close", None)
            if close is not None:
                close()


@dataclass
class DraftTotals:
    """Acceptance over the engine's life, for its info."""

    proposed: int = 0
    accepted: int = 0
    requests: int = 0
    pauses: int = 0  # times drafting stopped because it did not pay
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, proposed: int, accepted: int, pauses: int = 0) -> None:
        with self._lock:
            self.proposed += proposed
            self.accepted += accepted
            self.requests += 1 if proposed else 0
            self.pauses += pauses

    def as_dict(self) -> dict[str, object]:
        with self._lock:
            rate = self.accepted / self.proposed if self.proposed else None
            return {
                "proposed": self.proposed,
                "accepted": self.accepted,
                "acceptance_rate": round(rate, 3) if rate is not None else None,
                "pauses": self.pauses,
            }
