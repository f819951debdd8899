"""The scripted worker stands in for EngineWorker in GUI tests; this keeps it a faithful stand-in:
the same signals (declared once, in EngineWorkerSignals), the same slots, the same direct calls."""

from __future__ import annotations

import inspect

from PySide6.QtCore import QMetaMethod, QMetaObject

from app.llm.ui.worker import EngineWorker, EngineWorkerSignals
from tests.helpers.fake_engine import ScriptedEngineWorker

# How the real worker is made and put on its thread: the scripted one is handed to the window instead.
FACTORIES = {"on_new_thread"}


def declared(meta: QMetaObject, kind: QMetaMethod.MethodType) -> set[str]:
    """Signatures of the methods of `kind` that the class itself declares (not its bases)."""
    methods = (meta.method(i) for i in range(meta.methodOffset(), meta.methodCount()))
    return {bytes(m.methodSignature().data()).decode() for m in methods if m.methodType() == kind}


def public_slots(cls: type) -> set[str]:
    return {s for s in declared(cls.staticMetaObject, QMetaMethod.MethodType.Slot) if not s.startswith("_")}


def direct_calls(cls: type) -> dict[str, list[tuple[str, inspect._ParameterKind]]]:
    """Public methods the class defines, with their parameters' names and kinds (not defaults)."""
    calls = {}
    for name, value in vars(cls).items():
        if name.startswith("_") or name in FACTORIES or not inspect.isfunction(value):
            continue
        calls[name] = [(p.name, p.kind) for p in inspect.signature(value).parameters.values()]
    return calls


def test_both_workers_take_their_signals_from_the_one_declaration():
    signals = declared(EngineWorkerSignals.staticMetaObject, QMetaMethod.MethodType.Signal)
    assert {"loaded(int,PyObject,PyObject)", "delta(int,QString)", "engineDied(QString,QString)"} <= signals
    assert len(signals) == 10
    for worker in (EngineWorker, ScriptedEngineWorker):
        assert issubclass(worker, EngineWorkerSignals)
        assert declared(worker.staticMetaObject, QMetaMethod.MethodType.Signal) == set(), worker  # none of its own


def test_the_scripted_worker_has_the_real_workers_slots_with_the_same_signatures():
    real = public_slots(EngineWorker)
    assert {"load_model(int,PyObject)", "start_chat(int,PyObject,PyObject)", "unload()"} <= real
    assert public_slots(ScriptedEngineWorker) == real


def test_the_scripted_worker_has_the_real_workers_direct_calls_with_the_same_parameters():
    real = direct_calls(EngineWorker)
    assert {"cancel", "cancel_all", "cancel_load", "shutdown"} <= set(real)
    scripted = direct_calls(ScriptedEngineWorker)
    assert {name: scripted.get(name) for name in real} == real
