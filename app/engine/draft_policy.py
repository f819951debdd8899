"""When drafting pays: the measured cost of a draft batch, and the decision to draft.

Checking k drafts means evaluating k + 1 tokens in one batch, with logits for each. On a
CPU that batch costs more than one token, and how much more depends on the model and the
machine: the logits of a 151K-token vocabulary are a large share of a small model's work,
a 32K one's much less. `measure_draft_cost` times it on the loaded model at start
(`cost_ratio(k)`: a batch of 1 + k tokens against one token).

A batch that proposed k drafts and kept `accepted` of them gave 1 + accepted tokens for
`cost_ratio(k)` tokens' time; drafting pays while that speed-up stays above 1. So the break-
even acceptance (the share of proposed drafts that must be kept) is (cost_ratio(k) - 1) / k.

`DraftPolicy` follows the running speed-up of draft batches on one KV context, across its
answers (a short moving average, so a few losing batches are enough): below 1 it stops
drafting and probes again after a back-off that doubles while probes keep losing (16, 32,
... 512 tokens) and resets when one pays. Each answer starts in the mode that history says
pays: a context whose drafts did not pay starts its next answer paused (inline completions
are a few dozen tokens: probing at their start would cost them most of their tokens), and
the pause counts down across answers. Two more rules keep drafting from ever slowing:

- where the measured cost says no batch can pay at an achievable acceptance (break-even
  above MAX_ACHIEVABLE_ACCEPTANCE for every size), it never drafts;
- the number of drafts in a batch is the one with the best expected speed-up at the
  running acceptance (`best_draft_length`): small where batches cost much, long only while
  nearly every draft is kept.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable, Sequence

MEASURED_K = (1, 2, 4, 8, 16)
GAIN_WEIGHT = 0.5  # weight of the newest batch in the running speed-up: two losing batches stop drafting
MIN_ROUNDS, MAX_ROUNDS, MIN_TIMED_S = 3, 30, 0.1  # timing rounds over the batch sizes
OBSERVED_WEIGHT = 0.1  # weight of the newest real decode in its size's running average
PAUSE_BELOW = 0.999  # a running speed-up under this pauses drafting (not 1.0: timer noise on free drafts)
FIRST_BACKOFF = 16  # tokens without drafts after drafting stopped paying
MAX_BACKOFF = 512
ANSWER_START_PAUSE = 32  # at most this much of a paused context's back-off carries into a new answer
MAX_ACHIEVABLE_ACCEPTANCE = 0.9  # a break-even above this at every batch size: drafting can't pay
ACCEPTANCE_WEIGHT = 0.3  # weight of the newest batch in the running acceptance


def break_even_acceptance(ratio: float, k: int) -> float:
    """The share of k proposed drafts that must be kept for a batch costing `ratio` tokens to pay."""
    return max(0.0, (ratio - 1.0) / k) if k > 0 else 0.0


def batch_speedup(accepted: int, ratio: float) -> float:
    """Tokens per single-token time that a draft batch gave: above 1 it paid."""
    return (1 + accepted) / max(ratio, 1e-9)


def expected_speedup(acceptance: float, ratio: float, k: int) -> float:
    """The speed-up of a batch of k drafts when each is kept with probability `acceptance`
    while the ones before it were (the kept drafts are a run from the first)."""
    kept = sum(acceptance**i for i in range(1, k + 1))
    return (1 + kept) / max(ratio, 1e-9)


class DraftCost:
    """Seconds per decode by batch size (1 and 1 + k), measured at start, then followed by
    real decodes: a size that answers decoded takes their running average, and the sizes not
    seen yet keep the start's shape at the level real single tokens show (a start measured
    while the machine was busier, or idler, than now is scaled, not believed as it was)."""

    def __init__(self, seconds_by_size: dict[int, float], *, learns: bool = False) -> None:
        self.learns = learns  # whether real decodes refine it (a measured cost; not a given one)
        self._seconds = dict(seconds_by_size)
        self._sizes = sorted(self._seconds)
        self._observed: dict[int, float] = {}  # running average of real decodes, by batch size
        self._lock = threading.Lock()

    @classmethod
    def free(cls) -> DraftCost:
        """Drafts that cost nothing (not measured): drafting always pays."""
        return cls({1: 1.0, 2: 1.0})

    def seconds(self, size: int) -> float:
        """Time of a batch of `size` tokens: as real decodes of that size took, else as at start
        (interpolated between the measured sizes) scaled to what single tokens take now."""
        with self._lock:
            observed, single = self._observed.get(size), self._observed.get(1)
        if observed is not None:
            return observed
        start = self._at_start(size)
        return start * single / self._at_start(1) if single is not None else start

    def observe(self, size: int, seconds: float) -> None:
        """A real decode of `size` tokens took `seconds`."""
        if seconds <= 0 or not self.learns:
            return
        with self._lock:
            before = self._observed.get(size)
            self._observed[size] = seconds if before is None else before + OBSERVED_WEIGHT * (seconds - before)

    def _at_start(self, size: int) -> float:
        sizes, seconds = self._sizes, self._seconds
        if size in seconds:
            return seconds[size]
        at = bisect.bisect_left(sizes, size)
        if at == 0:
            return seconds[sizes[0]]
        if at == len(sizes):
            low, high = sizes[-2] if len(sizes) > 1 else sizes[-1], sizes[-1]
        else:
            low, high = sizes[at - 1], sizes[at]
        if low == high:
            return seconds[high] * size / high
        slope = (seconds[high] - seconds[low]) / (high - low)
        return seconds[low] + slope * (size - low)

    def ratio(self, k: int) -> float:
        """What a batch checking k drafts costs, in single tokens' time."""
        return self.seconds(1 + k) / self.seconds(1)

    def can_pay(self, max_k: int = MEASURED_K[-1]) -> bool:
        """Whether some batch of up to `max_k` drafts pays at an achievable acceptance."""
        return any(break_even_acceptance(self.ratio(k), k) <= MAX_ACHIEVABLE_ACCEPTANCE for k in range(1, max_k + 1))

    def as_dict(self) -> dict[str, object]:
        return {
            "single_token_ms": round(self.seconds(1) * 1000, 3),
            "cost_ratio": {str(k): round(self.ratio(k), 3) for k in MEASURED_K},
            "break_even_acceptance": {str(k): round(break_even_acceptance(self.ratio(k), k), 3) for k in MEASURED_K},
        }


