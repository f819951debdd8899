"""The prompt-state cache: KV states of recent prompts, kept in host RAM under a byte budget.

When the chat context moves to another conversation, the state of the one it held
(its KV cells, as `llama_state_seq_get_data` copies them) goes here. Returning to that
conversation, or asking about the same file in a new chat, loads the entry that shares
the longest prefix with the new prompt and evaluates only the rest; llama.cpp's server
does the same with `--cache-ram`.

- Entries are kept least-recently-used first and evicted oldest first once their bytes
  pass the budget (default 10% of RAM, at most 2 GiB: see app.protocol.options). The budget
  is counted by the memory estimator, so it is never hidden RAM.
- An entry whose tokens are a prefix of a newer one is dropped: the newer state holds
  those cells too. A newer prompt that is a prefix of an entry is not stored again.
- Optionally an evicted entry spills to a file in the cache folder, under its own cap;
  the files belong to this engine process and are deleted when it ends.
"""

from __future__ import annotations

import itertools
import logging
import os
import shutil
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psutil

log = logging.getLogger(__name__)


def common_prefix(a: Sequence[int] | np.ndarray, b: Sequence[int] | np.ndarray) -> int:
    """Length of the longest common prefix of two token sequences."""
    n = min(len(a), len(b))
    if n == 0:
        return 0
    left = np.asarray(a[:n], dtype=np.int32)
    right = np.asarray(b[:n], dtype=np.int32)
    differ = np.flatnonzero(left != right)
    return int(differ[0]) if differ.size else n


@dataclass
class CachedState:
    key: int
    tokens: np.ndarray  # int32: the tokens whose KV cells the state holds
    nbytes: int
    blob: bytes | None = None  # in RAM
    path: Path | None = None  # spilled to disk

    @property
    def on_disk(self) -> bool:
        return self.blob is None and self.path is not None


@dataclass(frozen=True)
class CacheMatch:
    entry: CachedState
    shared: int  # tokens at the start of the prompt that the entry holds


