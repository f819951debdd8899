"""The prompt-state cache's bookkeeping: LRU under a byte budget, supersession, contexts,
the disk folder (written off the lock, read back across restarts, checked), a full disk."""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest

from app.engine.state_cache import PromptStateCache, common_prefix
from app.engine.state_files import state_file_name, write_state_file

CHAT = "slot=chat;n_ctx=4096"
OTHER = "slot=completion;n_ctx=4096"


def tokens(start: int, n: int) -> list[int]:
    return list(range(start, start + n))


def test_common_prefix():
    assert common_prefix([1, 2, 3], [1, 2, 4]) == 2
    assert common_prefix([1, 2], [1, 2, 3]) == 2
    assert common_prefix([], [1]) == 0


def test_the_longest_shared_prefix_wins_and_counts_a_hit():
    cache = PromptStateCache(10_000)
    cache.store(tokens(0, 100), b"a" * 100, CHAT)
    cache.store([*tokens(0, 50), *tokens(500, 80)], b"b" * 100, CHAT)
    match = cache.best_match([*tokens(0, 90), 7, 7], 4096, CHAT)
    assert match is not None and match.shared == 90 and cache.load(match) == b"a" * 100
    assert cache.stats()["hits"] == 1
    other = [*tokens(0, 50), *tokens(500, 80)]
    assert cache.best_match(other, 4096, CHAT).shared == 130
    assert cache.best_match(other, 120, CHAT).shared == 50  # its own entry would not fit that context


def test_the_budget_evicts_the_least_recently_used_first():
    cache = PromptStateCache(250)
    for n in range(3):
        cache.store(tokens(1000 * n, 10), bytes([n]) * 100, CHAT)
    assert cache.stats()["entries"] == 2 and cache.stats()["evictions"] == 1
    assert cache.best_match(tokens(0, 10), 4096, CHAT) is None  # the first one went
    cache.load(cache.best_match(tokens(1000, 10), 4096, CHAT))  # the second is used again...
    cache.store(tokens(3000, 10), b"x" * 100, CHAT)
    assert cache.best_match(tokens(1000, 10), 4096, CHAT) is not None  # ...so the third went instead
    assert cache.best_match(tokens(2000, 10), 4096, CHAT) is None
    assert cache.stats()["bytes"] <= 250


def test_a_longer_state_supersedes_its_prefixes_and_a_prefix_adds_nothing():
    cache = PromptStateCache(10_000)
    cache.store(tokens(0, 10), b"a" * 10, CHAT)
    cache.store(tokens(0, 20), b"b" * 20, CHAT)
    assert cache.stats()["entries"] == 1 and cache.stats()["bytes"] == 20
    assert cache.holds(tokens(0, 15), CHAT) and not cache.holds(tokens(0, 21), CHAT)
    cache.store(tokens(0, 5), b"c" * 5, CHAT)
    assert cache.stats()["entries"] == 1 and cache.stats()["bytes"] == 20


def test_a_state_larger_than_the_budget_is_not_kept_and_zero_is_off():
    assert PromptStateCache(10).store(tokens(0, 5), b"z" * 11, CHAT) is False
    off = PromptStateCache(0)
    assert not off.enabled and off.store(tokens(0, 5), b"z", CHAT) is False


def test_entries_of_another_context_are_never_found():
    cache = PromptStateCache(10_000)
    cache.store(tokens(0, 100), b"a" * 100, CHAT)
    assert cache.best_match(tokens(0, 100), 4096, OTHER) is None
    assert not cache.holds(tokens(0, 50), OTHER)
    cache.store(tokens(0, 50), b"b" * 50, OTHER)  # not a prefix of the chat entry: another context
    assert cache.stats()["entries"] == 2


def spilled(cache: PromptStateCache) -> PromptStateCache:
    assert cache.flush(10)
    return cache


def test_evicted_states_go_to_disk_under_their_own_cap(tmp_path):
    folder = tmp_path / "states"
    folder.mkdir()
    cache = PromptStateCache(100, folder, disk_budget_bytes=200, contexts={CHAT})
    for n in range(4):
        cache.store(tokens(1000 * n, 10), bytes([n]) * 100, CHAT)
        spilled(cache)
    stats = cache.stats()
    assert stats["entries"] == 1 and stats["disk_entries"] == 2 and stats["disk_bytes"] == 200
    assert len(list(folder.iterdir())) == 2
    assert cache.best_match(tokens(0, 10), 4096, CHAT) is None  # the oldest fell off the disk too
    match = cache.best_match(tokens(1000, 10), 4096, CHAT)
    assert match is not None and match.entry.on_disk and cache.load(match) == bytes([1]) * 100
    cache.close()
    assert len(list(folder.iterdir())) == 2  # the files stay for the next run


