"""The settings dialog: pages show the settings, OK checks every value and reports restarts."""

from __future__ import annotations

import dataclasses
import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QLabel, QPushButton

from app.config.remotes import RemoteEngine, api_key_for
from app.config.settings import Settings, load_settings, save_settings, settings_path
from app.preferences.ui.dialog import SettingsDialog
from app.preferences.ui.remotes_page import RemoteEngineEditor
from app.utils.secrets import HUB_TOKEN, LOCAL_SERVER_KEY, SecretStore
from tests.helpers.settings import full_settings


@pytest.fixture
def secrets(tmp_path):
    return SecretStore(None, tmp_path / "secrets.json")


def make_dialog(qtbot, settings=None, **options) -> SettingsDialog:
    dialog = SettingsDialog(settings or Settings(), **options)
    qtbot.addWidget(dialog)
    return dialog


def test_ok_without_changes_keeps_the_settings(qtbot, secrets):
    original = Settings(
        temperature=0.2,
        theme="dark",
        n_gpu_layers=12,
        flash_attn=True,
        kv_cache_type="q8_0",
        system_prompt_presets=[{"name": "Terse", "text": "Code only."}],
        system_prompt_preset="Terse",
        system_prompt="Code only.",
    )
    dialog = make_dialog(qtbot, original, secrets=secrets)
    dialog.accept()
    assert dialog.result() == SettingsDialog.DialogCode.Accepted
    assert dialog.new_settings == original and dialog.restart == []


def test_every_bound_setting_comes_back_as_it_was_shown(qtbot, secrets, tmp_path):
    """A page binds a widget per setting it shows as it is; each is one of the page's fields,
    and a value off its default survives load and write."""
    changed = dataclasses.replace(
        full_settings(tmp_path),
        chat_file_tokens=3000,
        chat_attach_project_map=False,
        n_threads_batch=3,
        draft_model_path="/models/draft.gguf",
        plan_headroom_max_gb=3.5,
        plan_max_question_s=20.0,
    )
    dialog = make_dialog(qtbot, changed, secrets=secrets)
    for page in dialog.pages:
        assert set(page.bound) <= set(page.fields), page.title
    written = Settings()
    for page in dialog.pages:
        page.write(written)
    bound = {name for page in dialog.pages for name in page.bound}
    assert {name: getattr(written, name) for name in bound} == {name: getattr(changed, name) for name in bound}


def test_edited_values_come_back_with_the_restart_list(qtbot, secrets, tmp_path):
    dialog = make_dialog(qtbot, secrets=secrets)
    engine, sampling = dialog.engine_page, dialog.sampling_page
    engine.models_dir.setText(str(tmp_path))
    engine.context.setValue(16384)
    engine.gpu_manual.setChecked(True)
    engine.gpu_layers.setValue(24)
    sampling.temperature.setValue(0.7)
    sampling.top_k.setValue(0)
    sampling.seed.setValue(1234)
    dialog.appearance_page.theme.setCurrentIndex(dialog.appearance_page.theme.findData("light"))
    dialog.completion_page.delay.setValue(600)
    assert "Context size" in dialog.restart_note.text()  # said before OK is pressed
    dialog.accept()
    new = dialog.new_settings
    assert new is not None
    assert (new.models_dir, new.n_ctx, new.n_gpu_layers) == (str(tmp_path), 16384, 24)
    assert (new.temperature, new.top_k, new.seed, new.theme, new.completion_delay_ms) == (0.7, 0, 1234, "light", 600)
    assert dialog.restart == ["Models folder", "Context size", "GPU layers"]


def test_bad_values_are_refused_with_a_message_on_their_page(qtbot, secrets):
    dialog = make_dialog(qtbot, secrets=secrets)
    dialog.show_page("Hub")
    dialog.engine_page.models_dir.setText("/no/such/folder")
    dialog.engine_page.kv_cache.setCurrentText("q4_0")  # without flash attention
    dialog.accept()
    assert dialog.new_settings is None and dialog.result() != SettingsDialog.DialogCode.Accepted
    assert dialog.stack.currentIndex() == dialog.pages.index(dialog.engine_page)
    assert "models folder /no/such/folder does not exist" in dialog.message.text()
    assert "(1 more problem)" in dialog.message.text()
    dialog.engine_page.models_dir.clear()
    dialog.accept()
    assert "needs flash attention" in dialog.message.text()
    dialog.engine_page.flash_attn.setChecked(True)
    dialog.accept()
    assert dialog.new_settings is not None and dialog.new_settings.kv_cache_type == "q4_0"


