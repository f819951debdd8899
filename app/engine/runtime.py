"""The model inside the engine process: load, prompts, streaming generation, abort.

This module runs only in the engine child process (and in benchmarks). It uses
llama-cpp-python's `Llama` for loading, the prompt cache and sampling, and adds
what the app needs on top:

- generation is a plain loop over `Llama.generate`, so every stop rule (stop token
  ids, stop strings, max tokens, cancel) is checked on each token;
- cancel stops llama.cpp in the middle of a graph, while a long prompt is evaluated
  as well as while a token is decoded: its abort callback reads the request's flag
  through a C function, so polling it costs no Python call (see AbortFlag);
- fill-in-the-middle prompts are built from the vocabulary's FIM token ids, never
  by parsing text, so user code that contains special-token text stays text.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import llama_cpp

from app.engine.backends import ensure_backends_loaded, model_params_for_this_cpu
from app.llm.options import LoadOptions, SamplingParams
from app.llm.prompts import ChatFormat, FittedChat, Message, choose_chat_format, fit_chat
from app.utils.errors import EngineError, ModelFileError, PromptError

log = logging.getLogger(__name__)

_GGML_KV_TYPES = {"f16": llama_cpp.GGML_TYPE_F16, "q8_0": llama_cpp.GGML_TYPE_Q8_0, "q4_0": llama_cpp.GGML_TYPE_Q4_0}


def _c_flag_reader() -> Any:
    """A C function usable as llama.cpp's abort callback that reads a flag without Python.

    llama.cpp calls the abort callback for every node of every graph it computes. A Python
    callback would take the GIL thousands of times per token, so instead the callback is
    libc's strlen() on a two-byte buffer: it returns 1 when the first byte is set and 0
    when it is NUL, which is exactly `bool abort(void *data)` in the x86-64 and AArch64
    calling conventions. It costs nanoseconds and never touches the interpreter.
    """
    libc = ctypes.CDLL(ctypes.util.find_library("c") or ("msvcrt" if os.name == "nt" else None))
    return ctypes.cast(libc.strlen, llama_cpp.ggml_abort_callback)


_ABORT_CALLBACK = _c_flag_reader()


class AbortFlag(threading.Event):
    """A request's cancel flag. While its request runs, setting it also aborts llama.cpp at once."""

    def __init__(self) -> None:
        super().__init__()
        self._c_byte: Any = None

    def bind(self, c_byte: Any) -> None:
        self._c_byte = c_byte
        if c_byte is not None:
            c_byte[0] = b"\x01" if self.is_set() else b"\x00"

    def set(self) -> None:
        super().set()
        c_byte = self._c_byte
        if c_byte is not None:
            c_byte[0] = b"\x01"


class _AbortableLlama(llama_cpp.Llama):
    """`Llama` whose evaluation stops mid-graph when the running request is cancelled."""

    cancel_event: threading.Event | None = None

    def install_abort_flag(self) -> Any:
        """Give llama.cpp the flag byte to poll; returns the byte buffer."""
        buffer = ctypes.create_string_buffer(2)
        llama_cpp.llama_set_abort_callback(self._ctx.ctx, _ABORT_CALLBACK, ctypes.cast(buffer, ctypes.c_void_p))
        self._abort_buffer = buffer  # keep it alive as long as the context
        return buffer

    def eval(self, tokens: Sequence[int]) -> None:
        if self.cancel_event is not None and self.cancel_event.is_set():
            raise GenerationCancelled()
        try:
            super().eval(tokens)
        except RuntimeError as exc:
            if self.cancel_event is not None and self.cancel_event.is_set():
                raise GenerationCancelled() from exc
            raise


class GenerationCancelled(Exception):
    """Raised inside generation when the request's cancel flag is set."""


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    prompt_ms: float = 0.0
    decode_ms: float = 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
            "cached_tokens": self.cached_tokens,
            "prompt_ms": round(self.prompt_ms, 2),
            "decode_ms": round(self.decode_ms, 2),
        }


@dataclass
class GenerationEvent:
    """One step of a stream: a text delta, or the end with its reason and usage."""

    delta: str = ""
    finish_reason: str | None = None  # stop, length, cancelled
    usage: Usage | None = None
    notes: list[str] = field(default_factory=list)


