"""When drafting pays: the measured cost of a draft batch, and the decision to draft.

Checking k drafts means evaluating k + 1 tokens in one batch, with logits for each. On a
CPU that batch costs more than one token, and how much more depends on the model and the
machine: the logits of a 151K-token vocabulary are a large share of a small model's work,
a 32K one's much less. `measure_draft_cost` times it on the loaded model at start
(`cost_ratio(k)`: a batch of 1 + k tokens against one token), and real decodes refine it.

A batch that proposed k drafts and kept `accepted` of them gave 1 + accepted tokens for
`cost_ratio(k)` tokens' time. Drafts are kept as a run from the first, so what predicts a
batch is the chance `p` that a draft is kept once the ones before it were (a rewrite that
copies its input: p near 1; an answer that does not: near 0), and a batch of k is worth
(1 + p + ... + p^k) / cost_ratio(k) tokens per token's time (`expected_speedup`).

`DraftPolicy` drafts only where that is above 1, with the k that makes it largest. It
estimates p per kind of proposal (`source`): prompt lookup by how long a stretch of the
text so far its guess continues (a guess that continues the last 16 tokens of the input
is kept far more often than one that continues the last 2), and a draft model on its own.
The estimate counts kept drafts and misses (a batch that stopped before its end), so a
long batch that kept half of its drafts reads as the run it was, not as a 50% chance.

A proposal the policy declines still teaches it: the chain checks it against the tokens
that follow (a "shadow" draft, free: no batch is evaluated), so a kind of proposal that
starts to pay (the answer starts repeating its input) is drafted within one proposal's
length, and one that stopped paying stops after a miss or two. Each kind starts doubtful
(prompt lookup must show that it pays, in shadow, before a batch is spent on it), except
a draft model, whose guesses cost decodes to make and so can't be checked in shadow: it
starts hopeful, and after its estimate fell below paying it waits a back-off that doubles
(16, 32, ... 512 tokens) before it is tried again from its start. The estimates live as
long as the KV context, across its answers. Where a given cost says no batch can pay even
when nearly every draft is kept (`DraftCost.can_pay`), nothing is drafted.

A measured cost is refined only by the batches drafted, so a start-up measurement that a
burst of other work inflated (one token at 242 ms instead of 20: batches read 28 tokens'
time) would stop drafting for the engine's life: the sizes it priced out are never drafted,
so never measured again. So when a lookup kind's shadow record says its guesses are kept
often enough that a batch would pay at a quarter of the recorded cost (or at half a
token's time per draft, dearer than any CPU has shown), the policy spends an exploratory
batch at that size (`DraftPolicy.explorations`), whose real time, against the single
tokens just before it, replaces the stale ratio (and lowers the sizes not seen since). At most one per EXPLORE_FIRST_GAP
tokens, the gap doubling (to EXPLORE_MAX_GAP) while they keep losing, and never on an answer
whose guesses are not kept: a non-repeating answer spends no batch. This was chosen over
measuring again when the engine is idle: it needs no idle time (a busy user's engine may
never be idle), it measures the size that matters under the load that real answers see, and
it costs nothing unless a copy is being missed.
"""

from __future__ import annotations

import bisect
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

MEASURED_K = (1, 2, 4, 8, 16)
MIN_ROUNDS, MAX_ROUNDS, MIN_TIMED_S = 3, 30, 0.1  # timing rounds over the batch sizes
OBSERVED_WINDOW = 32  # real decodes kept per batch size
NEARBY_SINGLES = 8  # a real batch is compared with the median of this many single tokens before it
DRAFT_ABOVE = 1.05  # the expected speed-up a batch must promise: the cost and p are estimates
BEST_CASE_P = 0.95  # the p of a faithful copy: a cost that can't pay even at this never drafts
PRIOR_KEPT, PRIOR_MISSED = 1.0, 1.0  # prompt lookup starts at p = 0.5, worth two drafts: it must prove itself
HOPEFUL_KEPT, HOPEFUL_MISSED = 9.0, 1.0  # a draft model starts at p = 0.9: it can't be checked in shadow
EXTRA_WEIGHT = 0.3  # weight of the newest batch in what making a draft costs
RATE_DECAY = 0.9  # weight left to older drafts at each one checked: p follows the last dozen or so
FIRST_BACKOFF = 16  # tokens a draft model waits after its estimate fell below paying
MAX_BACKOFF = 512
EXPLORE_DISCOUNT = 4.0  # a recorded cost is doubted when a batch would pay at this fraction of it,
EXPLORE_COST_PER_DRAFT = 0.5  # or at this many tokens' time per draft: above what CPUs show (the weights
# are read once per batch; the 151K-vocabulary test model's 16 drafts cost 5 tokens' time on a 2-core EPYC)
EXPLORE_FIRST_GAP, EXPLORE_MAX_GAP = 64, 4096  # tokens between exploratory batches, doubling while they lose
MATCH_CLASSES = (2, 4, 8, 16)  # prompt lookup's kinds: its guess continues at least this many tokens


