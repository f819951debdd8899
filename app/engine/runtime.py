"""The model inside the engine process: load, prompts, and the requests on its contexts.

This module runs only in the engine child process (and in benchmarks). One
`llama_model` is loaded once; on it sit two KV slots (app.engine.slots): "chat" with the
full context and "completion" sized for the inline-completion window, so neither evicts
the other. Around them:

- the prompt-state cache (app.engine.state_cache) keeps the chat context's recent
  conversations, so returning to one evaluates only what is new;
- idle prefill evaluates the next chat prompt's known start (system prompt, attached
  file) while nobody is asking, and gives way to any request at once;
- speculative decoding (app.engine.drafting) with prompt lookup, and optionally a small
  draft model of the same vocabulary;
- a fair queue per slot (app.engine.scheduler).
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import llama_cpp
import psutil

from app.engine import llama_private as _internals  # llama-cpp-python's private API, through one door
from app.engine.abort import AbortFlag, GenerationCancelled
from app.engine.decode_thread import DecodeThread
from app.engine.draft_policy import DraftCost, DraftPolicy
from app.engine.drafting import DraftChain, DraftTotals, ModelDrafter, PromptLookup, measure_slot_draft_cost
from app.engine.generation import Generation, GenerationEvent, Usage, run_generation
from app.engine.loading import load_draft, load_model
from app.engine.prompt_states import PromptStates, open_state_cache
from app.engine.prompts import ChatFormat, FittedChat, Message, choose_chat_format, fit_chat
from app.engine.scheduler import Reservation, Scheduler, SlotQueue
from app.engine.slots import KvSlot, SlotParams
from app.engine.state_cache import common_prefix
from app.engine.state_files import model_key
from app.engine.threads import plan_threads
from app.engine.vocab import Vocabulary
from app.protocol.options import LoadOptions, SamplingParams
from app.utils import paths
from app.utils.errors import EngineError, PromptError

log = logging.getLogger(__name__)

CHAT, COMPLETION = "chat", "completion"
SHUTDOWN_WAIT_S = 30.0  # generations stop within a graph node once cancelled; this is far past that
PREFILL_CHUNK = 128  # idle prefill evaluates in batches this small, so a preempted one keeps its progress


class EngineModel:
    """One loaded model and its contexts. Thread-safe: requests queue per slot."""

    def __init__(self, options: LoadOptions) -> None:
        self.options = options
        self.model = load_model(options.model_path, options.n_gpu_layers, options.use_mmap)
        self.decoder = DecodeThread()  # every llama_decode of every context runs on it
        try:
            self._setup(options)
        except BaseException:
            self.decoder.stop(SHUTDOWN_WAIT_S)
            self.model.close()
            raise

    def _setup(self, options: LoadOptions) -> None:
        self.n_ctx_train = self.model.n_ctx_train()
        n_ctx = options.n_ctx or self.n_ctx_train
        if n_ctx > self.n_ctx_train > 0:
            raise EngineError(
                f"The context size {n_ctx} is larger than this model supports ({self.n_ctx_train} tokens)",
                f"Choose a context of at most {self.n_ctx_train}",
            )
        self.metadata: dict[str, str] = dict(self.model.metadata())
        self.architecture = self.metadata.get("general.architecture", "unknown")
        self.vocab = Vocabulary(self.model)
        self.chat_format: ChatFormat | None = None
        self.chat_format_error: str | None = None
        try:
            self.chat_format = choose_chat_format(
                self.metadata.get("tokenizer.chat_template"),
                self.vocab.all_texts(),
                self.architecture,
                self.vocab.token_text(self.vocab.bos),
                self.vocab.token_text(self.vocab.eos),
            )
        except PromptError as exc:
            self.chat_format_error = str(exc)
        self.stop_ids = self.vocab.stop_ids(self.chat_format.stop_token_texts if self.chat_format else ())
        self.threads = plan_threads(options.n_threads, options.n_threads_batch)
        self.model_key = model_key(options.model_path)
        base = self._slot_params()
        self._open_slots(n_ctx, base)
        self.n_ctx = self.slots[CHAT].n_ctx
        self.state_cache = open_state_cache(options, list(self.slots.values()), paths.cache_dir())
        self.prompt_states = PromptStates(self.state_cache)
        # Every request that is generating (or waiting to), by its cancel flag: close() stops them all.
        self._generating: set[threading.Event] = set()
        self._generating_cond = threading.Condition()
        self._closing = False
        self.draft: tuple[_internals.LlamaModel, KvSlot] | None = None
        self.draft_error: str | None = None
        if options.draft_model_path:
            self.draft, self.draft_error = load_draft(options, n_ctx, self.vocab, base, self.decoder)
        self.draft_totals = DraftTotals()
        drafting = options.prompt_lookup or self.draft is not None
        # Measured on the decode thread itself, so its times leave out the hand-off, as the
        # decode times it is later compared with do (KvSlot.last_decode_s).
        chat = self.slots[CHAT]
        self.draft_cost = (
            self.decoder.run(lambda: measure_slot_draft_cost(chat, self.vocab.bos)) if drafting else DraftCost.free()
        )
        # Per context, across its answers: whether drafting pays there (chat answers and
        # inline completions differ in how much they repeat their prompt).
        self.draft_policies = {name: DraftPolicy(self.draft_cost) for name in self.slots}
        self.scheduler = Scheduler({name: SlotQueue(name) for name in self.slots})
        self.prefill_status: dict[str, object] = {
            "pending": False,
            "ready_tokens": 0,
            "completed": 0,
            "abandoned_saves": 0,  # saves of the context's state that gave way to a request
        }
        # How the last generation ended: tests and the benchmark read it to see that a
        # cancelled request really stopped in the engine, not only in the client.
        self.last_generation: dict[str, object] = {}

    def _slot_params(self) -> dict[str, object]:
        options = self.options
        return dict(
            n_batch=options.n_batch,
            n_ubatch=options.n_ubatch,
            n_threads=self.threads.decode,
            n_threads_batch=self.threads.batch,
            flash_attn=options.flash_attn,
            kv_cache_type=options.kv_cache_type,
        )

    def _open_slots(self, n_ctx: int, base: dict[str, object]) -> None:
        """The chat context, and the completion context unless the options leave it out."""
        params = SlotParams(n_ctx=n_ctx, **base)  # type: ignore[arg-type]
        self.slots = {CHAT: KvSlot(CHAT, self.model, params, self.decoder, self.model_key)}
        self.fim_slot = CHAT  # fill-in-the-middle goes to the completion context when there is one
        if self.options.completion_ctx >= 0:
            self.fim_slot = COMPLETION
            self.slots[COMPLETION] = KvSlot(
                COMPLETION,
                self.model,
                SlotParams(n_ctx=self.options.completion_context(n_ctx), shift_reuse=True, **base),  # type: ignore[arg-type]
                self.decoder,
                self.model_key,
            )

    def close(self, save_timeout: float = SHUTDOWN_WAIT_S) -> None:
        """Stop every generation and idle work, wait for their threads to leave the
        contexts, keep the live states (on disk when the cache has a folder, writing for
        `save_timeout` at most), then free. Closing twice does nothing more."""
        with self._generating_cond:
            if self._closing:
                return
            self._closing = True
            for cancel in self._generating:
                cancel.set()
            stopped = self._generating_cond.wait_for(lambda: not self._generating, SHUTDOWN_WAIT_S)
        stopped = self.scheduler.stop(SHUTDOWN_WAIT_S) and stopped
        if not stopped:
            # Freeing a context that a thread still decodes on would crash the process.
            log.error(
                "generations still running after %.0f s; the contexts are left to the process exit", SHUTDOWN_WAIT_S
            )
            self.state_cache.close(timeout=0.5)
            return
        self.prompt_states.save_at_quit(list(self.slots.values()), save_timeout)
        self.state_cache.close(timeout=0.5)
        if not self.decoder.stop(SHUTDOWN_WAIT_S):
            log.error(
                "the decode thread still runs after %.0f s; the contexts are left to the process exit", SHUTDOWN_WAIT_S
            )
            return
        for slot in self.slots.values():
            slot.close()
        if self.draft is not None:
            self.draft[1].close()
            self.draft[0].close()
        self.model.close()

    # -- prompts -------------------------------------------------------------------------
    @property
    def has_fim(self) -> bool:
        return self.vocab.has_fim

    def count_tokens(self, text: str) -> int:
        return len(self.vocab.prompt_tokens(text))

    def tokenize_prompt(self, text: str) -> list[int]:
        return self.vocab.prompt_tokens(text)

    def prepare_chat(self, messages: Sequence[Message], max_tokens: int, n_ctx: int = 0) -> FittedChat:
        """The chat prompt fitted into the context, or into `n_ctx` tokens when a client asks for less."""
        if self.chat_format is None:
            raise PromptError(self.chat_format_error or "This model has no chat format")
        window = min(n_ctx, self.n_ctx) if n_ctx > 0 else self.n_ctx
        return fit_chat(self.chat_format, messages, self.count_tokens, window, max_tokens)

    def fim_tokens(self, prefix: str, suffix: str, max_tokens: int) -> list[int]:
        return self.vocab.fim_tokens(prefix, suffix, self.slots[self.fim_slot].n_ctx - max_tokens)

    def chat_prefix_tokens(self, messages: Sequence[Message]) -> list[int]:
        """Tokens of the start of a chat prompt whose last message will continue: the
        rendered prompt is cut right after that message's text as given."""
        if self.chat_format is None or not messages:
            raise PromptError(self.chat_format_error or "This model has no chat format")
        marker = f"\u2063dscoder-prefill-{uuid.uuid4().hex}\u2063"
        marked = [*messages[:-1], {**messages[-1], "content": messages[-1]["content"] + marker}]
        rendered = self.chat_format.render(marked)
        cut = rendered.find(marker)
        if cut < 0:
            raise PromptError("The chat template does not keep the message text as it is, so it can't be prepared")
        return self.vocab.prompt_tokens(rendered[:cut])

    # -- requests ------------------------------------------------------------------------
    def stream(
        self,
        slot_name: str,
        tokens: list[int],
        params: SamplingParams,
        cancel: threading.Event,
        on_wait: Callable[[int], None] | None = None,
        reservation: Reservation | None = None,
    ) -> Iterator[GenerationEvent]:
        """Queue for `slot_name` (in the place `reservation` took, if given), evaluate
        `tokens` there and stream the answer."""
        try:
            slot = self.slots[slot_name]
            if len(tokens) + 1 > slot.n_ctx:
                raise PromptError(
                    f"The prompt is {len(tokens)} tokens but the {slot_name} context holds {slot.n_ctx}",
                    "Shorten the prompt, or load the model with a larger context",
                )
            with self._generating_cond:
                if self._closing:
                    raise EngineError("The engine is shutting down", "Send the request again once it has restarted")
                self._generating.add(cancel)
            try:
                with self.scheduler.admitted(slot_name, cancel, on_wait, reservation) as admitted:
                    if not admitted:
                        self._record("cancelled", Usage(prompt_tokens=len(tokens)))
                        yield GenerationEvent(finish_reason="cancelled", usage=Usage(prompt_tokens=len(tokens)))
                        return
                    with slot.bound(cancel):
                        yield from self._generate(slot, tokens, params, cancel)
            finally:
                with self._generating_cond:
                    self._generating.discard(cancel)
                    self._generating_cond.notify_all()
        finally:
            if reservation is not None:
                reservation.release()  # a request that never got to wait gives its place back

    def _generate(
        self, slot: KvSlot, tokens: list[int], params: SamplingParams, cancel: threading.Event
    ) -> Iterator[GenerationEvent]:
        started = time.perf_counter()
        usage = Usage(prompt_tokens=len(tokens))
        drafts = self._drafts_for(slot, tokens) if params.speculative is not False else None
        generation = Generation(
            slot,
            self.vocab,
            params,
            self.stop_ids,
            max_tokens=max(1, min(params.max_tokens, slot.n_ctx - len(tokens))),
            drafts=drafts,
        )
        try:
            try:
                self._evaluate_prompt(slot, tokens, cancel, usage)
            except GenerationCancelled:
                usage.prompt_ms = (time.perf_counter() - started) * 1000
                self._record("cancelled", usage)
                yield GenerationEvent(finish_reason="cancelled", usage=usage)
                return
            usage.prompt_ms = (time.perf_counter() - started) * 1000
            for event in run_generation(generation, cancel, usage, started):
                if event.finish_reason:
                    self._record(event.finish_reason, usage)
                yield event
        finally:
            if drafts is not None:
                drafts.close()
                usage.draft_pauses = drafts.pauses
                self.draft_totals.add(drafts.proposed, drafts.accepted, drafts.pauses)

    def _drafts_for(self, slot: KvSlot, tokens: list[int]) -> DraftChain | None:
        if slot.name != CHAT and not self.options.prompt_lookup:
            return None
        drafters: list[object] = []
        if self.options.prompt_lookup:
            drafters.append(PromptLookup(tokens))
        if self.draft is not None and slot.name == CHAT:
            drafters.append(ModelDrafter(self.draft[1], tokens))
        return DraftChain(drafters, policy=self.draft_policies[slot.name]) if drafters else None

    def _evaluate_prompt(
        self, slot: KvSlot, tokens: list[int], cancel: threading.Event, usage: Usage, chunk: int = 0
    ) -> None:
        """Bring `slot` to hold `tokens`, reusing what it (or the state cache) has.

        The chat context switches between conversations through the cache; the completion
        context keeps one window, moved after edits, and takes a cached state only when it
        is empty (after a restart). A state only ever loads into the context it came from."""
        if not slot.params.shift_reuse:
            usage.cache_restored = self.prompt_states.warm_start(slot, tokens, cancel)
            cached = slot.reuse_prefix(tokens)
        else:
            if not slot.tokens:
                usage.cache_restored = self.prompt_states.warm_start(slot, tokens, cancel)
            held, evaluated = slot.reuse_shifted(tokens, cancel)
            cached = held - evaluated
        usage.cached_tokens = cached
        slot.decode(tokens[len(slot.tokens) :], cancel, chunk=chunk)
        slot.prompt_len = len(tokens)

    def _record(self, finish: str, usage: Usage) -> None:
        self.last_generation = {"finish_reason": finish, "ended_at": time.time(), **usage.as_dict()}

    # -- idle prefill ----------------------------------------------------------------------
    def prefill(self, messages: Sequence[Message]) -> int:
        """Evaluate the start of the next chat prompt while the engine is idle; returns its tokens."""
        tokens = self.chat_prefix_tokens(messages)
        if len(tokens) + 64 > self.n_ctx:
            raise PromptError(f"The text to prepare is {len(tokens)} tokens; the context holds {self.n_ctx}")
        self.prefill_status.update(pending=True, target_tokens=len(tokens))

        def work(cancel: AbortFlag) -> bool:
            slot = self.slots[CHAT]
            # Already there (in the context, or in the cache for the next request to load): nothing to do.
            held = common_prefix(slot.tokens, tokens) == len(tokens)
            if not held and not self.state_cache.holds(tokens, slot.context_tag):
                with slot.bound(cancel):
                    try:
                        self._evaluate_prompt(slot, tokens, cancel, Usage(), chunk=PREFILL_CHUNK)
                    except GenerationCancelled:
                        self.prefill_status["abandoned_saves"] = self.prompt_states.abandoned_saves
                        return False
            self.prefill_status.update(
                pending=False,
                ready_tokens=len(tokens),
                completed=int(self.prefill_status["completed"]) + 1,  # type: ignore[call-overload]
            )
            return True

        self.scheduler.set_idle_work(CHAT, work)
        return len(tokens)

    # -- info ----------------------------------------------------------------------------
    def _memory(self) -> dict[str, int]:
        """The process's resident memory, and what is left of it without the prompt cache's
        states in RAM (that part grows by design, up to its budget; the rest should stay flat)."""
        rss = psutil.Process().memory_info().rss
        cached = self.state_cache.ram_bytes
        return {"rss_bytes": rss, "prompt_cache_bytes": cached, "rss_less_prompt_cache_bytes": rss - cached}

    def info(self) -> dict[str, object]:
        """What the client shows: what is loaded, what it can do, and how the engine runs."""
        model = self.model.model
        drafting = {
            "prompt_lookup": self.options.prompt_lookup,
            "draft_model": os.path.basename(self.options.draft_model_path) if self.draft is not None else None,
            "draft_error": self.draft_error,
            **self.draft_totals.as_dict(),
            **self.draft_cost.as_dict(),
            # per context, per kind of guess: the chance a draft is kept after the ones before it
            "kept_rate": {name: policy.as_dict() for name, policy in self.draft_policies.items()},
        }
        return {
            "model_path": self.options.model_path,
            "model_name": self.metadata.get("general.name") or Path(self.options.model_path).name,
            "architecture": self.architecture,
            "n_ctx": self.n_ctx,
            "n_ctx_train": self.n_ctx_train,
            "n_params": llama_cpp.llama_model_n_params(model),
            "model_size_bytes": llama_cpp.llama_model_size(model),
            "has_chat_template": "tokenizer.chat_template" in self.metadata,
            "chat_format": self.chat_format.family if self.chat_format else None,
            "chat_error": self.chat_format_error,
            "has_fim": self.has_fim,
            "special_tokens": self.vocab.special_texts(),
            "stop_tokens": sorted(self.vocab.token_text(i) for i in self.stop_ids),
            "n_gpu_layers": self.options.n_gpu_layers,
            "gpu_offload_supported": bool(llama_cpp.llama_supports_gpu_offload()),
            "load_options": self.options.as_dict(),
            "threads": self.threads.as_dict(),
            "contexts": {name: slot.info() for name, slot in self.slots.items()},
            "queues": {name: queue.status() for name, queue in self.scheduler.queues.items()},
            "prompt_cache": self.state_cache.stats(),
            "prefill": {
                **self.prefill_status,
                "preemptions": self.scheduler.preemptions,
                "gave_way_ms": self.scheduler.gave_way_ms,
            },
            "memory": self._memory(),
            "drafting": drafting,
            "last_generation": self.last_generation,
        }
