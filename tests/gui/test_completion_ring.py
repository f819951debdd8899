"""The completion service feeds the ring buffer: files as they open, text as it is copied."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication

from app.completion.ui.service import CompletionService
from app.editor.ui.code_editor import CodeEditor


def test_the_ring_buffer_takes_opened_files_and_copied_text(qtbot, tmp_path):
    service = CompletionService(lambda: None)
    helpers = CodeEditor(path=str(tmp_path / "helpers.py"))
    qtbot.addWidget(helpers)
    helpers.set_text("def clamp(value, low, high):\n    return max(low, min(high, value))\n")
    service.attach(helpers)
    assert [c.path for c in service.ring.pending()] == [str(tmp_path / "helpers.py")]
    helpers.sci.setSelection(0, 9)  # "def clamp"
    service._active = service.inline_for(helpers)
    QGuiApplication.clipboard().setText("def clamp")
    assert service.ring.pending()[-1].text == "def clamp"
    service.ring.commit()
    assert len(service.ring.chunks()) == 2
    service.shutdown()
