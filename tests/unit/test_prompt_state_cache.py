"""The prompt-state cache's bookkeeping: LRU under a byte budget, supersession, spill to disk."""

from __future__ import annotations

from app.engine.state_cache import PromptStateCache, common_prefix


def tokens(start: int, n: int) -> list[int]:
    return list(range(start, start + n))


def test_common_prefix():
    assert common_prefix([1, 2, 3], [1, 2, 4]) == 2
    assert common_prefix([1, 2], [1, 2, 3]) == 2
    assert common_prefix([], [1]) == 0


def test_the_longest_shared_prefix_wins_and_counts_a_hit():
    cache = PromptStateCache(10_000)
    cache.store(tokens(0, 100), b"a" * 100)
    cache.store([*tokens(0, 50), *tokens(500, 80)], b"b" * 100)
    match = cache.best_match([*tokens(0, 90), 7, 7], max_tokens=4096)
    assert match is not None and match.shared == 90 and cache.load(match) == b"a" * 100
    assert cache.stats()["hits"] == 1
    other = [*tokens(0, 50), *tokens(500, 80)]
    assert cache.best_match(other, max_tokens=4096).shared == 130
    assert cache.best_match(other, max_tokens=120).shared == 50  # its own entry would not fit that context


def test_the_budget_evicts_the_least_recently_used_first():
    cache = PromptStateCache(250)
    for n in range(3):
        cache.store(tokens(1000 * n, 10), bytes([n]) * 100)
    assert cache.stats()["entries"] == 2 and cache.stats()["evictions"] == 1
    assert cache.best_match(tokens(0, 10), 4096) is None  # the first one went
    cache.load(cache.best_match(tokens(1000, 10), 4096))  # the second is used again...
    cache.store(tokens(3000, 10), b"x" * 100)
    assert cache.best_match(tokens(1000, 10), 4096) is not None  # ...so the third went instead
    assert cache.best_match(tokens(2000, 10), 4096) is None
    assert cache.stats()["bytes"] <= 250


def test_a_longer_state_supersedes_its_prefixes_and_a_prefix_adds_nothing():
    cache = PromptStateCache(10_000)
    cache.store(tokens(0, 10), b"a" * 10)
    cache.store(tokens(0, 20), b"b" * 20)
    assert cache.stats()["entries"] == 1 and cache.stats()["bytes"] == 20
    assert cache.holds(tokens(0, 15)) and not cache.holds(tokens(0, 21))
    cache.store(tokens(0, 5), b"c" * 5)
    assert cache.stats()["entries"] == 1 and cache.stats()["bytes"] == 20


def test_a_state_larger_than_the_budget_is_not_kept_and_zero_is_off():
    assert PromptStateCache(10).store(tokens(0, 5), b"z" * 11) is False
    off = PromptStateCache(0)
    assert not off.enabled and off.store(tokens(0, 5), b"z") is False


def test_evicted_states_spill_to_disk_under_their_own_cap(tmp_path):
    folder = tmp_path / "spill"
    cache = PromptStateCache(100, folder, spill_budget_bytes=200)
    for n in range(4):
        cache.store(tokens(1000 * n, 10), bytes([n]) * 100)
    stats = cache.stats()
    assert stats["entries"] == 1 and stats["spilled_entries"] == 2 and stats["spill_bytes"] == 200
    assert len(list(folder.iterdir())) == 2
    assert cache.best_match(tokens(0, 10), 4096) is None  # the oldest fell off the disk too
    match = cache.best_match(tokens(1000, 10), 4096)
    assert match is not None and match.entry.on_disk and cache.load(match) == bytes([1]) * 100
    cache.close()
    assert not folder.exists()
