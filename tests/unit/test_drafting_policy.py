"""Drafting never makes an answer slower: the decisions taken before a draft is proposed
(app/engine/draft_policy.py), across a KV context's answers."""

from __future__ import annotations

from app.engine.draft_policy import (
    ANSWER_START_PAUSE,
    FIRST_BACKOFF,
    DraftCost,
    DraftPolicy,
    best_draft_length,
    break_even_acceptance,
)
from app.engine.drafting import DraftChain, PromptLookup


def linear() -> DraftCost:
    """Every drafted position costs as much as a token: no acceptance can pay for a batch."""
    return DraftCost({size: 0.010 * size for size in (1, 2, 3, 5, 9, 17)})


def costly() -> DraftCost:
    """A 151K-vocabulary model on a busy 2-core CPU: each drafted position costs 0.8 of a token."""
    return DraftCost({size: 0.010 * (1 + 0.8 * (size - 1)) for size in (1, 2, 3, 5, 9, 17)})


def moderate() -> DraftCost:
    """Each drafted position costs a third of a token."""
    return DraftCost({size: 0.010 * (1 + (size - 1) / 3) for size in (1, 2, 3, 5, 9, 17)})


def cheap() -> DraftCost:
    return DraftCost({size: 0.010 * (1 + (size - 1) / 20) for size in (1, 2, 3, 5, 9, 17)})


def test_a_cost_no_acceptance_can_pay_for_never_drafts():
    assert all(break_even_acceptance(linear().ratio(k), k) > 0.9 for k in range(1, 17))
    chain = DraftChain([PromptLookup([1, 2, 3, 1, 2, 3, 1, 2])], linear())
    assert not chain.policy.can_pay
    assert [chain.propose(16) for _ in range(100)] == [[]] * 100
    assert costly().can_pay() and cheap().can_pay()


def test_a_context_where_drafts_did_not_pay_starts_its_next_answer_paused():
    policy = DraftPolicy(costly())
    first = DraftChain([PromptLookup([])], policy=policy)
    assert first.policy.should_draft()
    first.feedback(4, 0)  # the first answer's drafts were all missed, and it ended
    assert first.pauses == 1 and policy.paused_for == FIRST_BACKOFF
    for _ in range(3):  # short answers (inline completions) after it spend no token on probing
        answer = DraftChain([PromptLookup([])], policy=policy)
        assert not any(answer.policy.should_draft() for _ in range(5))
        assert answer.pauses == 0
    later = DraftChain([PromptLookup([])], policy=policy)  # the pause counts down across answers: a probe comes
    assert [later.policy.should_draft() for _ in range(2)] == [False, True]


def test_a_new_answer_after_long_pauses_probes_within_the_answer_start_pause():
    policy = DraftPolicy(costly())
    for _ in range(2000):  # a long free-form history: the back-off grew to its maximum
        if policy.should_draft():
            policy.feedback(8, 0)
    assert policy.backoff > ANSWER_START_PAUSE
    rewrite = DraftChain([PromptLookup([])], policy=policy)
    assert any(rewrite.policy.should_draft() for _ in range(ANSWER_START_PAUSE + 1))


def test_a_context_where_drafts_paid_drafts_from_its_next_answers_first_token():
    policy = DraftPolicy(cheap())
    DraftChain([PromptLookup([])], policy=policy).feedback(8, 8)
    assert DraftChain([PromptLookup([])], policy=policy).policy.should_draft()


def test_draft_batches_stay_small_while_few_drafts_are_kept_and_batches_cost_much():
    assert best_draft_length(0.3, costly(), 16) == 1
    assert best_draft_length(0.95, costly(), 16) <= 2
    assert best_draft_length(0.95, moderate(), 16) > 4  # a rewrite keeps nearly every draft: longer batches pay
    assert best_draft_length(0.6, cheap(), 16) > best_draft_length(0.6, costly(), 16)
    policy = DraftPolicy(costly())
    for _ in range(4):
        policy.feedback(2, 1)  # half of the drafts kept
    assert policy.draft_length(16) <= 2


def test_a_probe_checks_a_batch_long_enough_to_pay():
    """Where short batches can never pay (a batch of 2 costing 2.65 tokens, as measured on a
    2-core AVX-512 EPYC), a probe after misses checks a long batch, not the short one the
    misses left: otherwise a rewrite that starts repeating its input would never be noticed."""
    measured = DraftCost({1: 0.037, 2: 0.098, 3: 0.161, 5: 0.215, 9: 0.187, 17: 0.221})
    assert break_even_acceptance(measured.ratio(1), 1) > 1
    policy = DraftPolicy(measured)
    assert policy.should_draft()
    policy.feedback(16, 0)
    while not policy.should_draft():
        pass
    assert break_even_acceptance(measured.ratio(policy.draft_length(16)), policy.draft_length(16)) <= 0.9
    assert policy.draft_length(16) >= 8
