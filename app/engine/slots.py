"""KV slots: llama.cpp contexts on one shared model, each with its own KV cache.

The engine keeps two contexts on the same `llama_model`: one for chat (the full
context) and one for inline completion (sized for its window). The weights are loaded
once; each context adds only its KV cache and compute buffer. Chat and completion
therefore never evict each other's cache. Two contexts were chosen over two sequences
of one context because:

- each cache gets its own size (a chat needs the whole context, a completion window
  about 2K tokens), where one context's sequences split a single unified cell pool,
  and attention then runs over the other sequence's (masked) cells on every token;
- each context has its own abort flag, thread counts and state, so cancelling or
  restoring one never touches the other.

Every batch of every context is decoded on the engine's one `DecodeThread`
(app/engine/decode_thread.py: why one thread), in arrival order, so a chat and a
completion that run at once take turns token by token instead of one waiting for the
other to finish.

A slot remembers which tokens its cache holds (`tokens`), reuses the longest common
prefix of the next prompt, and, for completion, also the unchanged tokens after an edit
(see `reuse_shifted`).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import llama_cpp
import numpy as np

from app.engine import llama_private as _internals  # llama-cpp-python's private API, through one door
from app.engine.abort import AbortFlag, GenerationCancelled, install_abort_byte
from app.engine.decode_thread import DecodeThread
from app.engine.state_cache import common_prefix
from app.utils.errors import EngineError

log = logging.getLogger(__name__)

# Shifted reuse (completion after an edit): tokens right after an edit attended to the
# old text, so this many are evaluated again; in our checks that keeps the suggestion
# the same as a fresh evaluation, for at most this many tokens of work.
REEVALUATE_AFTER_EDIT = 16
MIN_SHIFTED_RUN = 32  # a shorter unchanged run is cheaper to evaluate than to move
MAX_MOVED_RUNS = 3  # runs moved per request: an edit, the window's start and its end moving
ANCHOR = 8  # tokens that must match to start a run
GGML_KV_TYPES = {"f16": llama_cpp.GGML_TYPE_F16, "q8_0": llama_cpp.GGML_TYPE_Q8_0, "q4_0": llama_cpp.GGML_TYPE_Q4_0}


class StateMismatch(EngineError):
    """A saved KV state was offered to a context it did not come from."""


@dataclass(frozen=True)
class SlotParams:
    n_ctx: int
    n_batch: int
    n_ubatch: int
    n_threads: int
    n_threads_batch: int
    flash_attn: bool = False
    kv_cache_type: str = "f16"
    shift_reuse: bool = False  # reuse the unchanged tokens after an edit (needs a parking sequence)


class KvSlot:
    """One llama_context on a shared model and the tokens its KV cache holds (sequence 0)."""

    def __init__(
        self, name: str, model: _internals.LlamaModel, params: SlotParams, decoder: DecodeThread, model_key: str = ""
    ) -> None:
        self.name = name
        self.params = params
        self.decoder = decoder
        cparams = llama_cpp.llama_context_default_params()
        cparams.n_ctx = params.n_ctx
        cparams.n_batch = min(params.n_batch, params.n_ctx)
        cparams.n_ubatch = min(params.n_ubatch, cparams.n_batch)
        cparams.n_threads = params.n_threads
        cparams.n_threads_batch = params.n_threads_batch
        cparams.flash_attn_type = (
            llama_cpp.LLAMA_FLASH_ATTN_TYPE_ENABLED if params.flash_attn else llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED
        )
        if params.kv_cache_type != "f16":
            cparams.type_k = cparams.type_v = GGML_KV_TYPES[params.kv_cache_type]
        if params.shift_reuse:
            cparams.n_seq_max = 1 + MAX_MOVED_RUNS  # sequence 0 and the parking sequences
            cparams.kv_unified = True  # parked cells move between sequences without a copy
        try:
            self._ctx = _internals.LlamaContext(model=model, params=cparams, verbose=True)
        except ValueError as exc:
            raise EngineError(
                f"llama.cpp could not create the {name} context of {params.n_ctx} tokens",
                "Choose a smaller context, or free some memory",
            ) from exc
        self.ctx = self._ctx.ctx
        self.memory = llama_cpp.llama_get_memory(self.ctx)
        self.n_ctx = llama_cpp.llama_n_ctx(self.ctx)
        self.n_batch = int(cparams.n_batch)
        self._batch = _internals.LlamaBatch(n_tokens=self.n_batch, embd=0, n_seq_max=1, verbose=False)
        self.abort_byte = install_abort_byte(self.ctx)
        self.can_shift = params.shift_reuse and bool(llama_cpp.llama_memory_can_shift(self.memory))
        self.tokens: list[int] = []  # tokens whose KV cells sequence 0 holds, in position order
        self.prompt_len = 0  # how many of `tokens` were the last prompt (the rest were generated)
        self.last_decode_s = 0.0  # how long the last llama_decode took
        self.context_tag = context_tag(name, model_key, params, cparams)

    def close(self) -> None:
        self._batch.close()
        self._ctx.close()

    # -- cancel --------------------------------------------------------------------------
    @contextlib.contextmanager
    def bound(self, cancel: threading.Event) -> Iterator[None]:
        """While inside, setting `cancel` (an AbortFlag) aborts this context's computation."""
        if isinstance(cancel, AbortFlag):
            cancel.bind(self.abort_byte)
        try:
            yield
        finally:
            if isinstance(cancel, AbortFlag):
                cancel.bind(None)
            self.abort_byte[0] = b"\x00"

    # -- decoding --------------------------------------------------------------------------
    def decode(
        self, tokens: Sequence[int], cancel: threading.Event | None = None, *, all_logits: bool = False, chunk: int = 0
    ) -> None:
        """Evaluate `tokens` after `self.tokens`; logits for the last token (or all of them).

        Evaluated in batches of `chunk` tokens (default n_batch): a cancel keeps the
        batches that finished, so a preempted prefill resumes where it stopped."""
        step = min(chunk or self.n_batch, self.n_batch)
        if all_logits and len(tokens) > step:
            raise ValueError("all_logits needs the tokens in one batch")
        for start in range(0, len(tokens), step):
            if cancel is not None and cancel.is_set():
                raise GenerationCancelled()
            part = tokens[start : start + step]
            self._decode_batch(part, all_logits)
            if cancel is not None and cancel.is_set() and start + step < len(tokens):
                raise GenerationCancelled()

    def _decode_batch(self, part: Sequence[int], all_logits: bool, seq: int = 0) -> None:
        if len(self.tokens) + len(part) > self.n_ctx:
            raise EngineError(
                f"The {self.name} context is full ({self.n_ctx} tokens)", "Start a new chat, or load a larger context"
            )
        batch = self._batch.batch
        pos0 = len(self.tokens)
        batch.n_tokens = len(part)
        for i, token in enumerate(part):
            batch.token[i] = token
            batch.pos[i] = pos0 + i
            batch.seq_id[i][0] = seq
            batch.n_seq_id[i] = 1
            batch.logits[i] = all_logits
        batch.logits[len(part) - 1] = True

        def timed_decode() -> int:
            began = time.perf_counter()
            status = llama_cpp.llama_decode(self.ctx, batch)
            self.last_decode_s = time.perf_counter() - began  # its own time, not the wait for its turn
            return int(status)

        status = self.decoder.run(timed_decode)
        if status != 0:
            # Whatever llama.cpp kept of a failed batch, the cells after the last good token go.
            llama_cpp.llama_memory_seq_rm(self.memory, seq, pos0, -1)
            if status == 2:
                raise GenerationCancelled()
            if status == 1:
                raise EngineError(
                    f"The {self.name} context has no room for {len(part)} more tokens", "Start a new chat"
                )
            raise EngineError(f"llama.cpp failed to evaluate the prompt (llama_decode returned {status})")
        self.tokens.extend(part)

    def sample(self, sampler: Any, index: int = -1) -> int:
        """Sample from the logits of the last batch's `index`-th token (-1: its last)."""
        return int(llama_cpp.llama_sampler_sample(sampler, self.ctx, index))

    def truncate(self, n: int) -> None:
        """Keep only the first `n` tokens' cells."""
        n = max(0, min(n, len(self.tokens)))
        llama_cpp.llama_memory_seq_rm(self.memory, 0, n, -1)
        del self.tokens[n:]
        self.prompt_len = min(self.prompt_len, n)

    def clear(self) -> None:
        llama_cpp.llama_memory_clear(self.memory, True)
        self.tokens.clear()
        self.prompt_len = 0

    # -- reuse -------------------------------------------------------------------------------
    def reuse_prefix(self, prompt: Sequence[int]) -> int:
        """Keep the cells `prompt` starts with (at least its last token is left to evaluate)."""
        keep = min(common_prefix(self.tokens, prompt), len(prompt) - 1)
        self.truncate(keep)
        return keep

    def reuse_shifted(self, prompt: Sequence[int], cancel: threading.Event | None = None) -> tuple[int, int]:
        """Reuse the common prefix and the unchanged runs after it, moved to where they are now.

        After an edit in a fill-in-the-middle window (a typed character, the window's start
        moving down a few lines, its end moving), the tokens between the edits are the
        same but sit at other positions. Their cells are moved (`llama_memory_seq_add`, as
        llama-server's --cache-reuse does) instead of being evaluated again. Each run waits
        in its own parking sequence while the tokens before it are evaluated, because
        llama.cpp only accepts a sequence's tokens in position order. Returns (tokens now
        held, tokens of those that were evaluated here)."""
        old = self.tokens[: self.prompt_len]
        prefix = min(common_prefix(old, prompt), len(prompt) - 1)
        runs = moved_runs(old, prompt, prefix) if self.can_shift else []
        if not runs:
            return self.reuse_prefix(prompt), 0
        memory = self.memory
        parked = []
        for seq, (old_at, new_at, length) in enumerate(runs, start=1):
            llama_cpp.llama_memory_seq_cp(memory, 0, seq, old_at + REEVALUATE_AFTER_EDIT, old_at + length)
            parked.append((seq, old_at + REEVALUATE_AFTER_EDIT, old_at + length, new_at + REEVALUATE_AFTER_EDIT))
        self.truncate(prefix)  # the parked cells stay in their own sequences
        evaluated = 0
        try:
            for seq, src0, src1, dst0 in parked:
                gap = prompt[len(self.tokens) : dst0]
                self.decode(gap, cancel)
                evaluated += len(gap)
                llama_cpp.llama_memory_seq_add(memory, seq, src0, src1, dst0 - src0)
                llama_cpp.llama_memory_seq_cp(memory, seq, 0, dst0, dst0 + (src1 - src0))
                self.tokens.extend(prompt[dst0 : dst0 + (src1 - src0)])
                llama_cpp.llama_memory_seq_rm(memory, seq, -1, -1)
        finally:
            for seq, *_ in parked:
                llama_cpp.llama_memory_seq_rm(memory, seq, -1, -1)
        return len(self.tokens), evaluated

    # -- state -------------------------------------------------------------------------------
    def save_state(self) -> bytearray:
        """The KV state of sequence 0 (what `llama_state_seq_get_data` copies)."""
        size = llama_cpp.llama_state_seq_get_size(self.ctx, 0)
        data = bytearray(size)  # one copy: llama.cpp writes straight into the bytes kept
        buffer = (ctypes.c_uint8 * size).from_buffer(data)
        copy_out = functools.partial(llama_cpp.llama_state_seq_get_data, self.ctx, buffer, size, 0)
        written = self.decoder.run(copy_out)
        del copy_out, buffer  # release the export, so the bytearray can be resized
        del data[written:]
        return data  # a bytearray: the state's bytes without a second copy

    def load_state(self, blob: bytes | bytearray, tokens: Sequence[int], tag: str) -> bool:
        """Replace sequence 0 with a saved state of `tokens` that came from a context tagged
        `tag`; False (and empty) if llama.cpp refuses it.

        Raises StateMismatch when `tag` is another context's: llama.cpp checks little of a
        state's shape, and a state of another context (size, KV type, layout, model) would
        load as garbage cells or crash."""
        if tag != self.context_tag:
            raise StateMismatch(
                f"A prompt state of another context ({tag}) can't be loaded into the {self.name} context"
            )
        self.clear()
        buffer = (ctypes.c_uint8 * len(blob)).from_buffer_copy(blob)
        loaded = self.decoder.run(lambda: llama_cpp.llama_state_seq_set_data(self.ctx, buffer, len(blob), 0))
        if not loaded:
            self.clear()
            return False
        self.tokens = list(int(t) for t in tokens)
        self.prompt_len = len(self.tokens)
        return True

    def logits(self, index: int = -1) -> np.ndarray:
        """A view of the last batch's logits for its `index`-th token (valid until the next decode)."""
        n_vocab = llama_cpp.llama_vocab_n_tokens(llama_cpp.llama_model_get_vocab(llama_cpp.llama_get_model(self.ctx)))
        pointer = llama_cpp.llama_get_logits_ith(self.ctx, index)
        return np.ctypeslib.as_array(pointer, shape=(n_vocab,))

    def info(self) -> dict[str, object]:
        return {"n_ctx": self.n_ctx, "tokens": len(self.tokens), "shift_reuse": self.can_shift}


