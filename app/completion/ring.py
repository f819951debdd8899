"""Chunks of the files the user recently opened, edited or copied from, for the FIM
prompt: what llama.vscode calls the ring buffer (`ring_n_chunks`).

Completion then sees the rest of the project (a helper's signature, a constant, a
class's fields) without the whole project in the prompt. The chunks go before the
current file in DeepSeek-Coder's repository format (each introduced by a comment line
with its path), and they are ordered for the engine's prompt cache:

- New chunks wait in a queue and join the ring only from time to time
  (`commit_if_due`), not on every keystroke, so the start of the prompt does not change
  while the user types.
- The ring keeps arrival order: a new chunk goes at the end (just before the current
  file), the oldest leaves first; a chunk already in the ring keeps its place, and one
  that is nearly the same as a newer one is replaced by it.
- The ring holds at most `capacity_tokens`, so everything in it fits in the prompt.

Qt-free: app/completion/ui/service.py feeds it from the editor's events.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.completion.fim_window import display_paths, path_comment
from app.editor import textfile
from app.protocol.repository import repository_part
from app.utils.tokens import approx_tokens

CHUNK_LINES = 64
RING_CAPACITY_TOKENS = 1024
MAX_CHUNKS = 16
COMMIT_INTERVAL_S = 3.0  # the queue joins the ring at most this often
SIMILAR = 0.9  # a chunk this similar to a newer one from the same file is replaced by it

TokenCounter = Callable[[str], int]


@dataclass(frozen=True)
class RingChunk:
    path: str
    text: str
    language: str = textfile.PLAIN_TEXT


def _similar(a: RingChunk, b: RingChunk) -> bool:
    if a.path != b.path:
        return False
    if a.text == b.text:
        return True
    matcher = difflib.SequenceMatcher(None, a.text.splitlines(), b.text.splitlines(), autojunk=False)
    return matcher.quick_ratio() >= SIMILAR and matcher.ratio() >= SIMILAR


class RingBuffer:
    """The chunks, oldest first, and the queue of new ones."""

    def __init__(
        self,
        capacity_tokens: int = RING_CAPACITY_TOKENS,
        chunk_lines: int = CHUNK_LINES,
        max_chunks: int = MAX_CHUNKS,
        commit_interval_s: float = COMMIT_INTERVAL_S,
        count_tokens: TokenCounter = approx_tokens,
    ) -> None:
        self.capacity_tokens = capacity_tokens
        self.chunk_lines = chunk_lines
        self.max_chunks = max_chunks
        self.commit_interval_s = commit_interval_s
        self.count_tokens = count_tokens
        self._chunks: list[RingChunk] = []
        self._queue: list[RingChunk] = []
        self._last_commit = float("-inf")

    # --- feeding ------------------------------------------------------------------

    def add_chunk(self, chunk: RingChunk) -> None:
        """Queue a chunk, unless the ring or the queue already has it."""
        if not chunk.text.strip() or chunk in self._chunks or chunk in self._queue:
            return
        self._queue = [queued for queued in self._queue if not _similar(queued, chunk)]
        self._queue.append(chunk)

    def add_file(self, path: str, text: str, language: str = textfile.PLAIN_TEXT) -> None:
        """A file the user opened: its first chunk (its imports, constants and first definitions)."""
        lines = text.splitlines(keepends=True)
        self.add_chunk(RingChunk(path, "".join(lines[: self.chunk_lines]), language))

    def add_around(self, path: str, text: str, line: int, language: str = textfile.PLAIN_TEXT) -> None:
        """Where the user edited: the chunk of the grid cell around `line` (a fixed grid, so
        edits within a few lines give the same chunk and do not churn the ring)."""
        lines = text.splitlines(keepends=True)
        start = max(0, line - self.chunk_lines // 2)
        start -= start % (self.chunk_lines // 2)
        self.add_chunk(RingChunk(path, "".join(lines[start : start + self.chunk_lines]), language))

    def add_text(self, path: str, text: str, language: str = textfile.PLAIN_TEXT) -> None:
        """Text the user copied (yanked): as it is, cut to a chunk."""
        lines = text.splitlines(keepends=True)
        self.add_chunk(RingChunk(path, "".join(lines[: self.chunk_lines]), language))

    # --- committing ---------------------------------------------------------------

    def commit(self) -> bool:
        """Move the queue into the ring; True when the ring changed."""
        changed = False
        for chunk in self._queue:
            if chunk in self._chunks:
                continue
            self._chunks = [kept for kept in self._chunks if not _similar(kept, chunk)]
            self._chunks.append(chunk)
            changed = True
        self._queue.clear()
        while self._chunks and (
            len(self._chunks) > self.max_chunks or self._tokens(self._chunks) > self.capacity_tokens
        ):
            self._chunks.pop(0)
        return changed

    def commit_if_due(self, now: float) -> bool:
        """Commit when the last commit is at least `commit_interval_s` old (`now`: monotonic seconds)."""
        if not self._queue or now - self._last_commit < self.commit_interval_s:
            return False
        self._last_commit = now
        return self.commit()

    def chunks(self) -> tuple[RingChunk, ...]:
        return tuple(self._chunks)

    def pending(self) -> tuple[RingChunk, ...]:
        return tuple(self._queue)

    def _tokens(self, chunks: Sequence[RingChunk]) -> int:
        return sum(self.count_tokens(chunk.text) + 8 for chunk in chunks)


@dataclass(frozen=True)
class RingPrefix:
    """The start of a FIM prompt made from the ring buffer: other files' chunks in the
    repository format (each after a comment line with its path)."""

    text: str  # the chunks in the repository format, to go before the current file
    paths: tuple[str, ...]  # the chunks' file paths, in order
    shown: tuple[str, ...]  # the same as the prompt shows them


def ring_prefix(
    chunks: Sequence[RingChunk],
    current_path: str,
    budget_tokens: int = RING_CAPACITY_TOKENS,
    count_tokens: TokenCounter = approx_tokens,
) -> RingPrefix:
    """The ring's chunks (but the current file's) as repository-format text within budget:
    the newest that fit, shown oldest first so the start stays the same as chunks arrive."""
    others = [c for c in chunks if not current_path or c.path != current_path]
    chosen: list[RingChunk] = []
    used = 0
    for chunk in reversed(others):
        cost = count_tokens(chunk.text) + 8
        if used + cost > budget_tokens:
            break
        chosen.insert(0, chunk)
        used += cost
    _, shown = display_paths(current_path, [c.path for c in chosen])
    parts = [repository_part(name, chunk.text, chunk.language) for chunk, name in zip(chosen, shown, strict=True)]
    return RingPrefix("".join(parts), tuple(c.path for c in chosen), tuple(shown))


def with_repository(prefix: str, ring_part: RingPrefix, current_path: str, language: str) -> str:
    """`prefix` after the chunks and the current file's path line, as build_completion_prompt
    lays them out (for `dscoder complete --context-file`, which sends a prefix as it is)."""
    if not ring_part.text:
        return prefix
    current_shown, _ = display_paths(current_path, list(ring_part.paths))
    return f"{ring_part.text}{path_comment(current_shown, language)}\n{prefix}"