def break_even_acceptance(ratio: float, k: int) -> float:
    """The share of k proposed drafts that must be kept for a batch costing `ratio` tokens to pay."""
    return max(0.0, (ratio - 1.0) / k) if k > 0 else 0.0


def batch_speedup(accepted: int, ratio: float) -> float:
    """Tokens per single-token time that a draft batch gave: above 1 it paid."""
    return (1 + accepted) / max(ratio, 1e-9)


def expected_speedup(p: float, ratio: float, k: int) -> float:
    """The speed-up of a batch of k drafts when each is kept with probability `p` while the
    ones before it were (the kept drafts are a run from the first)."""
    kept = sum(p**i for i in range(1, k + 1))
    return (1 + kept) / max(ratio, 1e-9)


def break_even_kept_rate(ratio: float, k: int) -> float:
    """The chance p (a draft kept once the ones before it were) at which a batch of k drafts
    costing `ratio` tokens breaks even; above 1 when no p can pay for it."""
    if expected_speedup(1.0, ratio, k) <= 1.0:
        return float("inf") if ratio > 1 + k else 1.0
    low, high = 0.0, 1.0
    for _ in range(40):
        middle = (low + high) / 2
        low, high = (middle, high) if expected_speedup(middle, ratio, k) < 1.0 else (low, middle)
    return high


def lookup_source(match_length: int) -> str:
    """The kind of a prompt-lookup guess that continues the last `match_length` tokens."""
    at_least = max([n for n in MATCH_CLASSES if n <= match_length], default=MATCH_CLASSES[0])
    return f"lookup {at_least}+"


