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
  so it is on by default. Each guess says how long a stretch of the text it continues
  (its `source`): the policy learns how often each kind is kept.
- `ModelDrafter` asks a small model of the same vocabulary (DeepSeek-Coder 1.3B for
  6.7B or 33B) for the next tokens, when no lookup matched.
- A draft batch costs more than one token; `DraftChain` drafts only where it pays for
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

from app.engine.draft_policy import DraftCost, DraftPolicy, lookup_source, measure_draft_cost
from app.engine.slots import KvSlot
from app.utils.errors import EngineError

log = logging.getLogger(__name__)

NGRAM_MIN = 2
NGRAM_MAX = 4
DRAFT_MAX = 16
PLACES_KEPT = 32  # earlier uses of an n-gram a guess may continue
MATCH_MAX = 64  # a guess's match is counted back this far at most (its kind: app/engine/draft_policy.py)


class Drafter(Protocol):
    def extend(self, tokens: Sequence[int]) -> None: ...
    def propose(self, limit: int, cancel: threading.Event | None = None) -> list[int]: ...


class PromptLookup:
    """Prompt-lookup drafting over the prompt and the answer so far.

    Of the places where the last few tokens occurred before, the guess continues the one
    that matches furthest back: in a rewrite of similar lines (`step_3 = ...`, `step_4 =
    ...`) the latest place is often the line before, whose continuation differs at the
    number, while the line that matches back through the number is the one being copied."""

    shadowed = True  # a guess costs a lookup: one the policy declines is checked in shadow

    def __init__(self, prompt: Sequence[int]) -> None:
        self.history: list[int] = []
        # n-gram -> indexes of the token after its latest uses (at most PLACES_KEPT, oldest first)
        self._follows: dict[tuple[int, ...], list[int]] = {}
        self.source = lookup_source(0)  # the kind of the last guess: how long a stretch it continues
        self.extend(prompt)

    def extend(self, tokens: Sequence[int]) -> None:
        history = self.history
        for token in tokens:
            end = len(history)  # the n-grams ending just before `token` are followed by it
            for n in range(NGRAM_MIN, NGRAM_MAX + 1):
                if end >= n:
                    places = self._follows.setdefault(tuple(history[end - n : end]), [])
                    places.append(end)
                    if len(places) > PLACES_KEPT:
                        del places[0]
            history.append(int(token))

    def propose(self, limit: int, cancel: threading.Event | None = None) -> list[int]:
        history = self.history
        for n in range(NGRAM_MAX, NGRAM_MIN - 1, -1):
            if len(history) < n:
                continue
            places = self._follows.get(tuple(history[-n:]))
            if places:
                matched, start = self._furthest_match(places, n)
                self.source = lookup_source(matched)
                return history[start : start + limit]
        return []

    def _furthest_match(self, places: list[int], n: int) -> tuple[int, int]:
        """(match length, place) of the place that matches furthest back; the latest on a tie.
        A place must match one token further back than the best so far to be counted at all."""
        history, end = self.history, len(self.history)
        best, best_place = 0, places[-1]
        for place in reversed(places):
            further = best + 1
            if best and (place - further < 0 or history[place - further] != history[end - further]):
                continue
            matched = self._match_length(place, n)
            if matched > best:
                best, best_place = matched, place
                if best >= MATCH_MAX:
                    break
        return best, best_place

    def _match_length(self, start: int, matched: int) -> int:
        """How far back the text before `start` equals the end of the history (at least
        `matched`, the n-gram found; counted up to MATCH_MAX): slices compared, doubling
        then halving the step, so a long match costs a few comparisons, not one per token."""
        history, end = self.history, len(self.history)
        longest = min(MATCH_MAX, start)
        step = matched
        while step > 0:
            longer = min(matched + step, longest)
            if longer > matched and history[start - longer : start] == history[end - longer : end]:
                matched = longer
                step *= 2
            else:
                step //= 2
        return matched


class ModelDrafter:
    """Greedy guesses from a small draft model on its own context."""

    shadowed = False  # a guess costs decodes: the policy decides before one is made
    source = "draft model"

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
    """One answer's drafting: prompt lookup first, then the draft model. The policy (the KV
    context's, kept across its answers, or this answer's own) decides per proposal whether
    a batch pays and how many drafts it checks; a lookup guess it declines is checked in
    shadow against the tokens that follow, which teaches the policy at no cost."""

    def __init__(
        self, drafters: Sequence[Any], cost: DraftCost | None = None, policy: DraftPolicy | None = None
    ) -> None:
        self.drafters = list(drafters)
        self.policy = policy or DraftPolicy(cost or DraftCost.free())
        self.policy.start_answer()
        self._pauses_before = self.policy.pauses
        self.proposed = 0
        self.accepted = 0
        self._source = ""  # the kind of the batch in flight
        self._shadowed = True
        self._propose_seconds = 0.0
        self._shadow: tuple[str, list[int]] | None = None  # a declined guess: its kind and drafts
        self._shadow_kept = 0

    @property
    def pauses(self) -> int:
        """Times drafting stopped in this answer because it did not pay."""
        return self.policy.pauses - self._pauses_before

    def extend(self, tokens: Sequence[int]) -> None:
        self.policy.advance(len(tokens))
        for token in tokens:
            self._check_shadow(int(token))
        for drafter in self.drafters:
            drafter.extend(tokens)

    def propose(self, room: int, cancel: threading.Event | None = None) -> list[int]:
        limit = min(DRAFT_MAX, room)
        if limit <= 0 or not self.policy.can_pay:
            return []
        for drafter in self.drafters:
            began = time.perf_counter()
            if drafter.shadowed:
                guess = drafter.propose(limit, cancel)
                k = self.policy.draft_length(drafter.source, len(guess)) if guess else 0
                if k == 0:
                    if guess and self._shadow is None:
                        self._shadow, self._shadow_kept = (drafter.source, guess), 0
                    continue
                drafts = guess[:k]
            else:
                k = self.policy.draft_length(drafter.source, limit, shadowed=False)
                drafts = drafter.propose(k, cancel) if k > 0 else []
            if drafts:
                self._source, self._shadowed = drafter.source, drafter.shadowed
                self._propose_seconds = 0.0 if drafter.shadowed else time.perf_counter() - began
                return drafts
        return []

    def feedback(self, proposed: int, accepted: int) -> None:
        self.policy.feedback(self._source, proposed, accepted, self._propose_seconds, self._shadowed)
        self.proposed += proposed
        self.accepted += accepted

    def _check_shadow(self, token: int) -> None:
        if self._shadow is None:
            return
        source, guess = self._shadow
        if token == guess[self._shadow_kept]:
            self._shadow_kept += 1
            if self._shadow_kept < len(guess):
                return
        self.policy.shadow(source, len(guess), self._shadow_kept)
        self._shadow = None

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
