"""Apply a chat code block to the editor: a diff with accept or reject for each change.

Each change says what it does, where and why (app.chat.apply.plan plans it: by syntax
where the language has a parser, else line by line, and then the summary says why).
A warning shows, before the user accepts, when the ticked changes would leave the file
with syntax errors it does not have now.

The accepted changes go into the editor as one edit (the smallest span that covers
them), inside one undo action, so a single Undo puts the file back exactly.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.chat.apply.hunks import ApplyPlan, Hunk, apply_hunks, changed_span
from app.chat.apply.plan import describe_hunk, plan_code_block, result_problems
from app.editor.ui.code_editor import CodeEditor
from app.edits.ui.hunk_view import hunk_view


def apply_to_editor(editor: CodeEditor, hunks: list[Hunk] | tuple[Hunk, ...]) -> bool:
    """Apply `hunks` (from one plan for the editor's current text) as a single undo step."""
    old = editor.text()
    new = apply_hunks(old, hunks)
    if new == old:
        return False
    start, end, replacement = changed_span(old, new)
    sci = editor.sci
    caret = editor.cursor_offset()
    sci.beginUndoAction()
    try:
        sci.setTargetRange(editor.position_of_offset(start), editor.position_of_offset(end))
        sci.replaceTarget(len(replacement.encode("utf-8")), replacement)
    finally:
        sci.endUndoAction()
    if caret >= end:  # keep the caret on the same code below the change
        caret += len(replacement) - (end - start)
    elif caret > start:  # it was inside the replaced text: go to where the change starts
        caret = start
    editor.set_cursor_offset(caret)
    return True


def describe_plan(plan: ApplyPlan, name: str) -> str:
    first, last = plan.region[0] + 1, plan.region[1]
    if plan.unchanged:
        return f"{name} already matches this code."
    if plan.kind == "whole":
        text = f"Rewrites {name}: {len(plan.hunks)} change(s)."
    elif plan.kind == "syntax":
        text = f"Puts each definition where it belongs in {name}: {len(plan.hunks)} change(s)."
    elif plan.kind == "insert":
        where = "at the end" if plan.region[0] >= last and not plan.fallback_reason else f"at line {first}"
        text = f"No part of {name} matches this code, so it would be inserted {where}."
    else:
        text = f"Replaces lines {first}–{last} of {name}: {len(plan.hunks)} change(s)."
    if plan.fallback_reason:
        text += f"\n{plan.fallback_reason[0].upper()}{plan.fallback_reason[1:]}."
    return "\n".join([text, *plan.notes])


def cursor_line_if_placed(editor: CodeEditor) -> int | None:
    """The cursor's line when the user has put it somewhere, None when it sits at the very
    start (where a newly opened file has it): code with no better place then goes at the
    end of the file, not above the imports."""
    position = editor.sci.currentPos()
    return editor.sci.lineFromPosition(position) if position > 0 else None


class ApplyDialog(QDialog):
    """Shows how a code block changes the editor's file; applies the changes left ticked."""

    def __init__(
        self, editor: CodeEditor, code: str, parent: QWidget | None = None, *, cursor_line: int | None = -1
    ) -> None:
        super().__init__(parent or editor)
        self.editor = editor
        self._text_at_open = editor.text()
        if cursor_line == -1:
            cursor_line = cursor_line_if_placed(editor)
        self.plan = plan_code_block(
            self._text_at_open, code, language_id=editor.language, path=editor.path or "", cursor_line=cursor_line
        )
        name = Path(editor.path).name if editor.path else "this file"
        self.setWindowTitle(f"Apply to {name}")
        self.resize(760, 560)
        layout = QVBoxLayout(self)
        self.summary = QLabel(describe_plan(self.plan, name))
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)

        self.checks: list[QCheckBox] = []
        body = QWidget()
        rows = QVBoxLayout(body)
        mono = QFont(bytes(editor.sci.styleFont(32).data()).decode() or "Monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        for n, hunk in enumerate(self.plan.hunks, start=1):
            check = QCheckBox(f"Change {n} of {len(self.plan.hunks)}: {describe_hunk(hunk)}")
            check.setChecked(hunk.selected)
            check.toggled.connect(self._update_buttons)
            view = hunk_view(hunk, mono)
            rows.addWidget(check)
            rows.addWidget(view)
            self.checks.append(check)
        rows.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        layout.addWidget(scroll, 1)
        self.parse_warning = QLabel()
        self.parse_warning.setObjectName("ApplyParseWarning")
        self.parse_warning.setWordWrap(True)
        self.parse_warning.setStyleSheet("color: #c0392b;")
        layout.addWidget(self.parse_warning)

        toggles = QHBoxLayout()
        self.accept_all_button = QPushButton("Accept All")
        self.reject_all_button = QPushButton("Reject All")
        self.accept_all_button.clicked.connect(lambda: self.set_all(True))
        self.reject_all_button.clicked.connect(lambda: self.set_all(False))
        toggles.addWidget(self.accept_all_button)
        toggles.addWidget(self.reject_all_button)
        toggles.addStretch(1)
        layout.addLayout(toggles)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.apply_button = self.buttons.addButton("Apply Selected", QDialogButtonBox.ButtonRole.AcceptRole)
        self.apply_button.setDefault(True)
        self.buttons.accepted.connect(self.apply)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self._update_buttons()

    def set_all(self, on: bool) -> None:
        for check in self.checks:
            check.setChecked(on)

    def accepted_hunks(self) -> list[Hunk]:
        return [hunk for hunk, check in zip(self.plan.hunks, self.checks, strict=False) if check.isChecked()]

    def _update_buttons(self) -> None:
        accepted = self.accepted_hunks()
        self.apply_button.setEnabled(bool(accepted))
        problems = result_problems(self._text_at_open, accepted, self.plan.grammar) if accepted else []
        if problems:
            listed = "; ".join(p.describe() for p in problems[:3])
            self.parse_warning.setText(f"With these changes the file would not parse: {listed}. Check before applying.")
        self.parse_warning.setVisible(bool(problems))

    def apply(self) -> None:
        """Apply the ticked changes and close; refuses if the file changed meanwhile."""
        if self.editor.text() != self._text_at_open:
            self.summary.setText("The file changed since this diff was made. Close this and press Apply again.")
            self.apply_button.setEnabled(False)
            return
        apply_to_editor(self.editor, self.accepted_hunks())
        self.accept()


def apply_code_block(
    editor: CodeEditor, code: str, parent: QWidget | None = None, *, cursor_line: int | None = -1
) -> bool:
    """What a chat code block's Apply button does: show the diff, apply what is accepted.

    `cursor_line` is where the user placed the cursor in this file (None: not placed);
    by default it is read from the editor (see cursor_line_if_placed)."""
    dialog = ApplyDialog(editor, code, parent, cursor_line=cursor_line)
    try:
        return dialog.exec() == QDialog.DialogCode.Accepted
    finally:
        dialog.deleteLater()