def test_hub_endpoint_is_checked_and_the_token_kept_out_of_settings(qtbot, secrets):
    dialog = make_dialog(qtbot, secrets=secrets)
    dialog.hub_page.endpoint.setText("huggingface.co")
    dialog.hub_page.token.setText("hf_secret")
    dialog.accept()
    assert "Hub endpoint must start with http:// or https://" in dialog.message.text()
    dialog.hub_page.endpoint.setText("https://hf-mirror.example/")
    dialog.hub_page.offline.setChecked(True)
    dialog.accept()
    assert dialog.new_settings is not None and dialog.new_settings.hub_offline
    assert secrets.get(HUB_TOKEN) == "hf_secret"
    save_settings(dialog.new_settings)
    assert "hf_secret" not in settings_path().read_text()


def test_prompt_presets_add_rename_use_delete(qtbot, secrets):
    answers = iter(["Reviewer", "reviewer", "Strict reviewer"])
    dialog = make_dialog(qtbot, secrets=secrets, ask=lambda *_: next(answers))
    page = dialog.prompts_page
    assert page.list.item(0).text().startswith("DeepSeek default") and page.text.isReadOnly()
    page.add_preset()
    page.text.setPlainText("Review the code for bugs first.")
    page.use_preset()
    page.add_preset()  # "reviewer" clashes with "Reviewer"
    assert "already a preset called 'reviewer'" in page.message.text()
    page.rename_preset()
    dialog.accept()
    new = dialog.new_settings
    assert new is not None
    assert new.system_prompt_presets == [{"name": "Strict reviewer", "text": "Review the code for bugs first."}]
    assert (new.system_prompt_preset, new.system_prompt) == ("Strict reviewer", "Review the code for bugs first.")

    again = make_dialog(qtbot, new, secrets=secrets)
    again.prompts_page.list.setCurrentRow(1)
    again.prompts_page.delete_preset()
    again.accept()
    assert again.new_settings is not None
    assert (again.new_settings.system_prompt_presets, again.new_settings.system_prompt) == ([], "")


def test_remote_engines_add_edit_remove_and_keys_in_the_secret_store(qtbot, secrets):
    edits = iter(
        [
            (RemoteEngine("GPU box", "http://gpu:8000/v1", "deepseek-coder-33b-instruct", "vllm"), "sk-one"),
            (RemoteEngine("Ollama", "http://localhost:11434/v1", "deepseek-coder-v2:16b", "ollama"), ""),
            (RemoteEngine("GPU box 2", "http://gpu2:8000/v1", "deepseek-coder-33b-instruct", "vllm"), "sk-two"),
        ]
    )
    dialog = make_dialog(qtbot, secrets=secrets, edit_remote=lambda *_: next(edits))
    page = dialog.remotes_page
    page.add_remote()
    page.add_remote()
    page.list.setCurrentRow(0)
    page.edit_selected()
    page.active.setCurrentIndex(page.active.findText("GPU box 2"))
    assert "Engine used for chat" in dialog.restart_note.text()
    page.list.setCurrentRow(1)
    page.remove_selected()
    dialog.accept()
    new = dialog.new_settings
    assert new is not None
    assert [r["name"] for r in new.remote_engines] == ["GPU box 2"]
    remote = RemoteEngine.from_dict(new.remote_engines[0])
    assert new.active_engine == remote.id
    assert api_key_for(remote, secrets) == "sk-two"
    assert "Engine used for chat" in dialog.restart
    save_settings(new)
    assert "sk-two" not in settings_path().read_text()
    assert load_settings().remote_engines == new.remote_engines


def test_test_connection_reports_a_server_that_is_not_there(qtbot, secrets):
    settings = Settings(remote_engines=[RemoteEngine("Nowhere", "http://127.0.0.1:9/v1", id="n1").to_dict()])
    dialog = make_dialog(qtbot, settings, secrets=secrets)
    page = dialog.remotes_page
    page.list.setCurrentRow(0)
    page.test_selected()
    assert not page.test_button.isEnabled()
    qtbot.waitUntil(lambda: "✘" in page.status.text(), timeout=20000)
    assert "Could not connect to http://127.0.0.1:9/v1" in page.status.text()
    assert page.test_button.isEnabled()


def test_remote_editor_checks_its_fields(qtbot):
    editor = RemoteEngineEditor(None, None, "")
    qtbot.addWidget(editor)
    editor.name.setText("Box")
    editor.base_url.setText("gpu-box:8000")
    editor.model.setText("deepseek-coder-33b-instruct")
    editor.accept()
    assert "http:// or https://" in editor.message.text() and editor.result() != editor.DialogCode.Accepted
    editor.base_url.setText("http://gpu-box:8000")
    editor.accept()
    assert editor.result() == editor.DialogCode.Accepted
    assert editor.remote().base_url == "http://gpu-box:8000/v1"
    editor.kind.setCurrentIndex(editor.kind.findData("sglang"))
    assert editor.base_url.placeholderText() == "http://gpu-box:30000/v1"


