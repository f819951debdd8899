"""The simple pages of the settings dialog: each shows some Settings fields and writes them back
(what a page is made of is in page_base)."""

from __future__ import annotations

from PySide6.QtGui import QFont, QGuiApplication
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QFileDialog,
    QFontComboBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QRadioButton,
)

from app.config.settings import Settings
from app.preferences.ui.page_base import (
    SPECS,
    ChoosePath,
    SettingsPage,
    form_label,
    hint,
    path_row,
    setting_choices,
    setting_real_spin,
    setting_spin,
    spin,
)
from app.utils import paths
from app.utils.secrets import HUB_TOKEN, LOCAL_SERVER_KEY, SecretStore, new_api_key


class EnginePage(SettingsPage):
    title = "Engine"
    fields = ("models_dir", "n_ctx", "n_gpu_layers", "kv_cache_type", "flash_attn")

    def __init__(self, choose_folder: ChoosePath | None = None) -> None:
        super().__init__()
        choose_folder = choose_folder or (
            lambda parent, start: QFileDialog.getExistingDirectory(parent, "Models folder", start)
        )
        self.models_dir = self.bind("models_dir", QLineEdit())
        default_dir = str(paths.default_models_dir())
        self.models_dir.setPlaceholderText(default_dir)
        self.form.addRow("Models folder:", path_row(self.models_dir, choose_folder, self, default_dir))
        self.context = self.bind("n_ctx", setting_spin("n_ctx", "Automatic (from free memory)", " tokens", 1024))
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
        self.kv_cache = self.bind("kv_cache_type", setting_choices("kv_cache_type"))
        self.form.addRow(form_label("kv_cache_type"), self.kv_cache)
        self.flash_attn = self.bind("flash_attn", QCheckBox("Use flash attention (needed for a q8_0 or q4_0 KV cache)"))
        self.form.addRow("", self.flash_attn)
        self.form.addRow(
            "",
            hint("Changes on this page take effect when the engine restarts; the app restarts it when you press OK."),
        )

    def load(self, settings: Settings) -> None:
        super().load(settings)
        manual = settings.n_gpu_layers >= 0
        self.gpu_manual.setChecked(manual)
        self.gpu_auto.setChecked(not manual)
        self.gpu_layers.setEnabled(manual)
        self.gpu_layers.setValue(max(settings.n_gpu_layers, 0))

    def write(self, settings: Settings) -> None:
        super().write(settings)
        settings.n_gpu_layers = self.gpu_layers.value() if self.gpu_manual.isChecked() else -1


class SamplingPage(SettingsPage):
    title = "Sampling"
    fields = ("temperature", "top_p", "top_k", "min_p", "repeat_penalty", "max_tokens", "seed")

    def __init__(self) -> None:
        super().__init__()
        self.temperature = self.bind("temperature", setting_real_spin("temperature", 0.05))
        self.top_p = self.bind("top_p", setting_real_spin("top_p", 0.01))
        self.top_k = self.bind("top_k", setting_spin("top_k", "Off"))
        self.min_p = self.bind("min_p", setting_real_spin("min_p", 0.01))
        self.repeat_penalty = self.bind("repeat_penalty", setting_real_spin("repeat_penalty", 0.01))
        self.max_tokens = self.bind("max_tokens", setting_spin("max_tokens", "", " tokens", 128))
        self.seed = self.bind("seed", setting_spin("seed", "Random"))
        for name, box in self.bound.items():
            self.form.addRow(form_label(name), box)
        self.form.addRow(
            "",
            hint(
                "Temperature 0 gives the same answer every time, which suits code. "
                "Remote servers may ignore top-k, min-p and repeat penalty."
            ),
        )


