"""Drafting never makes an answer slower, and pays where the answer repeats its input: the
decisions taken per guess (app/engine/draft_policy.py), replayed over token streams."""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest

from app.engine.draft_policy import (
    FIRST_BACKOFF,
    DraftCost,
    DraftPolicy,
    best_draft_length,
    break_even_acceptance,
    break_even_kept_rate,
    expected_speedup,
    lookup_source,
)
from app.engine.drafting import DraftChain, PromptLookup

SIZES = (1, 2, 3, 5, 9, 17)


def linear() -> DraftCost:
    """Every drafted position costs as much as a token: no acceptance can pay for a batch."""
    return DraftCost({size: 0.010 * size for size in SIZES})


def epyc() -> DraftCost:
    """As measured on a 2-core AVX-512 EPYC with the 151K-vocabulary test model: a batch of 2
    costs 2.35 tokens, one of 17 six."""
    return DraftCost({1: 0.020, 2: 0.047, 3: 0.064, 5: 0.088, 9: 0.108, 17: 0.120})


def cheap() -> DraftCost:
    return DraftCost({size: 0.010 * (1 + (size - 1) / 20) for size in SIZES})


def replay(
    chain: DraftChain, answer: Sequence[int], machine: DraftCost | None = None
) -> tuple[float, list[tuple[int, int]]]:
    """Decode `answer` (the greedy tokens) as the engine's loop does; returns the speed-up
    against plain decoding and each batch's (proposed, kept). Decodes take what `machine`
    says, and the chain's cost observes them, as the engine's loop does; without one, they
    take what the chain's cost says."""
    cost = machine or chain.policy.cost
    spent, at, batches = 0.0, 0, []
    while at < len(answer):
        chain.extend([answer[at]])
        room = min(len(answer) - at - 1, 16)
        drafts = chain.propose(room) if room > 0 else []
        kept = 0
        while kept < len(drafts) and drafts[kept] == answer[at + 1 + kept]:
            kept += 1
        spent += cost.ratio(len(drafts)) if drafts else 1.0
        if machine is not None:
            chain.policy.cost.observe(1 + len(drafts), machine.seconds(1 + len(drafts)))
        if drafts:
            chain.extend(drafts[:kept])
            chain.feedback(len(drafts), kept)
            batches.append((len(drafts), kept))
        at += 1 + kept
    return len(answer) / spent, batches


def code_lines(first: int, last: int) -> list[int]:
    """Tokens of similar lines that differ in one number, as a function of repeated steps."""
    tokens = []
    for step in range(first, last):
        tokens += [10, 11, 1000 + step, 12, 13, 14, 15, 16, 17, 18, 1000 + step, 19, 20]
    return tokens


def test_a_cost_no_acceptance_can_pay_for_never_drafts():
    assert all(break_even_acceptance(linear().ratio(k), k) >= 1 for k in range(1, 17))
    chain = DraftChain([PromptLookup([1, 2, 3, 1, 2, 3, 1, 2])], linear())
    assert not chain.policy.can_pay
    assert [chain.propose(16) for _ in range(100)] == [[]] * 100
    assert epyc().can_pay() and cheap().can_pay()


def test_a_rewrite_of_its_input_drafts_long_batches_even_where_batches_cost_much():
    """A copy of 20 similar lines: the first guesses are checked in shadow, then batches of 16
    nearly all kept. The old rule (the share of drafts kept, 16 at a time, in a moving
    average of speed-ups that one missed batch pulled under 1) paused it at the first miss."""
    prompt = code_lines(0, 20)
    speedup, batches = replay(DraftChain([PromptLookup(prompt)], epyc()), [5, 6, 7, *prompt])
    assert speedup > 1.8
    assert sum(kept for _, kept in batches) > 0.75 * len(prompt)
    assert max(proposed for proposed, _ in batches) == 16