class EngineModel:
    """One loaded model. Not thread-safe by itself: `lock` serialises requests."""

    def __init__(self, options: LoadOptions) -> None:
        self.options = options
        self.lock = threading.Lock()
        path = options.model_path
        if not os.path.isfile(path):
            raise ModelFileError(f"No model file at {path}", "Check the path")
        kwargs: dict[str, object] = dict(
            model_path=path,
            n_ctx=options.n_ctx,
            n_gpu_layers=options.n_gpu_layers,
            n_batch=options.n_batch,
            n_ubatch=options.n_ubatch,
            flash_attn=options.flash_attn,
            use_mmap=options.use_mmap,
            verbose=True,  # llama.cpp's log goes to the engine's log file
            chat_format="chatml",  # skip llama-cpp-python's own template handling: we render prompts
        )
        if options.n_threads > 0:
            kwargs["n_threads"] = options.n_threads
            kwargs["n_threads_batch"] = options.n_threads
        if options.kv_cache_type != "f16":
            kwargs["type_k"] = kwargs["type_v"] = _GGML_KV_TYPES[options.kv_cache_type]
        if options.seed >= 0:
            kwargs["seed"] = options.seed
        ensure_backends_loaded()
        try:
            with model_params_for_this_cpu():
                self.llama = _AbortableLlama(**kwargs)  # type: ignore[arg-type]
        except ValueError as exc:
            raise EngineError(f"llama.cpp could not load {os.path.basename(path)}: {exc}") from exc
        self.vocab = self.llama._model.vocab
        self._abort_byte = self.llama.install_abort_flag()
        self.n_ctx = self.llama.n_ctx()
        self.n_ctx_train = self.llama._model.n_ctx_train()
        if options.n_ctx > self.n_ctx_train > 0:
            raise EngineError(
                f"The context size {options.n_ctx} is larger than this model supports ({self.n_ctx_train} tokens)",
                f"Choose a context of at most {self.n_ctx_train}",
            )
        self.metadata: dict[str, str] = dict(self.llama.metadata)
        self.architecture = self.metadata.get("general.architecture", "unknown")
        n_vocab = llama_cpp.llama_vocab_n_tokens(self.vocab)
        self._vocab_texts = {self.token_text(i) for i in range(n_vocab)}
        self.chat_format: ChatFormat | None
        self.chat_format_error: str | None = None
        try:
            self.chat_format = choose_chat_format(
                self.metadata.get("tokenizer.chat_template"),
                self._vocab_texts,
                self.architecture,
                self.token_text(llama_cpp.llama_vocab_bos(self.vocab)),
                self.token_text(llama_cpp.llama_vocab_eos(self.vocab)),
            )
        except PromptError as exc:
            self.chat_format, self.chat_format_error = None, str(exc)
        self.fim_ids = (
            llama_cpp.llama_vocab_fim_pre(self.vocab),
            llama_cpp.llama_vocab_fim_suf(self.vocab),
            llama_cpp.llama_vocab_fim_mid(self.vocab),
        )
        self.stop_ids = self._stop_token_ids()
        # How the last generation ended: tests and the benchmark read it to see that a
        # cancelled request really stopped in the engine, not only in the client.
        self.last_generation: dict[str, object] = {}

    # -- vocabulary --------------------------------------------------------------
    def token_text(self, token: int) -> str:
        if token < 0:
            return ""
        raw = llama_cpp.llama_vocab_get_text(self.vocab, token)
        return raw.decode("utf-8", errors="replace") if raw else ""

    def token_id(self, text: str) -> int | None:
        ids = self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        return ids[0] if len(ids) == 1 else None

    def _stop_token_ids(self) -> frozenset[int]:
        ids = {llama_cpp.llama_vocab_eos(self.vocab), llama_cpp.llama_vocab_eot(self.vocab)}
        for text in self.chat_format.stop_token_texts if self.chat_format else ():
            token = self.token_id(text)
            if token is not None:
                ids.add(token)
        return frozenset(i for i in ids if i >= 0)

    @property
    def has_fim(self) -> bool:
        return all(t >= 0 for t in self.fim_ids)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenize_prompt(text))

    def tokenize_prompt(self, text: str) -> list[int]:
        """Tokenize a rendered prompt: template special tokens are parsed, BOS added once."""
        tokens = self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        bos = llama_cpp.llama_vocab_bos(self.vocab)
        add_bos = llama_cpp.llama_vocab_get_add_bos(self.vocab)
        if add_bos and bos >= 0 and (not tokens or tokens[0] != bos):
            tokens.insert(0, bos)
        return tokens

    def info(self) -> dict[str, object]:
        """Metadata the client shows: what is loaded and what it can do."""
        specials = {
            name: self.token_text(fn(self.vocab))
            for name, fn in (
                ("bos", llama_cpp.llama_vocab_bos),
                ("eos", llama_cpp.llama_vocab_eos),
                ("eot", llama_cpp.llama_vocab_eot),
                ("fim_pre", llama_cpp.llama_vocab_fim_pre),
                ("fim_suf", llama_cpp.llama_vocab_fim_suf),
                ("fim_mid", llama_cpp.llama_vocab_fim_mid),
            )
        }
        return {
            "model_path": self.options.model_path,
            "model_name": self.metadata.get("general.name") or os.path.basename(self.options.model_path),
            "architecture": self.architecture,
            "n_ctx": self.n_ctx,
            "n_ctx_train": self.n_ctx_train,
            "n_params": llama_cpp.llama_model_n_params(self.llama._model.model),
            "model_size_bytes": llama_cpp.llama_model_size(self.llama._model.model),
            "has_chat_template": "tokenizer.chat_template" in self.metadata,
            "chat_format": self.chat_format.family if self.chat_format else None,
            "chat_error": self.chat_format_error,
            "has_fim": self.has_fim,
            "special_tokens": {k: v for k, v in specials.items() if v},
            "stop_tokens": sorted(self.token_text(i) for i in self.stop_ids),
            "n_gpu_layers": self.options.n_gpu_layers,
            "gpu_offload_supported": bool(llama_cpp.llama_supports_gpu_offload()),
            "load_options": self.options.as_dict(),
            "last_generation": self.last_generation,
        }

    # -- prompts -----------------------------------------------------------------
    def prepare_chat(self, messages: Sequence[Message], max_tokens: int) -> FittedChat:
        if self.chat_format is None:
            raise PromptError(self.chat_format_error or "This model has no chat format")
        return fit_chat(self.chat_format, messages, self.count_tokens, self.n_ctx, max_tokens)

    def fim_tokens(self, prefix: str, suffix: str, max_tokens: int) -> list[int]:
        """PSM order: <PRE> prefix <SUF> suffix <MID>. Code is tokenized as text only."""
        if not self.has_fim:
            raise PromptError(
                "This model has no fill-in-the-middle tokens, so it can't complete code at the cursor",
                "Use a DeepSeek-Coder base or V2-Lite model (or another FIM-capable code model) for completion",
            )
        pre, suf, mid = self.fim_ids
        budget = self.n_ctx - max_tokens - 4
        prefix_ids = self.llama.tokenize(prefix.encode("utf-8"), add_bos=False, special=False)
        suffix_ids = self.llama.tokenize(suffix.encode("utf-8"), add_bos=False, special=False)
        if len(prefix_ids) + len(suffix_ids) > budget:
            # Keep the code nearest the cursor: the end of the prefix, the start of the suffix.
            keep_suffix = min(len(suffix_ids), budget // 4)
            suffix_ids = suffix_ids[:keep_suffix]
            prefix_ids = prefix_ids[-(budget - keep_suffix) :] if budget > keep_suffix else []
        tokens = [pre, *prefix_ids, suf, *suffix_ids, mid]
        bos = llama_cpp.llama_vocab_bos(self.vocab)
        if llama_cpp.llama_vocab_get_add_bos(self.vocab) and bos >= 0:
            tokens.insert(0, bos)
        return tokens

    # -- generation --------------------------------------------------------------
    def generate(
        self,
        prompt_tokens: list[int],
        params: SamplingParams,
        cancel: threading.Event,
    ) -> Iterator[GenerationEvent]:
        """Stream text deltas for `prompt_tokens`, ending with one event that has finish_reason.

        Must be called with `lock` held. Stop strings are held back until they can be
        ruled out, so a stop string never reaches the output even split across tokens.
        """
        llama = self.llama
        if len(prompt_tokens) + 1 > self.n_ctx:
            raise PromptError(
                f"The prompt is {len(prompt_tokens)} tokens but the context holds {self.n_ctx}",
                "Shorten the prompt, or load the model with a larger context",
            )
        max_tokens = min(params.max_tokens, self.n_ctx - len(prompt_tokens))
        usage = Usage(prompt_tokens=len(prompt_tokens))
        cached_before = self._common_prefix(prompt_tokens)
        if params.seed is not None and params.seed >= 0:
            llama.set_seed(params.seed)
        llama.cancel_event = cancel
        if isinstance(cancel, AbortFlag):
            cancel.bind(self._abort_byte)
        started = time.perf_counter()
        first_token_at: float | None = None
        pending = b""  # bytes of an incomplete UTF-8 character
        held = ""  # text that might be the start of a stop string
        produced: list[int] = []
        finish = "length"
        stops = tuple(s for s in params.stop if s)
        try:
            for token in llama.generate(
                prompt_tokens,
                top_k=params.top_k,
                top_p=params.top_p,
                min_p=params.min_p,
                temp=params.temperature,
                repeat_penalty=params.repeat_penalty,
                reset=True,
            ):
                if first_token_at is None:
                    first_token_at = time.perf_counter()
                if cancel.is_set():
                    finish = "cancelled"
                    break
                if token in self.stop_ids or llama_cpp.llama_vocab_is_eog(self.vocab, token):
                    finish = "stop"
                    break
                produced.append(token)
                pending += llama.detokenize([token], prev_tokens=prompt_tokens + produced[:-1], special=False)
                try:
                    text = pending.decode("utf-8")
                    pending = b""
                except UnicodeDecodeError:
                    if len(pending) < 4:
                        text = ""
                    else:
                        text, pending = pending.decode("utf-8", errors="replace"), b""
                held += text
                if stops:
                    cut = _find_stop(held, stops)
                    if cut is not None:
                        held = held[:cut]
                        finish = "stop"
                        if held:
                            yield GenerationEvent(delta=held)
                        held = ""
                        break
                    safe = len(held) - _partial_stop_len(held, stops)
                    out, held = held[:safe], held[safe:]
                else:
                    out, held = held, ""
                if out:
                    yield GenerationEvent(delta=out)
                if len(produced) >= max_tokens:
                    finish = "length"
                    break
        except GenerationCancelled:
            finish = "cancelled"
        finally:
            llama.cancel_event = None
            if isinstance(cancel, AbortFlag):
                cancel.bind(None)
            self._abort_byte[0] = b"\x00"
        if held and finish != "cancelled":
            yield GenerationEvent(delta=held)
        ended = time.perf_counter()
        usage.completion_tokens = len(produced)
        usage.cached_tokens = cached_before
        usage.prompt_ms = ((first_token_at or ended) - started) * 1000
        usage.decode_ms = (ended - (first_token_at or ended)) * 1000
        self.last_generation = {"finish_reason": finish, "ended_at": time.time(), **usage.as_dict()}
        yield GenerationEvent(finish_reason=finish, usage=usage)

    def _common_prefix(self, tokens: list[int]) -> int:
        cached = self.llama._input_ids[: self.llama.n_tokens]
        n = 0
        for a, b in zip(cached, tokens, strict=False):
            if a != b:
                break
            n += 1
        return n


def _find_stop(text: str, stops: tuple[str, ...]) -> int | None:
    positions = [text.find(s) for s in stops]
    found = [p for p in positions if p >= 0]
    return min(found) if found else None


def _partial_stop_len(text: str, stops: tuple[str, ...]) -> int:
    """Length of the longest tail of `text` that is the start of a stop string."""
    best = 0
    for stop in stops:
        for n in range(min(len(stop) - 1, len(text)), 0, -1):
            if text.endswith(stop[:n]):
                best = max(best, n)
                break
    return best
