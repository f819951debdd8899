"""Review rules for the engine's code that a reader checks by eye, checked here by parsing it.

- No exception instance is made once at module level and raised from many threads: its
  traceback and context would be shared and overwritten between them.
- No lock that nothing takes: a lock attribute that no `with` or `acquire` uses
  promises a protection that is not there.
"""

from __future__ import annotations

import ast
import builtins
from pathlib import Path

import app

APP = Path(app.__file__).parent
ENGINE = APP / "engine"
LOCK_FACTORIES = {"Lock", "RLock", "Condition", "Semaphore", "BoundedSemaphore"}


def _modules(root: Path) -> list[tuple[Path, ast.Module]]:
    return [(path, ast.parse(path.read_text(encoding="utf-8"))) for path in sorted(root.rglob("*.py"))]


def _exception_names() -> set[str]:
    """Names of exception classes: the builtins and every class in app/ that derives from one."""
    names = {n for n, v in vars(builtins).items() if isinstance(v, type) and issubclass(v, BaseException)}
    classes = [node for _, tree in _modules(APP) for node in ast.walk(tree) if isinstance(node, ast.ClassDef)]
    grew = True
    while grew:
        grew = False
        for cls in classes:
            bases = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in cls.bases}
            if cls.name not in names and bases & names:
                names.add(cls.name)
                grew = True
    return names


def test_no_exception_instance_lives_at_module_level():
    exceptions = _exception_names()
    shared = []
    for path, tree in _modules(APP):
        for node in tree.body:
            value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
            if isinstance(value, ast.Call):
                func = value.func
                name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
                if name in exceptions:
                    shared.append(f"{path.relative_to(APP.parent)}:{node.lineno}")
    assert shared == [], f"module-level exception instances (raise a new one each time): {shared}"


def test_every_lock_attribute_in_the_engine_is_taken_somewhere():
    modules = _modules(ENGINE)
    declared: dict[str, str] = {}
    for path, tree in modules:
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                func = node.value.func
                if isinstance(func, ast.Attribute) and func.attr in LOCK_FACTORIES:
                    for target in node.targets:
                        if isinstance(target, ast.Attribute):
                            declared[target.attr] = f"{path.name}:{node.lineno}"
    taken: set[str] = set()
    for _, tree in modules:
        for node in ast.walk(tree):
            if isinstance(node, ast.With):
                for item in node.items:
                    if isinstance(item.context_expr, ast.Attribute):
                        taken.add(item.context_expr.attr)
            if isinstance(node, ast.Attribute) and node.attr in {"acquire", "wait", "wait_for"}:
                if isinstance(node.value, ast.Attribute):
                    taken.add(node.value.attr)
    untaken = {name: where for name, where in declared.items() if name not in taken}
    assert untaken == {}, f"locks that nothing takes: {untaken}"