def test_writing_a_state_to_disk_never_holds_the_lock(tmp_path, monkeypatch):
    cache = PromptStateCache(100, tmp_path, 10_000, contexts={CHAT})
    real_replace = os.replace

    def slow_replace(source, target):
        time.sleep(0.8)  # a state of hundreds of MB on a slow disk
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", slow_replace)
    cache.store(tokens(0, 10), b"a" * 100, CHAT)
    storing = threading.Thread(target=cache.store, args=(tokens(100, 10), b"b" * 100, CHAT))
    storing.start()
    time.sleep(0.1)
    began = time.perf_counter()
    cache.stats()
    cache.best_match(tokens(0, 10), 4096, CHAT)
    took = time.perf_counter() - began
    storing.join()
    assert took < 0.2  # the info routes and requests never wait for a write
    assert spilled(cache).stats()["disk_entries"] == 1


def test_states_persist_across_restarts_and_only_checked_files_load(tmp_path, caplog):
    cache = PromptStateCache(10_000, tmp_path, 10_000, contexts={CHAT, OTHER})
    cache.store(tokens(0, 100), b"a" * 300, CHAT)
    cache.store(tokens(0, 80), b"o" * 200, OTHER)
    cache.persist()  # at quit
    cache.close()
    # Files that must not load: cut short, damaged, foreign (another model's context), not a state.
    good = sorted(tmp_path.iterdir())
    write_state_file(tmp_path / "foreign.state", "slot=chat;model=another", tokens(0, 100), b"f" * 300)
    write_state_file(tmp_path / "cut.state", CHAT, tokens(0, 200), b"c" * 300)
    (tmp_path / "cut.state").write_bytes((tmp_path / "cut.state").read_bytes()[:-10])
    write_state_file(tmp_path / "damaged.state", CHAT, tokens(5000, 100), b"d" * 300)
    damaged = bytearray((tmp_path / "damaged.state").read_bytes())
    damaged[-1] ^= 0xFF
    (tmp_path / "damaged.state").write_bytes(bytes(damaged))
    (tmp_path / "junk.state").write_bytes(b"not a state")
    again = PromptStateCache(10_000, tmp_path, 10_000, contexts={CHAT})  # OTHER's settings changed
    assert again.stats()["dropped_files"] == 4  # foreign, cut, junk, and the other context's file
    kept = state_file_name(CHAT, np.asarray(tokens(0, 100), dtype=np.int32))
    assert len(good) == 2 and {p.name for p in tmp_path.iterdir()} == {kept, "damaged.state"}
    match = again.best_match([*tokens(0, 100), 9], 4096, CHAT)
    assert match is not None and match.shared == 100 and again.load(match) == b"a" * 300
    bad = again.best_match(tokens(5000, 100), 4096, CHAT)
    assert bad is not None and again.load(bad) is None  # its digest is checked when it is read
    assert not (tmp_path / "damaged.state").exists()
    assert "dropped, not loaded" in caplog.text


def test_a_full_disk_keeps_what_was_saved_and_says_so_once(small_disk, caplog):
    state = 20_000  # bytes: the small disk holds a few
    cache = PromptStateCache(state, small_disk.folder, 1 << 30, contexts={CHAT})
    cache.store(tokens(0, 10), b"a" * state, CHAT)
    cache.store(tokens(100, 10), b"b" * state, CHAT)  # the first goes to disk
    saved = {p.name: p.read_bytes() for p in spilled(cache).folder.glob("*.state")}
    assert len(saved) == 1
    small_disk.fill()
    for n in range(2, 6):
        cache.store(tokens(100 * n, 10), bytes([n]) * state, CHAT)
        spilled(cache)
    assert {p.name: p.read_bytes() for p in small_disk.folder.glob("*.state")} == saved  # nothing saved is lost
    assert not list(small_disk.folder.glob("*.tmp")) and not list(small_disk.folder.glob(".*.tmp"))  # no partial file
    assert "the disk is full" in str(cache.stats()["disk_error"])
    assert caplog.text.count("the disk is full") == 1  # said once, not once per save
    small_disk.free()
    cache.store(tokens(900, 10), b"z" * state, CHAT)
    assert spilled(cache).stats()["disk_error"] is None  # saved again once there is room
    cache.close()


@pytest.mark.parametrize("disk", [0, 10_000])
def test_closing_without_a_folder_or_with_one_leaves_no_thread(tmp_path, disk):
    cache = PromptStateCache(100, tmp_path if disk else None, disk)
    cache.close()
    assert cache._writer is None or not cache._writer.is_alive()
