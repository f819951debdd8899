"""The simple pages of the settings dialog: each shows some Settings fields and writes them back.

A page only displays values and collects edits; checking them is
app.config.validation's job, done by the dialog when the user presses OK.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QGuiApplication
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFontComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.config.setting_spec import specs_of
from app.config.settings import Settings
from app.utils import paths
from app.utils.secrets import HUB_TOKEN, LOCAL_SERVER_KEY, SecretStore, new_api_key

SPECS = specs_of(Settings)  # each field's range, choices, label and help, declared on Settings


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


def form_label(name: str) -> str:
    return SPECS[name].label + ":"


class SettingsPage(QWidget):
    """One page: `load` shows the settings, `write` puts the edited values into a copy."""

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

    def load(self, settings: Settings) -> None:
        raise NotImplementedError

    def write(self, settings: Settings) -> None:
        raise NotImplementedError

    def apply_secrets(self) -> list[str]:
        """Save secrets edited on this page (on OK); returns labels of changes needing a restart."""
        return []


class EnginePage(SettingsPage):
    title = "Engine"
    fields = ("models_dir", "n_ctx", "n_gpu_layers", "kv_cache_type", "flash_attn")

    def __init__(self, choose_folder: Callable[[QWidget, str], str] | None = None) -> None:
        super().__init__()
        self.choose_folder = choose_folder or (
            lambda parent, start: QFileDialog.getExistingDirectory(parent, "Models folder", start)
        )
        self.models_dir = QLineEdit()
        self.models_dir.setPlaceholderText(str(paths.default_models_dir()))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.models_dir, 1)
        row.addWidget(browse)
        self.form.addRow("Models folder:", row)
        self.context = setting_spin("n_ctx", "Automatic (from free memory)", " tokens", 1024)
        self.form.addRow(form_label("n_ctx"), self.context)
        self.gpu_auto = QRadioButton("Automatic (the planner decides)")
        self.gpu_manual = QRadioButton("Manual:")
        group = QButtonGroup(self)
        group.addButton(self.gpu_auto)
        group.addButton(self.gpu_manual)
        self.gpu_layers = spin(0, int(SPECS["n_gpu_layers"].high or 0), "", " layers")
        self.gpu_layers.setToolTip("0 runs everything on the CPU")
        self.gpu_manual.toggled.connect(self.gpu_layers.setEnabled)
        gpu_row = QHBoxLayout()
        gpu_row.addWidget(self.gpu_auto)
        gpu_row.addWidget(self.gpu_manual)
        gpu_row.addWidget(self.gpu_layers)
        gpu_row.addStretch(1)
        self.form.addRow(form_label("n_gpu_layers"), gpu_row)
        self.kv_cache = setting_choices("kv_cache_type")
        self.form.addRow(form_label("kv_cache_type"), self.kv_cache)
        self.flash_attn = QCheckBox("Use flash attention (needed for a q8_0 or q4_0 KV cache)")
        self.form.addRow("", self.flash_attn)
        self.form.addRow(
            "",
            hint("Changes on this page take effect when the engine restarts; the app restarts it when you press OK."),
        )

    def _browse(self) -> None:
        chosen = self.choose_folder(self, self.models_dir.text() or self.models_dir.placeholderText())
        if chosen:
            self.models_dir.setText(chosen)

    def load(self, settings: Settings) -> None:
        self.models_dir.setText(settings.models_dir)
        self.context.setValue(settings.n_ctx)
        manual = settings.n_gpu_layers >= 0
        self.gpu_manual.setChecked(manual)
        self.gpu_auto.setChecked(not manual)
        self.gpu_layers.setEnabled(manual)
        self.gpu_layers.setValue(max(settings.n_gpu_layers, 0))
        self.kv_cache.setCurrentText(settings.kv_cache_type)
        self.flash_attn.setChecked(settings.flash_attn)

    def write(self, settings: Settings) -> None:
        settings.models_dir = self.models_dir.text().strip()
        settings.n_ctx = self.context.value()
        settings.n_gpu_layers = self.gpu_layers.value() if self.gpu_manual.isChecked() else -1
        settings.kv_cache_type = self.kv_cache.currentText()
        settings.flash_attn = self.flash_attn.isChecked()


class SamplingPage(SettingsPage):
    title = "Sampling"
    fields = ("temperature", "top_p", "top_k", "min_p", "repeat_penalty", "max_tokens", "seed")

    def __init__(self) -> None:
        super().__init__()
        self.temperature = setting_real_spin("temperature", 0.05)
        self.top_p = setting_real_spin("top_p", 0.01)
        self.top_k = setting_spin("top_k", "Off")
        self.min_p = setting_real_spin("min_p", 0.01)
        self.repeat_penalty = setting_real_spin("repeat_penalty", 0.01)
        self.max_tokens = setting_spin("max_tokens", "", " tokens", 128)
        self.seed = setting_spin("seed", "Random")
        for name, box in zip(
            self.fields,
            (self.temperature, self.top_p, self.top_k, self.min_p, self.repeat_penalty, self.max_tokens, self.seed),
            strict=True,
        ):
            self.form.addRow(form_label(name), box)
        self.form.addRow(
            "",
            hint(
                "Temperature 0 gives the same answer every time, which suits code. "
                "Remote servers may ignore top-k, min-p and repeat penalty."
            ),
        )

    def load(self, settings: Settings) -> None:
        self.temperature.setValue(settings.temperature)
        self.top_p.setValue(settings.top_p)
        self.top_k.setValue(settings.top_k)
        self.min_p.setValue(settings.min_p)
        self.repeat_penalty.setValue(settings.repeat_penalty)
        self.max_tokens.setValue(settings.max_tokens)
        self.seed.setValue(settings.seed)

    def write(self, settings: Settings) -> None:
        settings.temperature = round(self.temperature.value(), 4)
        settings.top_p = round(self.top_p.value(), 4)
        settings.top_k = self.top_k.value()
        settings.min_p = round(self.min_p.value(), 4)
        settings.repeat_penalty = round(self.repeat_penalty.value(), 4)
        settings.max_tokens = self.max_tokens.value()
        settings.seed = self.seed.value()


class AppearancePage(SettingsPage):
    title = "Appearance"
    fields = ("theme", "editor_font_family", "editor_font_size")

    def __init__(self) -> None:
        super().__init__()
        self.theme = setting_choices("theme")
        self.form.addRow(form_label("theme"), self.theme)
        self.font_family = QFontComboBox()
        self.font_family.setFontFilters(QFontComboBox.FontFilter.MonospacedFonts)
        self.form.addRow("Editor font:", self.font_family)
        self.font_size = setting_spin("editor_font_size", "", " pt")
        self.form.addRow("Font size:", self.font_size)
        self._loaded_family = ""
        self._shown_family = ""

    def load(self, settings: Settings) -> None:
        self.theme.setCurrentIndex(max(self.theme.findData(settings.theme), 0))
        self.font_family.setCurrentFont(QFont(settings.editor_font_family))
        self._loaded_family = settings.editor_font_family
        self._shown_family = self.font_family.currentFont().family()
        self.font_size.setValue(settings.editor_font_size)

    def write(self, settings: Settings) -> None:
        settings.theme = str(self.theme.currentData())
        family = self.font_family.currentFont().family()
        # A family this system lacks shows as a substitute; keep the saved name unless changed.
        settings.editor_font_family = self._loaded_family if family == self._shown_family else family
        settings.editor_font_size = self.font_size.value()


class CompletionPage(SettingsPage):
    title = "Completion"
    fields = ("completion_enabled", "completion_delay_ms")

    def __init__(self) -> None:
        super().__init__()
        self.enabled = QCheckBox("Suggest code inline while typing")
        self.form.addRow("", self.enabled)
        self.delay = setting_spin("completion_delay_ms", "", " ms", 50)
        self.enabled.toggled.connect(self.delay.setEnabled)
        self.form.addRow("Delay after typing:", self.delay)
        self.form.addRow(
            "",
            hint(
                "Inline completion needs a model with fill-in-the-middle tokens "
                "(DeepSeek-Coder base or V2-Lite). Tab accepts, Escape dismisses."
            ),
        )

    def load(self, settings: Settings) -> None:
        self.enabled.setChecked(settings.completion_enabled)
        self.delay.setValue(settings.completion_delay_ms)
        self.delay.setEnabled(settings.completion_enabled)

    def write(self, settings: Settings) -> None:
        settings.completion_enabled = self.enabled.isChecked()
        settings.completion_delay_ms = self.delay.value()


class HubPage(SettingsPage):
    title = "Hub"
    fields = ("hub_endpoint", "hub_offline")

    def __init__(self, secrets: SecretStore) -> None:
        super().__init__()
        self.secrets = secrets
        self.endpoint = QLineEdit()
        self.endpoint.setPlaceholderText("https://huggingface.co (or HF_ENDPOINT)")
        self.form.addRow("Endpoint:", self.endpoint)
        self.token = QLineEdit()
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.form.addRow("Access token:", self.token)
        self.offline = QCheckBox("Offline: never contact the hub")
        self.form.addRow("", self.offline)
        self.form.addRow(
            "",
            hint(
                f"The token is kept in {secrets.where}, not in the settings file. "
                "It is only needed for gated or private repositories."
            ),
        )
        self._saved_token = ""

    def load(self, settings: Settings) -> None:
        self.endpoint.setText(settings.hub_endpoint)
        self.offline.setChecked(settings.hub_offline)
        self._saved_token = self.secrets.get(HUB_TOKEN) or ""
        self.token.setText(self._saved_token)

    def write(self, settings: Settings) -> None:
        settings.hub_endpoint = self.endpoint.text().strip()
        settings.hub_offline = self.offline.isChecked()

    def apply_secrets(self) -> list[str]:
        token = self.token.text().strip()
        if token != self._saved_token:
            self.secrets.set(HUB_TOKEN, token or None)
            self._saved_token = token
        return []


class LocalServerPage(SettingsPage):
    title = "Local server"
    fields = ("local_server_enabled", "local_server_port")

    def __init__(self, secrets: SecretStore, running_url: str | None = None) -> None:
        super().__init__()
        self.secrets = secrets
        self.enabled = QCheckBox("Serve the loaded model to other programs on this computer")
        self.form.addRow("", self.enabled)
        self.form.addRow("Address:", QLabel("127.0.0.1 (this computer only)"))
        self.port = setting_spin("local_server_port", "Any free port")
        self.form.addRow("Port:", self.port)
        self.api_key = QLineEdit()
        self.api_key.setReadOnly(True)
        self.copy_button = QPushButton("Copy")
        self.copy_button.clicked.connect(self.copy_key)
        self.renew_button = QPushButton("New key")
        self.renew_button.clicked.connect(self.renew_key)
        key_row = QHBoxLayout()
        key_row.addWidget(self.api_key, 1)
        key_row.addWidget(self.copy_button)
        key_row.addWidget(self.renew_button)
        self.form.addRow("API key:", key_row)
        self.status = hint(f"Running at {running_url}" if running_url else "Not running.")
        self.form.addRow("", self.status)
        self.form.addRow(
            "",
            hint(
                "Point an OpenAI-compatible tool (for example VS Code with Continue) at "
                "http://127.0.0.1:PORT/v1 with this key. Off by default."
            ),
        )
        self.enabled.toggled.connect(self._enable)
        self._new_key: str | None = None

    def _enable(self, on: bool) -> None:
        for widget in (self.port, self.api_key, self.copy_button, self.renew_button):
            widget.setEnabled(on)
        if on and not self.api_key.text():
            self.api_key.setText(self.secrets.get(LOCAL_SERVER_KEY) or self._fresh_key())

    def _fresh_key(self) -> str:
        self._new_key = new_api_key()
        return self._new_key

    def renew_key(self) -> None:
        self.api_key.setText(self._fresh_key())

    def copy_key(self) -> None:
        clipboard = QGuiApplication.clipboard()
        if clipboard is not None:
            clipboard.setText(self.api_key.text())

    def load(self, settings: Settings) -> None:
        self.enabled.setChecked(settings.local_server_enabled)
        self.port.setValue(settings.local_server_port)
        self._enable(settings.local_server_enabled)

    def write(self, settings: Settings) -> None:
        settings.local_server_enabled = self.enabled.isChecked()
        settings.local_server_port = self.port.value()

    def apply_secrets(self) -> list[str]:
        if self._new_key is None:
            return []
        self.secrets.set(LOCAL_SERVER_KEY, self._new_key)
        self._new_key = None
        return ["Local server API key"] if self.enabled.isChecked() else []
