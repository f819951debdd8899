"""The prompt-state cache: KV states of recent prompts, in host RAM under a byte budget,
and on disk under a cap, across restarts.

When the chat context moves to another conversation, the state of the one it held
(its KV cells, as `llama_state_seq_get_data` copies them) goes here. Returning to that
conversation, or asking about the same file in a new chat, loads the entry that shares
the longest prefix with the new prompt and evaluates only the rest; llama.cpp's server
does the same with `--cache-ram`.

- Every entry carries the tag of the context it came from (app.engine.slots.context_tag):
  a lookup only finds entries of the asking context, and a slot refuses a state of another.
- Entries are kept least-recently-used first and evicted oldest first once their bytes
  pass the budget (default 10% of RAM, at most 2 GiB: see app.protocol.options). The budget
  is counted by the memory estimator, so it is never hidden RAM.
- An entry whose tokens are a prefix of a newer one is dropped: the newer state holds
  those cells too. A newer prompt that is a prefix of an entry is not stored again.
- With a disk folder (app.engine.state_files), an evicted entry is written there by a
  writer thread, never under the cache's lock (a state can be hundreds of MB, and the
  info routes read the stats), and the folder is read back at the next start. `persist`
  writes what is still only in RAM (at quit). A failing write (a full disk) is said once.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
from collections import OrderedDict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.engine.state_files import (
    SUFFIX,
    BadStateFile,
    StateFileHeader,
    read_state_blob,
    read_state_header,
    state_file_name,
    write_state_file,
)
from app.utils.atomic import WriteFailures

log = logging.getLogger(__name__)

PERSIST_TIMEOUT_S = 60.0


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
    context: str  # the tag of the context the state came from
    tokens: np.ndarray  # int32: the tokens whose KV cells the state holds
    nbytes: int
    blob: bytes | bytearray | None = None  # in RAM
    path: Path | None = None  # on disk (also while `blob` is still in RAM, once written)
    header: StateFileHeader | None = None  # of a file found at start, checked when read
    writing: bool = False  # queued for the writer

    @property
    def on_disk(self) -> bool:
        return self.blob is None and self.path is not None


@dataclass(frozen=True)
class CacheMatch:
    entry: CachedState
    shared: int  # tokens at the start of the prompt that the entry holds


class PromptStateCache:
    """LRU of prompt states under a RAM budget, with an optional folder on disk."""

    def __init__(
        self,
        budget_bytes: int,
        folder: Path | None = None,
        disk_budget_bytes: int = 0,
        contexts: Collection[str] = (),
    ) -> None:
        self.budget_bytes = max(0, budget_bytes)
        self.folder = folder if disk_budget_bytes > 0 and self.budget_bytes > 0 else None
        self.disk_budget_bytes = disk_budget_bytes if self.folder is not None else 0
        self._entries: OrderedDict[int, CachedState] = OrderedDict()  # oldest first
        self._keys = itertools.count(1)
        self._lock = threading.Lock()
        self.ram_bytes = 0
        self.queued_bytes = 0  # of RAM entries queued for the writer (still in RAM until written)
        self.disk_bytes = 0
        self.hits = self.misses = self.evictions = self.stored = self.written = self.dropped_files = 0
        self.write_failures = WriteFailures("prompt states")
        self._writes: queue.Queue[CachedState | None] = queue.Queue()
        self._writer: threading.Thread | None = None
        self._closing = False  # at quit, written entries leave RAM
        if self.folder is not None:
            self._read_folder(self.folder, set(contexts))
            self._writer = threading.Thread(target=self._write_loop, name="prompt-state-writer", daemon=True)
            self._writer.start()

    @property
    def enabled(self) -> bool:
        return self.budget_bytes > 0

    # -- lookups ---------------------------------------------------------------------
    def best_match(self, tokens: Sequence[int], max_tokens: int, context: str) -> CacheMatch | None:
        """The entry of `context` sharing the longest prefix with `tokens` among those of at
        most `max_tokens` tokens (the context that would load it must hold them)."""
        with self._lock:
            best: CacheMatch | None = None
            for entry in self._entries.values():
                if entry.context != context or len(entry.tokens) > max_tokens:
                    continue
                shared = common_prefix(entry.tokens, tokens)
                if shared and (best is None or shared > best.shared):
                    best = CacheMatch(entry, shared)
            return best

    def load(self, match: CacheMatch) -> bytes | bytearray | None:
        """The entry's state bytes (from RAM or its checked file); counts a hit. None if it is gone."""
        with self._lock:
            entry = self._entries.get(match.entry.key)
            if entry is None:
                return None
            self._entries.move_to_end(entry.key)
            blob, path, header = entry.blob, entry.path, entry.header
        if blob is None and path is not None:
            try:
                header = header or read_state_header(path, entry.context)
                blob = read_state_blob(path, header)
            except BadStateFile as exc:
                log.warning("prompt state %s dropped, not loaded: %s", path, exc)
                self.discard(entry)
                return None
        with self._lock:
            self.hits += 1
        return blob

    def record_miss(self) -> None:
        with self._lock:
            self.misses += 1

    def holds(self, tokens: Sequence[int], context: str) -> bool:
        """Whether an entry of `context` already holds every cell of `tokens` (storing them adds nothing)."""
        with self._lock:
            return any(
                e.context == context and len(e.tokens) >= len(tokens) and common_prefix(e.tokens, tokens) == len(tokens)
                for e in self._entries.values()
            )

    # -- storing and evicting -------------------------------------------------------
    def store(self, tokens: Sequence[int], blob: bytes | bytearray, context: str) -> bool:
        """Keep `blob` as the state of `tokens` in `context`; returns False when it cannot fit at all."""
        array = np.asarray(tokens, dtype=np.int32)
        nbytes = len(blob)
        if not self.enabled or nbytes > max(self.budget_bytes, self.disk_budget_bytes):
            return False
        with self._lock:
            for entry in list(self._entries.values()):
                if entry.context != context:
                    continue
                shared = common_prefix(entry.tokens, array)
                if shared == len(array) and len(entry.tokens) >= len(array):
                    self._entries.move_to_end(entry.key)
                    return True  # an entry already holds all of these cells
                if shared == len(entry.tokens):
                    self._drop(entry)  # the new state holds all of this entry's cells
            entry = CachedState(next(self._keys), context, array, nbytes, blob=blob)
            self._entries[entry.key] = entry
            self.ram_bytes += nbytes
            self.stored += 1
            self._fit_ram()
        return True

    def discard(self, entry: CachedState) -> None:
        with self._lock:
            if entry.key in self._entries:
                self._drop(entry)

    def _drop(self, entry: CachedState) -> None:
        """Forget `entry` (under the lock); its file goes too (an unlink: no data is written)."""
        del self._entries[entry.key]
        if entry.blob is not None:
            self.ram_bytes -= entry.nbytes
            if entry.writing:
                self.queued_bytes -= entry.nbytes
        if entry.path is not None:
            self.disk_bytes -= entry.nbytes
            entry.path.unlink(missing_ok=True)
        entry.writing = False

    def _fit_ram(self) -> None:
        """Evict the oldest RAM entries past the budget (under the lock): to the writer's
        queue when there is a folder, else they are dropped."""
        for entry in list(self._entries.values()):  # oldest first
            if self.ram_bytes - self.queued_bytes <= self.budget_bytes:
                break
            if entry.blob is None or entry.writing:
                continue
            self.evictions += 1
            if entry.path is not None:  # already on disk: only its RAM copy goes
                self.ram_bytes -= entry.nbytes
                entry.blob = None
            elif self.folder is not None and entry.nbytes <= self.disk_budget_bytes:
                self._queue_write(entry)
            else:
                self._drop(entry)

    def _queue_write(self, entry: CachedState) -> None:
        entry.writing = True
        self.queued_bytes += entry.nbytes
        self._writes.put(entry)

    def _write_loop(self) -> None:
        while (entry := self._writes.get()) is not None:
            try:
                self._write(entry)
            finally:
                self._writes.task_done()
        self._writes.task_done()

    def _write(self, entry: CachedState) -> None:
        assert self.folder is not None
        with self._lock:
            blob = entry.blob
            if not entry.writing or blob is None:
                return  # dropped while it waited
            self._fit_disk(entry.nbytes)
        path = self.folder / state_file_name(entry.context, entry.tokens)
        try:
            write_state_file(path, entry.context, entry.tokens, blob)  # the slow part: outside the lock
        except OSError as exc:
            self.write_failures.failed(path, exc)
            with self._lock:
                if entry.writing and entry.key in self._entries:
                    self._drop(entry)  # nothing on disk is lost: the write was atomic
            return
        self.write_failures.succeeded()
        with self._lock:
            if not entry.writing or entry.key not in self._entries:
                path.unlink(missing_ok=True)  # dropped while it was written
                return
            entry.writing = False
            self.queued_bytes -= entry.nbytes
            entry.path = path
            self.disk_bytes += entry.nbytes
            self.written += 1
            if self.ram_bytes - self.queued_bytes > self.budget_bytes or self._closing:
                entry.blob = None
                self.ram_bytes -= entry.nbytes

    def _fit_disk(self, incoming: int) -> None:
        """Room on disk for `incoming` bytes: the oldest files go (under the lock)."""
        for entry in list(self._entries.values()):
            if self.disk_bytes + incoming <= self.disk_budget_bytes:
                break
            if entry.path is not None:
                if entry.blob is None:
                    self._drop(entry)
                else:  # in RAM too: keep it there, only its file goes
                    self.disk_bytes -= entry.nbytes
                    entry.path.unlink(missing_ok=True)
                    entry.path = None

    def _read_folder(self, folder: Path, contexts: set[str]) -> None:
        """Index the state files of an earlier run: checked headers only, oldest first."""
        found: list[tuple[float, Path, StateFileHeader]] = []
        for path in folder.glob(f"*{SUFFIX}"):
            try:
                header = read_state_header(path)
                if header.context not in contexts:
                    raise BadStateFile("it belongs to another model or other context settings")
                found.append((path.stat().st_mtime, path, header))
            except (BadStateFile, OSError) as exc:
                log.warning("prompt state %s dropped, not loaded: %s", path, exc)
                path.unlink(missing_ok=True)
                self.dropped_files += 1
        for _, path, header in sorted(found, key=lambda item: item[0]):
            entry = CachedState(
                next(self._keys), header.context, header.tokens, header.blob_bytes, path=path, header=header
            )
            self._entries[entry.key] = entry
            self.disk_bytes += entry.nbytes
        with self._lock:
            self._fit_disk(0)
        if found:
            log.info("prompt states from earlier runs: %d files, %d bytes", len(self._entries), self.disk_bytes)

    # -- reporting and cleanup -------------------------------------------------------
    def stats(self) -> dict[str, object]:
        with self._lock:
            return {
                "enabled": self.enabled,
                "budget_bytes": self.budget_bytes,
                "bytes": self.ram_bytes,
                "entries": sum(1 for e in self._entries.values() if e.blob is not None),
                "disk_folder": str(self.folder) if self.folder is not None else None,
                "disk_budget_bytes": self.disk_budget_bytes,
                "disk_bytes": self.disk_bytes,
                "disk_entries": sum(1 for e in self._entries.values() if e.path is not None),
                "disk_writes_queued": sum(1 for e in self._entries.values() if e.writing),
                "disk_error": self.write_failures.message,
                "dropped_files": self.dropped_files,
                "hits": self.hits,
                "misses": self.misses,
                "evictions": self.evictions,
            }

    def flush(self, timeout: float = PERSIST_TIMEOUT_S) -> bool:
        """Wait until the queued writes are done; False on timeout."""
        if self._writer is None:
            return True
        done = threading.Event()

        def wait_for_writes() -> None:
            self._writes.join()
            done.set()

        threading.Thread(target=wait_for_writes, name="prompt-state-flush", daemon=True).start()
        return done.wait(timeout)

    def persist(self, timeout: float = PERSIST_TIMEOUT_S) -> bool:
        """Write the entries that are only in RAM (at quit), newest first while they fit the disk cap."""
        with self._lock:
            if self.folder is None:
                return True
            room = self.disk_budget_bytes
            for entry in reversed(self._entries.values()):
                if entry.blob is not None and entry.path is None and not entry.writing and entry.nbytes <= room:
                    room -= entry.nbytes
                    self._queue_write(entry)
        return self.flush(timeout)

    def close(self, timeout: float = PERSIST_TIMEOUT_S) -> None:
        """Stop the writer once its queue is done (waiting `timeout` at most); the files
        stay for the next run. A write still running at process exit leaves no partial file."""
        self._closing = True
        if self._writer is not None:
            self._writes.put(None)
            self._writer.join(timeout)
