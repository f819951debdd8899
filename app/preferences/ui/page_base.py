"""What every settings page is made of: the page that binds settings to widgets, and the
widgets made from a setting's spec (its range, choices and help, declared on Settings).

A page only displays values and collects edits; checking them is
app.config.validation's job, done by the dialog when the user presses OK.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.config.setting_spec import specs_of
from app.config.settings import Settings
from app.utils.ui.buttons import push_button

SPECS = specs_of(Settings)  # each field's range, choices, label and help, declared on Settings

# The widgets a setting is shown in as it is; a combo box holds its choices' values as item data.
BoundWidget = QCheckBox | QSpinBox | QDoubleSpinBox | QComboBox | QLineEdit
BoundWidgetT = TypeVar("BoundWidgetT", bound=BoundWidget)
ChoosePath = Callable[[QWidget, str], str]  # (parent, where to start) -> the chosen path, "" if cancelled


def hint(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setObjectName("hint")
    label.setStyleSheet("color: palette(placeholder-text);")
    return label


def spin(low: int, high: int, special: str = "", suffix: str = "", step: int = 1) -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setSingleStep(step)
    if special:
        box.setSpecialValueText(special)  # shown for the minimum, the "automatic" value
    if suffix:
        box.setSuffix(suffix)
    return box


def real_spin(low: float, high: float, step: float, decimals: int = 2) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(low, high)
    box.setSingleStep(step)
    box.setDecimals(decimals)
    return box


def setting_spin(name: str, special: str = "", suffix: str = "", step: int = 1) -> QSpinBox:
    """A spin box for a whole-number setting, over its declared range; `special` names the
    setting's special value (its "automatic" or "off"), shown at the bottom of the range."""
    spec = SPECS[name]
    assert spec.low is not None and spec.high is not None, f"{name} declares no range"
    low = spec.low if spec.special is None else min(spec.low, spec.special)
    box = spin(int(low), int(spec.high), special, suffix, step)
    box.setToolTip(spec.help)
    return box


def setting_real_spin(name: str, step: float, decimals: int = 2, suffix: str = "") -> QDoubleSpinBox:
    """A spin box for a decimal setting, over its declared range."""
    spec = SPECS[name]
    assert spec.low is not None and spec.high is not None, f"{name} declares no range"
    box = real_spin(spec.low, spec.high, step, decimals)
    box.setToolTip(spec.help)
    if suffix:
        box.setSuffix(suffix)
    return box


def setting_choices(name: str) -> QComboBox:
    """A combo box of a setting's declared choices: their labels shown, their values as data."""
    box = QComboBox()
    for value, label in SPECS[name].choices:
        box.addItem(label, value)
    box.setToolTip(SPECS[name].help)
    return box


def path_row(edit: QLineEdit, choose: ChoosePath, parent: QWidget, default_start: str = "") -> QHBoxLayout:
    """A path field and its Browse… button, which asks `choose` for a path starting from the
    one shown (or `default_start`) and shows what was chosen; cancelling changes nothing."""

    def browse() -> None:
        chosen = choose(parent, edit.text() or default_start)
        if chosen:
            edit.setText(chosen)

    row = QHBoxLayout()
    row.addWidget(edit, 1)
    row.addWidget(push_button("Browse…", browse))
    return row


def form_label(name: str) -> str:
    return SPECS[name].label + ":"


def show_setting(widget: BoundWidget, value: Any) -> None:
    if isinstance(widget, QCheckBox):
        widget.setChecked(bool(value))
    elif isinstance(widget, QComboBox):
        widget.setCurrentIndex(max(widget.findData(value), 0))
    elif isinstance(widget, QLineEdit):
        widget.setText(str(value))
    else:
        widget.setValue(value)


def shown_setting(widget: BoundWidget) -> Any:
    """The value as the setting holds it: a decimal to the places the box shows, a text without
    the spaces around it."""
    if isinstance(widget, QCheckBox):
        return widget.isChecked()
    if isinstance(widget, QComboBox):
        return str(widget.currentData())
    if isinstance(widget, QLineEdit):
        return widget.text().strip()
    if isinstance(widget, QDoubleSpinBox):
        return round(widget.value(), widget.decimals())
    return widget.value()


class SettingsPage(QWidget):
    """One page: `load` shows the settings, `write` puts the edited values into a copy.

    A setting shown as it is in one widget is `bind`-ed, and the two copy it; a page
    overrides them (calling them first) only for what needs more than copying.
    """

    title = ""
    fields: tuple[str, ...] = ()  # the Settings fields shown here (to find the page of a problem)

    def __init__(self) -> None:
        super().__init__()
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        outer = QVBoxLayout(self)
        heading = QLabel(f"<b>{self.title}</b>")
        outer.addWidget(heading)
        outer.addLayout(self.form)
        outer.addStretch(1)
        self.bound: dict[str, BoundWidget] = {}

    def bind(self, name: str, widget: BoundWidgetT) -> BoundWidgetT:
        """Show the setting `name` in `widget` as it is (load and write copy it)."""
        self.bound[name] = widget
        return widget

    def load(self, settings: Settings) -> None:
        for name, widget in self.bound.items():
            show_setting(widget, getattr(settings, name))

    def write(self, settings: Settings) -> None:
        for name, widget in self.bound.items():
            setattr(settings, name, shown_setting(widget))

    def apply_secrets(self) -> list[str]:
        """Save secrets edited on this page (on OK); returns labels of changes needing a restart."""
        return []
