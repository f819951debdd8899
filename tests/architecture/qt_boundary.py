"""An import-linter contract: Qt is imported only by widget code.

Widget code is every module inside a `ui` subpackage (`app.chat.ui`, `app.models.ui`...)
and the main window package. Everything else is Qt-free and must stay importable, and
testable, without a display; so it may neither import Qt itself nor import widget code
(which would pull Qt in indirectly). The entry points that start the window (the CLI,
its commands, the diagnostics) are the only other modules allowed to import widget code,
and they too never import Qt itself: so grepping app/ for PySide6 outside the ui
subpackages and the main window finds nothing.

Built-in contracts can't say "every module except those in a ui subpackage", hence this
small custom one (registered in pyproject.toml's [tool.importlinter] contract_types).
"""

from __future__ import annotations

import fnmatch

import grimp
from importlinter.application import output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck


def _matches(module: str, patterns: set[str]) -> bool:
    return any(module == p or fnmatch.fnmatchcase(module, p) for p in patterns)


class QtBoundaryContract(Contract):
    type_name = "qt_boundary"

    root = fields.StringField()
    qt_packages = fields.ListField(subfield=fields.StringField())
    widget_modules = fields.ListField(subfield=fields.StringField())  # fnmatch patterns
    entry_modules = fields.ListField(subfield=fields.StringField())  # may import widget code, not Qt

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        qt = set(self.qt_packages)  # type: ignore[arg-type]
        widgets = set(self.widget_modules)  # type: ignore[arg-type]
        entries = set(self.entry_modules)  # type: ignore[arg-type]
        root = str(self.root)
        violations: list[str] = []
        for module in sorted(m for m in graph.modules if m == root or m.startswith(root + ".")):
            if _matches(module, widgets):
                continue
            entry = _matches(module, entries)
            for imported in sorted(graph.find_modules_directly_imported_by(module)):
                top = imported.split(".")[0]
                if top in qt:
                    violations.append(f"{module} imports {imported}: Qt belongs in a ui subpackage")
                elif not entry and imported.startswith(root + ".") and _matches(imported, widgets):
                    violations.append(f"{module} imports {imported}: Qt-free code must not import widget code")
        return ContractCheck(kept=not violations, metadata={"violations": violations})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for line in check.metadata["violations"]:
            output.print_error(f"- {line}", bold=False)
        output.new_line()
