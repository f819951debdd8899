"""The custom import-linter contract that keeps Qt in ui subpackages catches what it should."""

from __future__ import annotations

import grimp

from tests.architecture.qt_boundary import QtBoundaryContract

OPTIONS = {
    "root": "app",
    "qt_packages": ["PySide6"],
    "widget_modules": ["app.*.ui", "app.*.ui.*", "app.mainwindow"],
    "entry_modules": ["app.cli", "app.commands.*"],
}


def _violations(*imports: tuple[str, str]) -> list[str]:
    graph = grimp.ImportGraph()
    for importer, imported in imports:
        graph.add_import(importer=importer, imported=imported)
    contract = QtBoundaryContract("qt", {}, OPTIONS)
    return contract.check(graph, verbose=False).metadata["violations"]


def test_widget_code_and_entry_points_are_where_qt_and_widgets_may_be_used():
    assert (
        _violations(
            ("app.chat.ui.panel", "PySide6"),
            ("app.mainwindow", "app.chat.ui.panel"),
            ("app.cli", "app.mainwindow"),
            ("app.commands.gui", "app.chat.ui.panel"),
            ("app.chat.conversation", "app.utils.errors"),
        )
        == []
    )


def test_qt_free_code_may_import_neither_qt_nor_widget_code():
    found = _violations(("app.chat.conversation", "PySide6"), ("app.models.catalog", "app.models.ui.manager"))
    assert found == [
        "app.chat.conversation imports PySide6: Qt belongs in a ui subpackage",
        "app.models.catalog imports app.models.ui.manager: Qt-free code must not import widget code",
    ]


def test_an_entry_point_imports_widget_code_but_never_qt_itself():
    assert _violations(("app.commands.doctor", "PySide6")) == [
        "app.commands.doctor imports PySide6: Qt belongs in a ui subpackage"
    ]
