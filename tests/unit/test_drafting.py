"""Prompt-lookup drafting and the adaptive draft length (the greedy identity is an e2e test)."""

from __future__ import annotations

from app.engine.drafting import DRAFT_MAX, DraftChain, PromptLookup


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


def test_draft_length_grows_on_success_and_shrinks_on_misses():
    chain = DraftChain([PromptLookup([])])
    start = chain.length
    chain.feedback(start, start)
    assert chain.length == min(DRAFT_MAX, start * 2)
    chain.feedback(chain.length, 1)
    assert chain.length == 2
    assert (chain.proposed, chain.accepted) == (start + min(DRAFT_MAX, start * 2), start + 1)