def measure_draft_cost(
    decode: Callable[[Sequence[int], bool], None], keep: Callable[[int], None], token: int
) -> DraftCost:
    """Time `decode` of one token and of batches of 1 + k (with every position's logits)
    after a few cells to attend to; `keep(n)` cuts the context back to n cells between runs.

    Each size is warmed up once (llama.cpp sizes its output buffer on first use), then the
    sizes are timed in turn, round after round (so a burst of other work on the machine
    hits them all), at least MIN_ROUNDS rounds and MIN_TIMED_S; each size's fastest run
    counts, since other work only ever adds time."""
    sizes = (1, *(1 + k for k in MEASURED_K))
    keep(0)
    decode([token] * 8, False)  # a few cells to attend to, as in an answer
    for size in sizes:
        decode([token] * size, size > 1)
        keep(8)
    runs: dict[int, list[float]] = {size: [] for size in sizes}
    spent = 0.0
    while len(runs[1]) < MIN_ROUNDS or (spent < MIN_TIMED_S and len(runs[1]) < MAX_ROUNDS):
        for size in sizes:
            began = time.perf_counter()
            decode([token] * size, size > 1)
            took = time.perf_counter() - began
            runs[size].append(took)
            spent += took
            keep(8)
    keep(0)
    seconds: dict[int, float] = {}
    for size in sizes:  # a larger batch never costs less: a smaller figure is noise from other work
        seconds[size] = max([min(runs[size]), *seconds.values()])
    return DraftCost(seconds, learns=True)


def best_draft_length(acceptance: float, cost: DraftCost, limit: int) -> int:
    """The number of drafts (1..limit) with the best expected speed-up at `acceptance`, among
    the lengths that can pay at all (a batch too short to ever pay teaches nothing)."""
    if limit <= 1:
        return max(0, limit)
    lengths = [
        k for k in range(1, limit + 1) if break_even_acceptance(cost.ratio(k), k) <= MAX_ACHIEVABLE_ACCEPTANCE
    ] or [limit]
    return max(lengths, key=lambda k: expected_speedup(acceptance, cost.ratio(k), k))


class DraftPolicy:
    """Whether to draft at the next token, from the running speed-up of one KV context's
    draft batches; it lives as long as the context, across its answers (`start_answer`)."""

    def __init__(self, cost: DraftCost) -> None:
        self.cost = cost
        self.gain = 1.0  # running speed-up of draft batches; starts neutral, so drafting is tried
        self.acceptance = 1.0  # running share of drafts kept; starts hopeful, so the first batch is full
        self.backoff = FIRST_BACKOFF
        self.paused_for = 0  # tokens left before the next probe
        self.pauses = 0
        self.can_pay = True
        self._probing = False

    def start_answer(self) -> None:
        """A new answer on this context: draft only if the cost allows it at all, and start
        paused when the history says drafting does not pay here (its back-off carries over,
        up to ANSWER_START_PAUSE tokens, so a rewrite after many plain answers probes soon)."""
        self.can_pay = self.cost.can_pay()
        if self.paused_for > 0:
            self.paused_for = min(self.paused_for, ANSWER_START_PAUSE)

    def should_draft(self) -> bool:
        """Called once per token: False while drafting is paused, or when it can't pay."""
        if not self.can_pay:
            return False
        if self.paused_for > 0:
            self.paused_for -= 1
            if self.paused_for == 0:
                self._probing = True
                self.gain = 1.0  # the probe starts from neutral
                self.acceptance = 1.0  # and hopeful: a full batch, the one that pays if the text now repeats
            return False
        return True

    def draft_length(self, limit: int) -> int:
        """How many drafts to check in the next batch: the best at the running acceptance."""
        return best_draft_length(self.acceptance, self.cost, limit)

    def feedback(self, proposed: int, accepted: int, extra_seconds: float = 0.0) -> None:
        """A draft batch's outcome; `extra_seconds`: the time proposing took (a draft model's decodes)."""
        if proposed <= 0:
            return
        ratio = self.cost.ratio(proposed) + extra_seconds / self.cost.seconds(1)
        speedup = batch_speedup(accepted, ratio)
        self.gain += GAIN_WEIGHT * (speedup - self.gain)
        self.acceptance += ACCEPTANCE_WEIGHT * (accepted / proposed - self.acceptance)
        if self.gain < PAUSE_BELOW:
            self.paused_for = self.backoff
            self.pauses += 1
            self.backoff = min(MAX_BACKOFF, self.backoff * 2)  # the next pause, if the probe loses too
        elif self._probing:
            self.backoff = FIRST_BACKOFF  # the probe paid
        self._probing = False