def test_local_server_is_off_by_default_and_shows_a_copyable_key(qtbot, secrets):
    dialog = make_dialog(qtbot, secrets=secrets)
    page = dialog.local_server_page
    assert not page.enabled.isChecked() and not page.port.isEnabled()
    page.enabled.setChecked(True)
    key = page.api_key.text()
    assert key.startswith("dsc-") and len(key) > 20
    page.copy_key()
    assert QGuiApplication.clipboard().text() == key
    page.port.setValue(8181)
    dialog.accept()
    new = dialog.new_settings
    assert new is not None and new.local_server_enabled and new.local_server_port == 8181
    assert secrets.get(LOCAL_SERVER_KEY) == key
    assert "Serve the loaded model" in dialog.restart
    assert "dsc-" not in json.dumps(dataclasses.asdict(new))


def test_local_server_listens_on_loopback_unless_chosen_and_says_the_key_is_then_needed(qtbot, secrets):
    dialog = make_dialog(qtbot, secrets=secrets)
    page = dialog.local_server_page
    assert page.address.currentData() == "127.0.0.1" and not page.address.isEnabled()
    assert (
        "any other address reaches other machines" in page.form.parentWidget().findChildren(QLabel)[-1].text().lower()
    )
    page.enabled.setChecked(True)
    page.address.setCurrentIndex(page.address.findData("0.0.0.0"))
    dialog.accept()
    new = dialog.new_settings
    assert new is not None and new.local_server_host == "0.0.0.0"
    assert "Local server address" in dialog.restart


def test_local_server_port_below_1024_is_refused(qtbot, secrets):
    dialog = make_dialog(qtbot, secrets=secrets)
    dialog.local_server_page.enabled.setChecked(True)
    dialog.local_server_page.port.setValue(80)
    dialog.accept()
    assert "from 1024 to 65535" in dialog.message.text()


def test_the_planner_page_edits_the_floors_and_the_headroom(qtbot, secrets):
    original = Settings(prompt_cache_bytes=1_000_000_000)  # not a whole number of MB: kept as is
    dialog = make_dialog(qtbot, original, secrets=secrets)
    page = dialog.planner_page
    assert page.min_tokens_per_s.value() == 8.0 and page.max_question_s.value() == 15.0
    assert page.headroom_percent.value() == 25.0 and page.headroom_max_gb.value() == 4.0
    page.min_tokens_per_s.setValue(5.0)
    page.max_completion_s.setValue(1.5)
    page.headroom_percent.setValue(10.0)
    dialog.accept()
    new = dialog.new_settings
    assert (new.plan_min_tokens_per_s, new.plan_max_completion_s, new.plan_headroom_percent) == (5.0, 1.5, 10.0)
    assert new.prompt_cache_bytes == 1_000_000_000 and dialog.restart == []  # unchanged: no restart
    again = make_dialog(qtbot, new, secrets=secrets)
    again.planner_page.prompt_cache_mib.setValue(512)
    again.accept()
    assert again.new_settings.prompt_cache_bytes == 512 * 1024 * 1024


def test_the_attachments_page_turns_the_current_file_off_and_sets_the_budgets(qtbot, secrets):
    dialog = make_dialog(qtbot, secrets=secrets)
    page = dialog.attachments_page
    assert page.attach_file.isChecked() and page.attach_map.isChecked()  # on by default
    assert page.file_tokens.value() == 3000 and page.map_tokens.value() == 1500
    page.attach_file.setChecked(False)
    page.file_tokens.setValue(1200)
    page.map_tokens.setValue(800)
    dialog.accept()
    new = dialog.new_settings
    assert not new.chat_attach_current_file and new.chat_attach_project_map
    assert (new.chat_file_tokens, new.chat_project_map_tokens) == (1200, 800)
    assert dialog.restart == []  # the next question, not the engine


def test_browse_starts_where_the_path_field_points_and_shows_the_choice(qtbot, secrets, tmp_path):
    asked: list[str] = []

    def choose(_parent, start: str) -> str:
        asked.append(start)
        return "" if len(asked) == 2 else str(tmp_path / f"choice{len(asked)}")

    dialog = make_dialog(qtbot, secrets=secrets, choose_folder=choose)
    page = dialog.engine_page
    browse = next(b for b in page.findChildren(QPushButton) if b.text() == "Browse…")
    qtbot.mouseClick(browse, Qt.MouseButton.LeftButton)  # empty field: the default models folder
    qtbot.mouseClick(browse, Qt.MouseButton.LeftButton)  # cancelled: the field keeps the first choice
    assert asked == [page.models_dir.placeholderText(), str(tmp_path / "choice1")]
    assert page.models_dir.text() == str(tmp_path / "choice1")