def test_an_answer_that_does_not_repeat_its_input_spends_no_batch_where_batches_cost_much():
    """Guesses are found (short matches) but are wrong: they are checked in shadow only."""
    words = random.Random(3)
    prompt = [words.randrange(40) for _ in range(300)]
    answer = [words.randrange(40) for _ in range(300)]  # the same words, in no repeated order
    chain = DraftChain([PromptLookup(prompt)], epyc())
    speedup, batches = replay(chain, answer)
    assert batches == [] and speedup == 1.0
    assert chain.policy.rates  # the guesses were judged, in shadow
    assert all(rate.p <= 0.5 for rate in chain.policy.rates.values())  # none above its doubtful start


def test_kept_rate_reads_a_long_batch_as_the_run_it_was():
    """Batches of 16 that each kept 12 and then missed: a draft is kept after the ones
    before it about 12 times in 13 (the latest miss weighing most), not 12 in 16, and a
    batch of 16 pays at that cost; at 12 in 16 none would."""
    policy = DraftPolicy(epyc())
    for _ in range(30):
        policy.feedback("lookup 16+", 16, 12)
    assert 0.85 < policy.rates["lookup 16+"].p < 12 / 13
    assert expected_speedup(12 / 16, epyc().ratio(16), 16) < 1
    assert policy.draft_length("lookup 16+", 16) == 16


def test_drafting_stops_after_a_miss_or_two_when_the_copy_ends_and_resumes_when_it_returns():
    policy = DraftPolicy(epyc())
    for _ in range(5):
        policy.feedback("lookup 16+", 16, 16)
    assert policy.draft_length("lookup 16+", 16) == 16
    misses = 0
    while policy.draft_length("lookup 16+", 16):
        policy.feedback("lookup 16+", 16, 0)
        misses += 1
    assert misses <= 3 and policy.pauses == 1
    policy.shadow("lookup 16+", 16, 16)  # a declined guess turned out right: the copy is back
    policy.shadow("lookup 16+", 16, 16)
    assert policy.draft_length("lookup 16+", 16) == 16


def test_each_kind_of_guess_has_its_own_rate():
    policy = DraftPolicy(epyc())
    for _ in range(5):
        policy.shadow("lookup 2+", 16, 0)  # short matches in prose: wrong
        policy.shadow("lookup 16+", 16, 16)  # long matches in code: right
    assert policy.draft_length("lookup 2+", 16) == 0
    assert policy.draft_length("lookup 16+", 16) == 16


def test_a_draft_model_that_stops_paying_waits_a_growing_backoff_then_tries_again():
    """A draft model's guesses cost decodes, so they can't be checked in shadow."""
    policy = DraftPolicy(cheap())
    assert policy.draft_length("draft model", 8, shadowed=False) > 0  # hopeful at first
    waits = []
    for _ in range(3):
        while policy.draft_length("draft model", 8, shadowed=False):
            policy.feedback("draft model", 8, 0, shadowed=False)
        waited = 1
        while not policy.draft_length("draft model", 8, shadowed=False):
            waited += 1
        waits.append(waited)
    assert waits[0] == FIRST_BACKOFF + 1 and waits[1] > waits[0] and waits[2] > waits[1]


def test_a_slow_draft_model_reads_as_costly():
    policy = DraftPolicy(cheap())
    k = policy.draft_length("draft model", 8, shadowed=False)
    policy.feedback("draft model", k, k, extra_seconds=k * 0.010, shadowed=False)  # a decode per draft
    assert policy.draft_length("draft model", 8, shadowed=False) == 0


def test_best_length_follows_the_cost_and_the_rate():
    assert best_draft_length(0.95, epyc(), 16) == 16  # a batch of 17 costs little more than one of 9
    assert best_draft_length(0.5, cheap(), 16) < best_draft_length(0.95, cheap(), 16)
    assert expected_speedup(0.3, epyc().ratio(1), 1) < 1
    assert break_even_kept_rate(epyc().ratio(16), 16) < 0.9
    assert break_even_kept_rate(epyc().ratio(1), 1) > 1  # a batch of 2 can't pay here at any rate