class DraftCost:
    """Seconds per decode by batch size (1 and 1 + k), measured at start, then followed by
    real decodes. One token takes the fastest of its recent decodes (other work only adds
    time). A batch is judged against the single tokens decoded around it: each real batch
    gives its time over the median of the last few single tokens, and a size's ratio is the
    median of its recent ones, so a machine that got busier slows both sides of the ratio
    alike (the fastest of a few batches against the fastest of hundreds of single tokens
    would read batches as dearer the busier the machine). Sizes not seen yet keep the
    start's ratio, at the level real single tokens show now, lowered by as much as the
    sizes seen came out below theirs (a start measured under load)."""

    def __init__(self, seconds_by_size: dict[int, float], *, learns: bool = False) -> None:
        self.learns = learns  # whether real decodes refine it (a measured cost; not a given one)
        self._seconds = dict(seconds_by_size)
        self._sizes = sorted(self._seconds)
        self._singles: deque[float] = deque(maxlen=OBSERVED_WINDOW)  # recent real single-token decodes
        self._observed: dict[int, deque[float]] = {}  # recent real batches, by size: time / nearby single tokens
        self._ratios: list[float] = []  # ratio(k) by k, until the next decode is observed
        self._lock = threading.Lock()

    @classmethod
    def free(cls) -> DraftCost:
        """Drafts that cost nothing (not measured): drafting always pays."""
        return cls({1: 1.0, 2: 1.0})

    def seconds(self, size: int) -> float:
        """Time of a batch of `size` tokens: one token as real ones take now (else as at
        start), times the batch's ratio (`ratio`)."""
        with self._lock:
            single = min(self._singles) if self._singles else self._at_start(1)
            observed = self._observed.get(size)
            ratio = statistics.median(observed) if observed else self._start_ratio(size) * self._start_scale()
        return single * ratio if size > 1 else single

    def _start_ratio(self, size: int) -> float:
        return self._at_start(size) / self._at_start(1)

    def _start_scale(self) -> float:
        """How much dearer the start measured batches than real decodes show them (1 at most):
        a start that a burst of other work inflated inflated every size, so the sizes not
        seen since are read as cheaper by as much. Read too cheap, a size gets drafted, and
        so measured."""
        return min([1.0, *(statistics.median(seen) / self._start_ratio(size) for size, seen in self._observed.items())])

    def observe(self, size: int, seconds: float) -> None:
        """A real decode of `size` tokens took `seconds`."""
        if seconds <= 0 or not self.learns:
            return
        with self._lock:
            if size == 1:
                self._singles.append(seconds)
            elif self._singles:
                nearby = statistics.median(list(self._singles)[-NEARBY_SINGLES:])
                self._observed.setdefault(size, deque(maxlen=OBSERVED_WINDOW)).append(seconds / nearby)
            self._ratios = []

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

    def ratios(self, max_k: int) -> list[float]:
        """ratio(k) for k = 0..max_k, kept until the next observed decode (asked once a token)."""
        with self._lock:
            known = self._ratios
        if len(known) <= max_k:
            single = self.seconds(1)
            known = [self.seconds(1 + k) / single for k in range(max(max_k, MEASURED_K[-1]) + 1)]
            with self._lock:
                self._ratios = known
        return known

    def can_pay(self, max_k: int = MEASURED_K[-1]) -> bool:
        """Whether some batch of up to `max_k` drafts pays when nearly every draft is kept."""
        return any(expected_speedup(BEST_CASE_P, self.ratio(k), k) > DRAFT_ABOVE for k in range(1, max_k + 1))

    def as_dict(self) -> dict[str, object]:
        return {
            "single_token_ms": round(self.seconds(1) * 1000, 3),
            "cost_ratio": {str(k): round(self.ratio(k), 3) for k in MEASURED_K},
            "break_even_acceptance": {str(k): round(break_even_acceptance(self.ratio(k), k), 3) for k in MEASURED_K},
            "break_even_kept_rate": {
                str(k): min(9.99, round(break_even_kept_rate(self.ratio(k), k), 3)) for k in MEASURED_K
            },
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


def best_draft_length(p: float, cost: DraftCost, limit: int, extra_per_draft: float = 0.0) -> int:
    """The number of drafts (1..limit) with the best expected speed-up at `p`, when making
    each draft costs `extra_per_draft` single tokens' time on top of checking it."""
    return best_draft(p, cost, limit, extra_per_draft)[0]


def best_draft(p: float, cost: DraftCost, limit: int, extra_per_draft: float = 0.0) -> tuple[int, float]:
    """(the best number of drafts, 1..limit, and its expected speed-up) at `p`."""
    return best_draft_over(p, cost.ratios(limit), limit, extra_per_draft)


def best_draft_over(p: float, ratios: Sequence[float], limit: int, extra_per_draft: float = 0.0) -> tuple[int, float]:
    """`best_draft` over the batch costs `ratios` (ratio(k) for k = 0..limit)."""
    if limit <= 0:
        return 0, 1.0
    best, best_speedup, tokens, chance = 1, 0.0, 1.0, 1.0
    for k in range(1, limit + 1):
        chance *= p
        tokens += chance  # 1 + p + ... + p^k, as expected_speedup sums it
        speedup = tokens / max(ratios[k] + extra_per_draft * k, 1e-9)
        if speedup > best_speedup:
            best, best_speedup = k, speedup
    return best, best_speedup


@dataclass
class KeptRate:
    """p for one kind of proposal: drafts kept against misses (a run of drafts that ended
    before the end of its batch), the recent drafts weighing most (so a long copy that
    ends stops drafting after a miss or two), from a prior."""

    kept: float
    missed: float

    @property
    def p(self) -> float:
        return self.kept / max(self.kept + self.missed, 1e-9)

    def add(self, kept: int, missed: bool) -> None:
        """Drafts checked in turn: `kept` kept, then one missed (or none: the batch ended)."""
        for _ in range(kept):
            self.kept, self.missed = self.kept * RATE_DECAY + 1, self.missed * RATE_DECAY
        if missed:
            self.kept, self.missed = self.kept * RATE_DECAY, self.missed * RATE_DECAY + 1


class DraftPolicy:
    """Whether to draft, and how many: p per kind of proposal, from the batches drafted and
    the proposals checked in shadow, on one KV context; it lives as long as the context,
    across its answers (`start_answer`)."""

    def __init__(self, cost: DraftCost) -> None:
        self.cost = cost
        self.can_pay = True
        self.pauses = 0  # times a kind of proposal went from drafted to declined
        self.rates: dict[str, KeptRate] = {}
        self._drafting: dict[str, bool] = {}  # whether each kind's last decision was to draft
        self._backoff: dict[str, int] = {}  # kinds that can't be checked in shadow: the next wait
        self._waiting: dict[str, int] = {}  # ... and the tokens left before their next try
        self._extra: dict[str, float] = {}  # what making a draft costs, in single tokens (a draft model)
        self.explorations = 0  # batches spent to check a cost that said no (see the module's doc)
        self._tokens = 0  # tokens decoded on this context, the clock of the exploration gap
        self._explore_gap = EXPLORE_FIRST_GAP
        self._next_explore = 0
        self._lock = threading.Lock()

    def start_answer(self) -> None:
        """A new answer on this context: draft only if the cost allows it at all, or can
        learn that it does (a measured cost: see exploration in the module's doc)."""
        self.can_pay = self.cost.learns or self.cost.can_pay()

    def advance(self, tokens: int) -> None:
        """`tokens` more tokens of the answer were decoded."""
        self._tokens += tokens

    def rate(self, source: str, shadowed: bool = True) -> KeptRate:
        with self._lock:
            if source not in self.rates:
                prior = (PRIOR_KEPT, PRIOR_MISSED) if shadowed else (HOPEFUL_KEPT, HOPEFUL_MISSED)
                self.rates[source] = KeptRate(*prior)
            return self.rates[source]

    def draft_length(self, source: str, available: int, shadowed: bool = True) -> int:
        """How many of `available` drafts of kind `source` to check in the next batch; 0: none
        (no batch pays at this kind's p). `shadowed`: a declined proposal will be checked in
        shadow (`shadow`); a kind that can't be waits a back-off instead."""
        if not self.can_pay or available <= 0:
            return 0
        if not shadowed and self._waiting.get(source, 0) > 0:
            self._waiting[source] -= 1
            if self._waiting[source] == 0:
                self.rates[source] = KeptRate(HOPEFUL_KEPT, HOPEFUL_MISSED)  # tried again from its start
            return 0
        k, speedup = best_draft(self.rate(source, shadowed).p, self.cost, available, self._extra.get(source, 0.0))
        drafts = speedup > DRAFT_ABOVE
        if drafts:
            self._explore_gap = EXPLORE_FIRST_GAP  # the cost pays now: a later doubt explores soon
        elif shadowed and self.cost.learns and self._tokens >= self._next_explore:
            explore = self._exploring_length(source, available)
            if explore:
                return explore
        if self._drafting.get(source) and not drafts:
            self.pauses += 1
            if not shadowed:
                backoff = self._backoff.get(source, FIRST_BACKOFF)
                self._waiting[source] = backoff
                self._backoff[source] = min(MAX_BACKOFF, backoff * 2)
        self._drafting[source] = drafts
        return k if drafts else 0

    def _exploring_length(self, source: str, available: int) -> int:
        """Drafts for an exploratory batch: a batch would pay at a fraction of the recorded
        cost (0: none would), which then waits the gap, doubled for the next one."""
        p = self.rate(source).p
        doubted = [
            max(1.0, min(ratio / EXPLORE_DISCOUNT, 1 + k * EXPLORE_COST_PER_DRAFT))
            for k, ratio in enumerate(self.cost.ratios(available))
        ]
        k, speedup = best_draft_over(p, doubted, available, self._extra.get(source, 0.0))
        if speedup <= DRAFT_ABOVE:
            return 0
        self.explorations += 1
        self._next_explore = self._tokens + self._explore_gap
        self._explore_gap = min(EXPLORE_MAX_GAP, self._explore_gap * 2)
        return k

    def feedback(
        self, source: str, proposed: int, accepted: int, extra_seconds: float = 0.0, shadowed: bool = True
    ) -> None:
        """A draft batch's outcome; `extra_seconds`: the time proposing took (a draft model's
        decodes), which adds to what each of its drafts costs."""
        if proposed <= 0:
            return
        self.rate(source, shadowed).add(accepted, accepted < proposed)
        if extra_seconds > 0:
            per_draft = extra_seconds / self.cost.seconds(1) / proposed
            before = self._extra.get(source)
            self._extra[source] = per_draft if before is None else before + EXTRA_WEIGHT * (per_draft - before)
        if accepted == proposed and not shadowed:
            self._backoff[source] = FIRST_BACKOFF  # paid in full: the next wait starts short again

    def shadow(self, source: str, proposed: int, kept: int) -> None:
        """A declined proposal of `proposed` drafts, checked against the answer: `kept` matched."""
        if proposed > 0:
            self.rate(source).add(kept, kept < proposed)

    def as_dict(self) -> dict[str, float]:
        """p per kind of proposal seen so far, for the engine's info."""
        with self._lock:
            return {source: round(rate.p, 3) for source, rate in self.rates.items()}
