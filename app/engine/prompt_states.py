"""How the engine's contexts use the prompt-state cache: warm starts, saves, and quitting.

- Before a prompt overwrites what a context holds, that state is saved to the cache
  (when it is long enough to be worth it); a prompt that shares more with a cached state
  than with the live cells loads that state first (`warm_start`).
- A save is abandoned when the work's cancel flag is set before or while it runs (idle
  prefill gives way to a request that way: the slot keeps its cells, nothing is lost).
- Quitting saves the live contexts' states and writes the cache to disk (`save_at_quit`),
  so the next engine (after an app restart, or `dscoder serve` again) starts warm.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path

import psutil

from app.engine.abort import GenerationCancelled
from app.engine.slots import KvSlot
from app.engine.state_cache import PromptStateCache, common_prefix
from app.engine.state_files import model_key, state_folder
from app.protocol.options import LoadOptions, prompt_cache_budget

log = logging.getLogger(__name__)

MIN_STATE_TOKENS = 64  # shorter prompts are cheaper to evaluate again than to keep
MIN_RESTORE_GAIN = 32  # load a cached state only when it saves at least this many tokens


def open_state_cache(options: LoadOptions, slots: Sequence[KvSlot], cache_root: Path) -> PromptStateCache:
    """The cache for `slots`: in RAM under its budget, and in this model's folder on disk
    when the options give a disk cap (the files of earlier runs are read back)."""
    folder, disk_budget = None, 0
    if options.prompt_cache_spill_bytes > 0:
        folder, disk_budget = state_folder(cache_root, model_key(options.model_path), options.prompt_cache_spill_bytes)
    return PromptStateCache(
        prompt_cache_budget(options.prompt_cache_bytes, psutil.virtual_memory().total),
        folder,
        disk_budget,
        contexts={slot.context_tag for slot in slots},
    )


class PromptStates:
    """The engine's use of one PromptStateCache for its contexts."""

    def __init__(self, cache: PromptStateCache) -> None:
        self.cache = cache
        self.abandoned_saves = 0

    def warm_start(self, slot: KvSlot, tokens: list[int], cancel: threading.Event | None = None) -> bool:
        """Load the cached state that shares the most with `tokens` when it beats what the
        slot holds; keep the slot's own state in the cache before it is overwritten.

        Raises GenerationCancelled (the slot untouched) when `cancel` is set during the save."""
        cache = self.cache
        if not cache.enabled:
            return False
        live = common_prefix(slot.tokens, tokens)
        match = cache.best_match(tokens, slot.n_ctx, slot.context_tag)
        restore = match is not None and match.shared - live >= MIN_RESTORE_GAIN
        # Read the entry first: keeping the slot's own state may evict older entries.
        blob = cache.load(match) if restore and match is not None else None
        if restore or len(slot.tokens) - live >= MIN_STATE_TOKENS:
            self.remember(slot, cancel)
        if restore and match is not None:
            if blob is not None and slot.load_state(blob, [int(t) for t in match.entry.tokens], match.entry.context):
                return True
            cache.discard(match.entry)
            slot.clear()
        if live < len(tokens) // 2:
            cache.record_miss()
        return False

    def remember(self, slot: KvSlot, cancel: threading.Event | None = None) -> None:
        """Keep the slot's state in the cache (unless it holds it already)."""
        if len(slot.tokens) < MIN_STATE_TOKENS or self.cache.holds(slot.tokens, slot.context_tag):
            return
        if cancel is not None and cancel.is_set():
            self._abandon()
        blob = slot.save_state()  # one C call: it can't stop midway, so the flag is read after it too
        if cancel is not None and cancel.is_set():
            self._abandon()
        self.cache.store(list(slot.tokens), blob, slot.context_tag)

    def _abandon(self) -> None:
        self.abandoned_saves += 1
        raise GenerationCancelled()

    def save_at_quit(self, slots: Sequence[KvSlot], timeout: float) -> None:
        """Keep every live context's state, then write what is only in RAM to disk (newest
        first, for `timeout` seconds at most: an unfinished file is never left half-written)."""
        if not self.cache.enabled:
            return
        for slot in slots:
            try:
                self.remember(slot)
            except Exception:  # noqa: BLE001 - quitting goes on whatever one save does
                log.exception("could not keep the %s context's state at quit", slot.name)
        if self.cache.folder is not None:
            self.cache.persist(timeout)