class AppearancePage(SettingsPage):
    title = "Appearance"
    fields = ("theme", "editor_font_family", "editor_font_size")

    def __init__(self) -> None:
        super().__init__()
        self.theme = self.bind("theme", setting_choices("theme"))
        self.form.addRow(form_label("theme"), self.theme)
        self.font_family = QFontComboBox()
        self.font_family.setFontFilters(QFontComboBox.FontFilter.MonospacedFonts)
        self.form.addRow("Editor font:", self.font_family)
        self.font_size = self.bind("editor_font_size", setting_spin("editor_font_size", "", " pt"))
        self.form.addRow("Font size:", self.font_size)
        self._loaded_family = ""
        self._shown_family = ""

    def load(self, settings: Settings) -> None:
        super().load(settings)
        self.font_family.setCurrentFont(QFont(settings.editor_font_family))
        self._loaded_family = settings.editor_font_family
        self._shown_family = self.font_family.currentFont().family()

    def write(self, settings: Settings) -> None:
        super().write(settings)
        family = self.font_family.currentFont().family()
        # A family this system lacks shows as a substitute; keep the saved name unless changed.
        settings.editor_font_family = self._loaded_family if family == self._shown_family else family


class CompletionPage(SettingsPage):
    title = "Completion"
    fields = ("completion_enabled", "completion_delay_ms")

    def __init__(self) -> None:
        super().__init__()
        self.enabled = self.bind("completion_enabled", QCheckBox("Suggest code inline while typing"))
        self.form.addRow("", self.enabled)
        self.delay = self.bind("completion_delay_ms", setting_spin("completion_delay_ms", "", " ms", 50))
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
        super().load(settings)
        self.delay.setEnabled(settings.completion_enabled)


class HubPage(SettingsPage):
    title = "Hub"
    fields = ("hub_endpoint", "hub_offline")

    def __init__(self, secrets: SecretStore) -> None:
        super().__init__()
        self.secrets = secrets
        self.endpoint = self.bind("hub_endpoint", QLineEdit())
        self.endpoint.setPlaceholderText("https://huggingface.co (or HF_ENDPOINT)")
        self.form.addRow("Endpoint:", self.endpoint)
        self.token = QLineEdit()
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.form.addRow("Access token:", self.token)
        self.offline = self.bind("hub_offline", QCheckBox("Offline: never contact the hub"))
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
        super().load(settings)
        self._saved_token = self.secrets.get(HUB_TOKEN) or ""
        self.token.setText(self._saved_token)

    def apply_secrets(self) -> list[str]:
        token = self.token.text().strip()
        if token != self._saved_token:
            self.secrets.set(HUB_TOKEN, token or None)
            self._saved_token = token
        return []


class LocalServerPage(SettingsPage):
    title = "Local server"
    fields = ("local_server_enabled", "local_server_port", "local_server_host")

    def __init__(self, secrets: SecretStore, running_url: str | None = None) -> None:
        super().__init__()
        self.secrets = secrets
        self.enabled = self.bind(
            "local_server_enabled", QCheckBox("Serve the loaded model to other programs on this computer")
        )
        self.form.addRow("", self.enabled)
        self.address = self.bind("local_server_host", setting_choices("local_server_host"))
        self.address.setObjectName("LocalServerAddress")
        self.form.addRow("Address:", self.address)
        self.port = self.bind("local_server_port", setting_spin("local_server_port", "Any free port"))
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
                "Editors reach it as Ollama (Continue, Zed, Open WebUI: http://127.0.0.1:PORT), as llama-server "
                "(llama.vim, llama.vscode: http://127.0.0.1:PORT/infill) or as OpenAI (http://127.0.0.1:PORT/v1); "
                "docs/editors.md has each one's setup. On 127.0.0.1 the key is optional (Ollama's clients send "
                "none). Any other address reaches other machines: every request then needs this key. Off by default."
            ),
        )
        self.enabled.toggled.connect(self._enable)
        self._new_key: str | None = None

    def _enable(self, on: bool) -> None:
        for widget in (self.port, self.address, self.api_key, self.copy_button, self.renew_button):
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
        super().load(settings)
        self._enable(settings.local_server_enabled)

    def apply_secrets(self) -> list[str]:
        if self._new_key is None:
            return []
        self.secrets.set(LOCAL_SERVER_KEY, self._new_key)
        self._new_key = None
        return ["Local server API key"] if self.enabled.isChecked() else []
