"""`dscoder doctor --qt-child`: the child process in which the doctor tries Qt.

Qt aborts its process when its platform plugin cannot start, so the doctor starts Qt
here, in a child, and reads one JSON line (or the reason it failed) from it.
"""

from __future__ import annotations

import json
import sys

from app.diagnostics.ui.display import gui_start_problem


def qt_child() -> int:
    """Start Qt with the environment's platform, load the editor component, print one JSON line."""
    problem = gui_start_problem()
    if problem is not None:  # Qt would abort: say why instead
        print(f"{problem.what}. {problem.todo}.", file=sys.stderr)
        return 1
    from PySide6 import __version__ as pyside_version
    from PySide6.QtCore import qVersion
    from PySide6.QtWidgets import QApplication
    from pyside6_scintilla import ScintillaEdit

    app = QApplication([sys.argv[0]])
    editor = ScintillaEdit()
    editor.setText("print('ok')")
    if editor.length() != len("print('ok')"):
        print("the Scintilla editor does not hold text", file=sys.stderr)
        return 1
    print(json.dumps({"pyside": pyside_version, "qt": qVersion(), "platform": app.platformName()}))
    return 0
