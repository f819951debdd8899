"""Prompt-lookup drafting and the adaptive draft length (the greedy identity is an e2e test)."""

from __future__ import annotations

import pytest

from app.engine.draft_policy import DraftCost, batch_speedup, break_even_acceptance
from app.engine.drafting import PromptLookup


def test_lookup_proposes_what_followed_the_last_ngram_before():
    lookup = PromptLookup([1, 2, 3, 4, 5, 6, 9, 9])
    assert lookup.propose(3) == []  # (9, 9) never occurred before
    lookup.extend([2, 3])
    assert lookup.propose(3) == [4, 5, 6]
    lookup.extend([4])
    assert lookup.propose(10) == [5, 6, 9, 9, 2, 3, 4]  # runs up to the end of what is known


def test_longer_ngrams_win_and_the_latest_use_counts():
    lookup = PromptLookup([7, 1, 2, 8, 3, 1, 2, 9, 5, 3, 1, 2])
    assert lookup.propose(1) == [9]  # (3, 1, 2) was followed by 9, while (1, 2) last by 9 too
    lookup = PromptLookup([1, 2, 8, 1, 2, 9, 1, 2])
    assert lookup.propose(1) == [9]


# -- when drafting pays (app/engine/draft_policy.py) -------------------------------------
def costly() -> DraftCost:
    """A 151K-vocabulary model on a CPU: every drafted position's logits cost a third of a token."""
    return DraftCost({size: 0.010 * (1 + (size - 1) / 3) for size in (1, 2, 3, 5, 9, 17)})


def test_break_even_acceptance_follows_the_cost():
    assert break_even_acceptance(1.0, 8) == 0.0  # free drafts always pay
    assert break_even_acceptance(3.0, 8) == pytest.approx(0.25)  # 8 drafts for the time of 3 tokens: keep 2 of 8
    assert batch_speedup(accepted=2, ratio=3.0) == pytest.approx(1.0)
    assert batch_speedup(accepted=0, ratio=1.5) < 1 < batch_speedup(accepted=1, ratio=1.5)


def test_costs_are_interpolated_between_the_measured_batch_sizes():
    cost = DraftCost({1: 1.0, 3: 2.0, 9: 5.0})
    assert cost.ratio(2) == 2.0 and cost.ratio(8) == 5.0
    assert cost.seconds(6) == pytest.approx(3.5)
    assert cost.seconds(17) == pytest.approx(9.0)  # past the largest: the last slope goes on
    report = costly().as_dict()
    assert report["cost_ratio"]["8"] == pytest.approx(1 + 8 / 3, abs=1e-3)
    assert report["break_even_acceptance"]["8"] == pytest.approx(1 / 3, abs=1e-3)


def test_real_decodes_correct_a_cost_measured_while_the_machine_was_busier():
    cost = DraftCost({1: 0.400, 3: 0.800, 9: 2.0}, learns=True)  # measured at start under load: 400 ms a token
    cost.observe(1, 0.040)  # answers now decode a token in 40 ms
    assert cost.seconds(1) == pytest.approx(0.040)
    assert cost.ratio(8) == pytest.approx(5.0)  # the start's shape, at today's level
    assert cost.seconds(9) == pytest.approx(0.2)
    cost.observe(9, 0.080)  # a real batch of 1 + 8 took 2 tokens' time: cheaper than measured
    assert cost.ratio(8) == pytest.approx(2.0)
    cost.observe(1, 0.020)  # the fastest recent decode counts: the machine got idler
    assert cost.seconds(1) == pytest.approx(0.020)


def test_a_burst_of_other_work_does_not_make_batches_look_cheap_or_dear():
    """A decode slowed by other work (a second's stall) leaves the cost as it was; a running
    average of real decodes took a tenth of the stall into every ratio after it."""
    cost = DraftCost({1: 0.020, 17: 0.120}, learns=True)
    for _ in range(10):
        cost.observe(1, 0.020)
        cost.observe(17, 0.120)
    cost.observe(1, 1.0)
    cost.observe(17, 4.0)
    assert cost.ratio(16) == pytest.approx(6.0)


def test_a_batch_is_judged_against_the_single_tokens_decoded_around_it():
    """A busy machine with quiet moments: most single tokens and every batch take three
    times as long, one single token in eight comes in a quiet moment. Batches are no dearer
    than they were against one token; the fastest of a few batches against the fastest of
    many single tokens (the quiet ones) read 18x."""
    cost = DraftCost({1: 0.020, 17: 0.120}, learns=True)
    for _ in range(10):
        for slow in range(8):
            cost.observe(1, 0.060 if slow else 0.020)
        cost.observe(17, 0.360)
    assert cost.ratio(16) == pytest.approx(6.0)
