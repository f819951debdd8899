"""Loading weights: the model, and the optional draft model of the same vocabulary."""

from __future__ import annotations

import logging
import os

import llama_cpp

from app.engine import llama_private as _internals  # llama-cpp-python's private API, through one door
from app.engine.backends import ensure_backends_loaded, model_params_for_this_cpu
from app.engine.decode_thread import DecodeThread
from app.engine.model_file import load_failure
from app.engine.slots import KvSlot, SlotParams
from app.engine.vocab import Vocabulary
from app.protocol.options import LoadOptions
from app.utils.errors import EngineError, ModelFileError

log = logging.getLogger(__name__)


def load_model(path: str, n_gpu_layers: int, use_mmap: bool) -> _internals.LlamaModel:
    """Load weights once (with the CPU buffer types this machine should use)."""
    if not os.path.isfile(path):
        raise ModelFileError(f"No model file at {path}", "Check the path")
    ensure_backends_loaded()
    llama_cpp.llama_backend_init()
    with model_params_for_this_cpu():
        params = llama_cpp.llama_cpp.llama_model_default_params()
    params.n_gpu_layers = 0x7FFFFFFF if n_gpu_layers < 0 else n_gpu_layers
    params.load_mode = llama_cpp.LLAMA_LOAD_MODE_MMAP if use_mmap else llama_cpp.LLAMA_LOAD_MODE_NONE
    try:
        return _internals.LlamaModel(path_model=path, params=params, verbose=True)
    except ValueError as exc:
        raise load_failure(path, exc) from exc


def load_draft(
    options: LoadOptions, n_ctx: int, vocab: Vocabulary, base: dict[str, object], decoder: DecodeThread
) -> tuple[tuple[_internals.LlamaModel, KvSlot] | None, str | None]:
    """(the draft model and its context, None) or (None, why it was not loaded)."""
    path = options.draft_model_path
    try:
        model = load_model(path, options.n_gpu_layers, options.use_mmap)
    except (EngineError, ModelFileError) as exc:
        error = f"The draft model was not loaded: {exc}"
        log.warning("%s", error)
        return None, error
    n_vocab = llama_cpp.llama_vocab_n_tokens(model.vocab)
    if n_vocab != vocab.n_vocab or llama_cpp.llama_vocab_eos(model.vocab) != vocab.eos:
        model.close()
        error = (
            f"The draft model {os.path.basename(path)} has another vocabulary ({n_vocab} tokens, not "
            f"{vocab.n_vocab}); choose a smaller model of the same family"
        )
        log.warning("%s", error)
        return None, error
    slot = KvSlot("draft", model, SlotParams(n_ctx=n_ctx, **base), decoder)  # type: ignore[arg-type]
    return (model, slot), None
