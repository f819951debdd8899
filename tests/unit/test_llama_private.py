"""The engine's use of llama-cpp-python's private API still fits the installed version.

When a llama-cpp-python upgrade renames or changes what app/engine/llama_private.py wraps,
these fail and say what changed, before any engine test fails in a less obvious way."""

from __future__ import annotations

import re
from pathlib import Path

import llama_cpp

from app.engine import llama_private
from app.engine.runtime import load_model

REPO = Path(__file__).resolve().parents[2]


def _upgrade_note(changes: list[str]) -> str:
    return (
        f"llama-cpp-python {llama_private.installed_version()} changed the private API that "
        f"app/engine/llama_private.py wraps: {'; '.join(changes)}. Adapt the engine, or pin the version "
        "that pyproject.toml names"
    )


def test_the_constructors_take_the_arguments_the_engine_passes() -> None:
    changes = llama_private.signature_changes()
    assert changes == [], _upgrade_note(changes)


def test_real_objects_have_the_members_the_engine_uses(tiny_models) -> None:
    model = load_model(str(tiny_models["v1"]), n_gpu_layers=0, use_mmap=True)
    params = llama_cpp.llama_context_default_params()
    params.n_ctx = params.n_batch = params.n_ubatch = 64
    context = llama_private.LlamaContext(model=model, params=params, verbose=False)
    batch = llama_private.LlamaBatch(n_tokens=8, embd=0, n_seq_max=1, verbose=False)
    try:
        changes = [change for obj in (model, context, batch) for change in llama_private.member_changes(obj)]
        assert changes == [], _upgrade_note(changes)
        assert model.tokenize(b"def", add_bos=False, special=False)  # the calls still work as the engine makes them
    finally:
        batch.close()
        context.close()
        model.close()


def test_a_changed_argument_or_a_missing_member_is_named(monkeypatch) -> None:
    class Renamed:  # as if an upgrade renamed path_model and dropped ctx
        def __init__(self, *, path: str) -> None:
            self.path = path

    monkeypatch.setitem(llama_private.PRIVATE_API, Renamed, (("path_model",), ("ctx",)))
    assert llama_private.signature_changes() == ["Renamed() no longer takes path_model="]
    assert llama_private.member_changes(Renamed(path="m.gguf")) == ["Renamed.ctx is gone"]


def test_only_llama_private_imports_the_private_module() -> None:
    private = re.compile(
        r"^\s*(from llama_cpp import _internals|from llama_cpp\._internals import|import llama_cpp\._internals)", re.M
    )
    importers = [
        str(path.relative_to(REPO))
        for folder in ("app", "tests")
        for path in sorted((REPO / folder).rglob("*.py"))
        if private.search(path.read_text(encoding="utf-8"))
    ]
    assert importers == ["app/engine/llama_private.py"]