def context_tag(name: str, model_key: str, params: SlotParams, cparams: Any) -> str:
    """What a saved state depends on: the model file, llama.cpp's version, and every
    setting that shapes the KV cells (size, cell types, layout, sequences)."""
    parts = {
        "slot": name,
        "model": model_key,
        "llama_cpp": llama_cpp.__version__,
        "n_ctx": int(cparams.n_ctx),
        "type_k": int(cparams.type_k),
        "type_v": int(cparams.type_v),
        "flash_attn": params.flash_attn,
        "n_seq_max": int(cparams.n_seq_max),
        "kv_unified": bool(cparams.kv_unified),
        "rope": (float(cparams.rope_freq_base), float(cparams.rope_freq_scale), int(cparams.rope_scaling_type)),
    }
    return ";".join(f"{key}={value}" for key, value in parts.items())


def moved_runs(old: Sequence[int], new: Sequence[int], prefix: int) -> list[tuple[int, int, int]]:
    """(start in old, start in new, length) of the long unchanged runs after `prefix`, in order.

    A greedy scan like rsync's: every ANCHOR-token window of `old` is indexed, and `new` is
    walked from the prefix on; where its next window occurs in `old` (after the last run),
    the match is extended as far as it goes. The new prompt's last token is never part of a
    run (it is evaluated for its logits). At most MAX_MOVED_RUNS runs, each long enough to
    be worth moving once its first REEVALUATE_AFTER_EDIT tokens are evaluated again."""
    end_new = len(new) - 1
    where: dict[tuple[int, ...], int] = {}
    for i in range(prefix, len(old) - ANCHOR + 1):
        where.setdefault(tuple(old[i : i + ANCHOR]), i)
    runs: list[tuple[int, int, int]] = []
    old_from, at = prefix, prefix
    while at + ANCHOR <= end_new and len(runs) < MAX_MOVED_RUNS:
        found = where.get(tuple(new[at : at + ANCHOR]))
        if found is None or found < old_from:
            at += 1
            continue
        length = ANCHOR
        while at + length < end_new and found + length < len(old) and new[at + length] == old[found + length]:
            length += 1
        if length - REEVALUATE_AFTER_EDIT >= MIN_SHIFTED_RUN:
            runs.append((found, at, length))
            old_from = found + length
        at += length
    return runs
