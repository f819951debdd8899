"""The one door to llama-cpp-python's private API, `llama_cpp._internals`.

The engine drives llama.cpp below llama-cpp-python's `Llama` class (two KV contexts over one
copy of the weights, its own batches and state saving), through the thin wrappers that class
is built on. They are private: an upgrade of llama-cpp-python may rename them or change their
arguments without notice. So every engine module takes them from here, `PRIVATE_API` lists
what the engine uses of them, and tests/unit/test_llama_private.py checks that list against the
installed llama-cpp-python, naming what changed. pyproject.toml pins llama-cpp-python for this.

Use it as `from app.engine import llama_private as _internals`: the names read as they do in
llama-cpp-python's own code.
"""

from __future__ import annotations

import inspect
from importlib.metadata import version

from llama_cpp._internals import LlamaBatch as LlamaBatch
from llama_cpp._internals import LlamaContext as LlamaContext
from llama_cpp._internals import LlamaModel as LlamaModel

# class -> (the keyword arguments the engine passes, the members it reads or calls)
PRIVATE_API: dict[type, tuple[tuple[str, ...], tuple[str, ...]]] = {
    LlamaModel: (
        ("path_model", "params", "verbose"),
        ("model", "vocab", "close", "n_ctx_train", "metadata", "tokenize", "detokenize"),
    ),
    LlamaContext: (("model", "params", "verbose"), ("ctx", "close")),
    LlamaBatch: (("n_tokens", "embd", "n_seq_max", "verbose"), ("batch", "close")),
}


def signature_changes() -> list[str]:
    """What the installed llama-cpp-python no longer accepts of the engine's calls; [] when all fits.

    Members set in `__init__` (a model's `vocab`, a context's `ctx`) exist only on an object:
    `member_changes` checks those on real ones."""
    changes = []
    for cls, (arguments, _) in PRIVATE_API.items():
        parameters = inspect.signature(cls).parameters
        takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
        changes += [
            f"{cls.__name__}() no longer takes {name}="
            for name in arguments
            if not takes_any and name not in parameters
        ]
    return changes


def member_changes(obj: object) -> list[str]:
    """The members the engine uses that `obj` (a LlamaModel, LlamaContext or LlamaBatch) lacks."""
    _, members = PRIVATE_API[type(obj)]
    return [f"{type(obj).__name__}.{name} is gone" for name in members if not hasattr(obj, name)]


def installed_version() -> str:
    return version("llama-cpp-python")