def test_lookup_continues_the_place_that_matches_furthest_back():
    """Similar lines: the latest use of the last few tokens is the line before, whose number
    differs; the line being copied matches back through its number."""
    lookup = PromptLookup(code_lines(0, 10))
    lookup.extend([10, 11, 1004, 12, 13, 14, 15, 16, 17, 18])
    assert lookup.propose(3) == [1004, 19, 20]
    assert lookup.source == lookup_source(10)


def test_a_guess_is_of_the_kind_its_match_length_says():
    assert [lookup_source(n) for n in (2, 3, 4, 7, 8, 15, 16, 64)] == [
        "lookup 2+",
        "lookup 2+",
        "lookup 4+",
        "lookup 4+",
        "lookup 8+",
        "lookup 8+",
        "lookup 16+",
        "lookup 16+",
    ]
    lookup = PromptLookup([1, 2, 3, 4, 5, 6, 9, 9])
    lookup.extend([2, 3])
    assert lookup.propose(3) == [4, 5, 6] and lookup.source == "lookup 2+"


def test_a_declined_guess_is_checked_against_the_tokens_that_follow():
    prompt = list(range(100, 160))
    chain = DraftChain([PromptLookup(prompt)], epyc())
    chain.extend([100, 101, 102, 103])
    assert chain.propose(16) == []  # doubtful at first: no batch spent
    chain.extend(list(range(104, 120)))  # the answer went on as guessed: all 16 kept, in shadow
    assert chain.policy.rates["lookup 4+"].p > 0.9
    assert chain.propose(16) == []  # now the guess continues 20 tokens: a kind with its own record
    chain.extend(list(range(120, 136)))
    assert chain.propose(16) == list(range(136, 152))


def inflated(cost: DraftCost, times: float) -> DraftCost:
    """`cost` as a start-up measurement taken during a burst of other work reads it: every
    batch `times` dearer against one token; a measured cost, so real decodes refine it."""
    return DraftCost({size: cost.seconds(size) * (times if size > 1 else 1.0) for size in SIZES}, learns=True)


@pytest.mark.parametrize("times", [5, 30])
def test_a_cost_inflated_at_start_recovers_within_a_rewrite_and_drafts_again(times: float):
    """Batches measured 5x dearer than they are (a load spike at start: k=16 read 28 tokens'
    time, not 6), or 30x: no batch can pay at that cost, so nothing would ever be drafted,
    nor measured again. An exploratory batch, spent because the guesses are kept in shadow,
    measures the real cost."""
    stale = inflated(epyc(), times)
    assert not stale.can_pay()
    policy = DraftPolicy(stale)
    prompt = code_lines(0, 30)
    speedup, batches = replay(DraftChain([PromptLookup(prompt)], policy=policy), [5, 6, 7, *prompt[:300]], epyc())
    assert len(batches) > 10 and sum(kept for _, kept in batches) > 0.6 * 300
    assert speedup > 1.5
    assert policy.explorations <= 2
    assert stale.ratio(16) < 1.5 * epyc().ratio(16)  # the stale ratio was replaced
    assert DraftChain([PromptLookup(prompt)], policy=policy).policy.can_pay  # and the next answer drafts


def test_an_answer_that_does_not_repeat_spends_no_batch_on_an_inflated_cost_but_still_judges_guesses():
    words = random.Random(5)
    prompt = [words.randrange(40) for _ in range(300)]
    answer = [words.randrange(40) for _ in range(600)]
    chain = DraftChain([PromptLookup(prompt)], inflated(epyc(), 5))
    speedup, batches = replay(chain, answer, epyc())
    assert chain.policy.rates  # judged in shadow, so a copy that starts would be noticed
    assert batches == [] and speedup == 1.0 and chain.policy.explorations == 0


def test_where_batches_truly_cost_what_was_measured_exploration_backs_off():
    """A machine where batches really are that dear: a long rewrite explores, loses, and
    waits a doubling gap, so the batches spent stay few (a logarithm of the answer's length)."""
    dear = inflated(epyc(), 5)
    chain = DraftChain([PromptLookup(code_lines(0, 400))], dear)
    answer = code_lines(0, 400)[:5000]
    replay(chain, answer, inflated(epyc(), 5))
    assert 1 <= chain.policy.explorations <= 8