class PromptStateCache:
    """LRU of prompt states under a RAM budget, with an optional spill folder."""

    def __init__(self, budget_bytes: int, spill_dir: Path | None = None, spill_budget_bytes: int = 0) -> None:
        self.budget_bytes = max(0, budget_bytes)
        self.spill_dir = spill_dir if spill_budget_bytes > 0 else None
        self.spill_budget_bytes = spill_budget_bytes if self.spill_dir is not None else 0
        self._entries: OrderedDict[int, CachedState] = OrderedDict()  # oldest first
        self._keys = itertools.count(1)
        self._lock = threading.Lock()
        self.ram_bytes = 0
        self.disk_bytes = 0
        self.hits = 0
        self.misses = 0
        self.evictions = 0
        self.stored = 0

    @property
    def enabled(self) -> bool:
        return self.budget_bytes > 0

    # -- lookups ---------------------------------------------------------------------
    def best_match(self, tokens: Sequence[int], max_tokens: int) -> CacheMatch | None:
        """The entry sharing the longest prefix with `tokens` among those of at most
        `max_tokens` tokens (the context that would load it must hold them)."""
        with self._lock:
            best: CacheMatch | None = None
            for entry in self._entries.values():
                if len(entry.tokens) > max_tokens:
                    continue
                shared = common_prefix(entry.tokens, tokens)
                if shared and (best is None or shared > best.shared):
                    best = CacheMatch(entry, shared)
            return best

    def load(self, match: CacheMatch) -> bytes | None:
        """The entry's state bytes (from RAM or its file); counts a hit. None if it is gone."""
        with self._lock:
            entry = self._entries.get(match.entry.key)
            if entry is None:
                return None
            self._entries.move_to_end(entry.key)
            blob, path = entry.blob, entry.path
        if blob is None and path is not None:
            try:
                blob = path.read_bytes()
            except OSError as exc:
                log.warning("prompt state file %s is unreadable (%s); dropping it", path, exc)
                self.discard(entry)
                return None
        with self._lock:
            self.hits += 1
        return blob

    def record_miss(self) -> None:
        with self._lock:
            self.misses += 1

    def holds(self, tokens: Sequence[int]) -> bool:
        """Whether an entry already holds every cell of `tokens` (so storing them adds nothing)."""
        with self._lock:
            return any(
                len(e.tokens) >= len(tokens) and common_prefix(e.tokens, tokens) == len(tokens)
                for e in self._entries.values()
            )

    # -- storing and evicting -------------------------------------------------------
    def store(self, tokens: Sequence[int], blob: bytes) -> bool:
        """Keep `blob` as the state of `tokens`; returns False when it cannot fit at all."""
        array = np.asarray(tokens, dtype=np.int32)
        nbytes = len(blob)
        if not self.enabled or nbytes > max(self.budget_bytes, self.spill_budget_bytes):
            return False
        with self._lock:
            for entry in list(self._entries.values()):
                shared = common_prefix(entry.tokens, array)
                if shared == len(array) and len(entry.tokens) >= len(array):
                    self._entries.move_to_end(entry.key)
                    return True  # an entry already holds all of these cells
                if shared == len(entry.tokens):
                    self._drop(entry)  # the new state holds all of this entry's cells
            entry = CachedState(next(self._keys), array, nbytes, blob=blob)
            self._entries[entry.key] = entry
            self.ram_bytes += nbytes
            self.stored += 1
            self._fit_budget()
        return True

    def discard(self, entry: CachedState) -> None:
        with self._lock:
            if entry.key in self._entries:
                self._drop(entry)

    def _drop(self, entry: CachedState) -> None:
        del self._entries[entry.key]
        if entry.blob is not None:
            self.ram_bytes -= entry.nbytes
        elif entry.path is not None:
            self.disk_bytes -= entry.nbytes
            entry.path.unlink(missing_ok=True)

    def _fit_budget(self) -> None:
        for entry in list(self._entries.values()):  # oldest first
            if self.ram_bytes <= self.budget_bytes:
                break
            if entry.blob is None:
                continue
            self.evictions += 1
            if not self._spill(entry):
                self._drop(entry)
        for entry in list(self._entries.values()):
            if self.disk_bytes <= self.spill_budget_bytes:
                break
            if entry.on_disk:
                self._drop(entry)

    def _spill(self, entry: CachedState) -> bool:
        if self.spill_dir is None or entry.blob is None or entry.nbytes > self.spill_budget_bytes:
            return False
        path = self.spill_dir / f"{entry.key}.state"
        try:
            self.spill_dir.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(".partial")
            partial.write_bytes(entry.blob)
            os.replace(partial, path)
        except OSError as exc:
            log.warning("could not spill a prompt state to %s (%s)", path, exc)
            return False
        self.ram_bytes -= entry.nbytes
        self.disk_bytes += entry.nbytes
        entry.blob, entry.path = None, path
        return True

    # -- reporting and cleanup -------------------------------------------------------
    def stats(self) -> dict[str, object]:
        with self._lock:
            return {
                "enabled": self.enabled,
                "budget_bytes": self.budget_bytes,
                "bytes": self.ram_bytes,
                "entries": sum(1 for e in self._entries.values() if e.blob is not None),
                "spill_budget_bytes": self.spill_budget_bytes,
                "spill_bytes": self.disk_bytes,
                "spilled_entries": sum(1 for e in self._entries.values() if e.on_disk),
                "hits": self.hits,
                "misses": self.misses,
                "evictions": self.evictions,
            }

    def close(self) -> None:
        with self._lock:
            self._entries.clear()
            self.ram_bytes = self.disk_bytes = 0
        if self.spill_dir is not None:
            shutil.rmtree(self.spill_dir, ignore_errors=True)


def spill_folder(cache_root: Path) -> Path:
    """This process's spill folder under `cache_root`; folders of engines that are gone are removed."""
    root = cache_root / "prompt-states"
    if root.is_dir():
        for child in root.iterdir():
            pid = child.name.partition("-")[0]
            if pid.isdigit() and int(pid) != os.getpid() and not psutil.pid_exists(int(pid)):
                shutil.rmtree(child, ignore_errors=True)
    return root / f"{os.getpid()}-{os.urandom(3).hex()}"
