"""The model manager window, with the real core, the fake hub on loopback and tiny GGUF files."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config.settings import load_settings
from app.models.download.job import DownloadProgress
from app.models.synthetic import tiny
from tests.helpers import model_manager
from tests.helpers.fake_hub import FakeHub, Fault, random_bytes
from tests.helpers.model_manager import (
    REPO,
    TIMEOUT_MS,
    click,
    hub_entry,
    refreshed,
    started_downloading,
)

# The shared fixtures, by name (pytest finds fixtures among a module's attributes).
models_dir = model_manager.models_dir
make_dialog = model_manager.make_dialog


# -- downloads ---------------------------------------------------------------------------------
def test_a_download_shows_progress_and_ends_installed(
    qtbot, hub: FakeHub, models_dir: Path, make_dialog, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    data = tiny.write_tiny_gguf(tmp_path / "tiny-coder.gguf").read_bytes()
    entry = hub_entry(hub, "tiny-coder.gguf", data)
    hub.rate_bps = 2_000_000
    dialog = make_dialog([entry])
    assert dialog.catalog_view.status(entry.id) == "not installed"
    details: list[str] = []
    statuses: list[str] = []

    def seen(job_id: int, progress: DownloadProgress) -> None:
        details.append(dialog.downloads_view.row(job_id).detail.text())
        statuses.append(dialog.catalog_view.status(entry.id))

    dialog.downloads.worker.progress.connect(seen)
    with qtbot.waitSignal(dialog.downloads.worker.finished, timeout=TIMEOUT_MS) as finished:
        click(qtbot, dialog.catalog_view.download_button(entry.id))
    job_id, path = finished.args

    assert Path(path).read_bytes() == data
    assert any(" of 540." in text for text in details)  # "412.0 KB of 540.6 KB · …"
    assert any(s.startswith("downloading ") and s.endswith("%") for s in statuses)
    assert any(s.startswith("verifying") for s in statuses)
    row = dialog.downloads_view.row(job_id)
    assert row.bar.value() == row.bar.maximum() and row.state_label.text() == "Installed"
    refreshed(qtbot, dialog, lambda: dialog.catalog_view.status(entry.id) == "installed, verified")
    assert not dialog.catalog_view.download_button(entry.id).isEnabled()
    assert dialog.installed_view.row_texts(path)["Verification"] == "verified"


def test_pause_then_resume_completes_byte_exact(qtbot, hub: FakeHub, models_dir: Path, make_dialog) -> None:  # type: ignore[no-untyped-def]
    data = random_bytes(1_500_000, seed=5)
    entry = hub_entry(hub, "tiny-pause.gguf", data)
    hub.rate_bps = 1_000_000
    dialog = make_dialog([entry])

    with qtbot.waitSignal(dialog.downloads.worker.progress, check_params_cb=started_downloading, timeout=TIMEOUT_MS):
        click(qtbot, dialog.catalog_view.download_button(entry.id))
    job_id = dialog.job_for_entry(entry.id)
    row = dialog.downloads_view.row(job_id)
    with qtbot.waitSignal(dialog.downloads.worker.paused, timeout=TIMEOUT_MS):
        click(qtbot, row.pause_button)
    kept = dialog.downloads.worker.job(job_id).partial_bytes()
    assert 0 < kept < len(data)
    assert row.resume_button.isVisibleTo(row) and not row.pause_button.isVisibleTo(row)
    assert dialog.catalog_view.status(entry.id).startswith("paused")
    assert dialog.catalog_view.download_button(entry.id).text() == "Resume"

    with qtbot.waitSignal(dialog.downloads.worker.finished, timeout=TIMEOUT_MS) as finished:
        click(qtbot, row.resume_button)

    assert Path(finished.args[1]).read_bytes() == data
    assert hub.file_requests()[-1].range == f"bytes={kept}-"


@pytest.mark.parametrize("keep", [False, True])
def test_cancel_removes_the_partial_only_on_request(
    qtbot, hub: FakeHub, models_dir: Path, make_dialog, keep: bool
) -> None:  # type: ignore[no-untyped-def]
    entry = hub_entry(hub, "tiny-cancel.gguf", random_bytes(1_500_000, seed=6))
    hub.rate_bps = 1_000_000
    dialog = make_dialog([entry])
    asked: list[str] = []
    dialog.ask_keep_partial = lambda _parent, label: asked.append(label) or keep  # type: ignore[assignment,func-returns-value]

    with qtbot.waitSignal(dialog.downloads.worker.progress, check_params_cb=started_downloading, timeout=TIMEOUT_MS):
        click(qtbot, dialog.catalog_view.download_button(entry.id))
    row = dialog.downloads_view.row(dialog.job_for_entry(entry.id))
    with qtbot.waitSignal(dialog.downloads.worker.cancelled, timeout=TIMEOUT_MS):
        click(qtbot, row.cancel_button)

    assert asked == [entry.id]
    partials = list(models_dir.rglob("*.incomplete"))
    assert bool(partials) == keep
    expected = "partly downloaded" if keep else "not installed"
    refreshed(qtbot, dialog, lambda: dialog.catalog_view.status(entry.id) == expected)
    assert dialog.catalog_view.download_button(entry.id).text() == ("Resume" if keep else "Download")
    assert not list(models_dir.rglob("*.gguf"))


def test_answering_no_to_cancel_keeps_downloading(qtbot, hub: FakeHub, make_dialog) -> None:  # type: ignore[no-untyped-def]
    entry = hub_entry(hub, "tiny-go-on.gguf", random_bytes(600_000, seed=7))
    hub.rate_bps = 1_000_000
    dialog = make_dialog([entry])
    dialog.ask_keep_partial = lambda _parent, _label: None  # type: ignore[assignment]
    with qtbot.waitSignal(dialog.downloads.worker.progress, check_params_cb=started_downloading, timeout=TIMEOUT_MS):
        click(qtbot, dialog.catalog_view.download_button(entry.id))
    with qtbot.waitSignal(dialog.downloads.worker.finished, timeout=TIMEOUT_MS):
        click(qtbot, dialog.downloads_view.row(dialog.job_for_entry(entry.id)).cancel_button)


def test_wrong_bytes_show_a_mismatch_error_and_install_nothing(
    qtbot, hub: FakeHub, models_dir: Path, make_dialog
) -> None:  # type: ignore[no-untyped-def]
    entry = hub_entry(hub, "tiny-wrong.gguf", random_bytes(300_000, seed=8))
    hub.add_fault(Fault("wrong_bytes", times=-1))
    dialog = make_dialog([entry])

    with qtbot.waitSignal(dialog.downloads.worker.failed, timeout=TIMEOUT_MS) as failed:
        click(qtbot, dialog.catalog_view.download_button(entry.id))

    message = failed.args[1]
    assert "not the expected file" in message and "sha256" in message and "nothing was installed" in message
    assert dialog.error_label.text() == message and dialog.message_bar.isVisibleTo(dialog)
    row = dialog.downloads_view.row(failed.args[0])
    assert row.state_label.text() == "Failed" and row.detail.text() == message
    assert row.resume_button.text() == "Retry"
    refreshed(qtbot, dialog, lambda: dialog.catalog_view.status(entry.id) == "not installed")
    assert not list(models_dir.rglob("*.gguf")) and dialog.installed_view.models() == []


def test_not_enough_disk_is_refused_before_anything_downloads(qtbot, hub: FakeHub, make_dialog) -> None:  # type: ignore[no-untyped-def]
    entry = hub_entry(hub, "tiny-huge.gguf", random_bytes(1000), catalog_size=10**16)
    dialog = make_dialog([entry])
    click(qtbot, dialog.catalog_view.download_button(entry.id))
    assert "Not enough free disk space" in dialog.error_label.text()
    assert "missing" in dialog.error_label.text()
    assert dialog.downloads.worker.job_ids() == [] and hub.requests == []


def test_offline_mode_makes_no_request(qtbot, hub: FakeHub, make_dialog) -> None:  # type: ignore[no-untyped-def]
    entry = hub_entry(hub, "tiny-offline.gguf", random_bytes(1000))
    dialog = make_dialog([entry])
    with qtbot.waitSignal(dialog.hubSettingsChanged):
        dialog.offline_check.click()
    assert dialog.settings.hub_offline and load_settings().hub_offline

    with qtbot.waitSignal(dialog.downloads.worker.failed, timeout=TIMEOUT_MS):
        click(qtbot, dialog.catalog_view.download_button(entry.id))

    assert "offline mode is on" in dialog.error_label.text()
    assert "Turn off offline mode" in dialog.error_label.text()
    assert hub.requests == []


def test_the_hub_endpoint_is_saved(qtbot, make_dialog) -> None:  # type: ignore[no-untyped-def]
    dialog = make_dialog()
    dialog.endpoint_edit.setText("https://hf-mirror.example/")
    with qtbot.waitSignal(dialog.hubSettingsChanged):
        dialog.endpoint_edit.editingFinished.emit()
    assert load_settings().hub_endpoint == "https://hf-mirror.example"
    dialog.endpoint_edit.setText("hf-mirror")
    dialog.endpoint_edit.editingFinished.emit()
    assert "is not a hub address" in dialog.error_label.text()
    assert load_settings().hub_endpoint == "https://hf-mirror.example"


# -- the installed models ---------------------------------------------------------------------
def test_installed_models_show_their_gguf_metadata(qtbot, models_dir: Path, make_dialog) -> None:  # type: ignore[no-untyped-def]
    v1 = tiny.write_tiny_gguf(models_dir / "tiny-v1.gguf", tiny.TINY)
    plain = tiny.write_tiny_gguf(models_dir / "tiny-plain.gguf", tiny.TINY_NO_FIM)
    dialog = make_dialog()

    row = dialog.installed_view.row_texts(str(v1))
    assert row["File"] == "tiny-v1.gguf" and row["Architecture"] == "llama"
    assert row["Parameters"] == "132.3 K" and row["Quant"] == "F32" and row["Context"] == "4096"
    assert row["Chat template"] == "yes" and row["FIM"] == "yes"
    assert row["Size"] == "540.6 KB" and row["Verification"] == "unverified"
    plain_row = dialog.installed_view.row_texts(str(plain))
    assert plain_row["Chat template"] == "no" and plain_row["FIM"] == "no"


def test_use_for_chat_writes_the_setting_and_emits_model_chosen(qtbot, models_dir: Path, make_dialog) -> None:  # type: ignore[no-untyped-def]
    v1 = tiny.write_tiny_gguf(models_dir / "tiny-v1.gguf", tiny.TINY)
    plain = tiny.write_tiny_gguf(models_dir / "tiny-plain.gguf", tiny.TINY_NO_FIM)
    dialog = make_dialog()
    view = dialog.installed_view
    view.select_path(str(v1))

    with qtbot.waitSignal(dialog.modelChosen) as chosen:
        click(qtbot, view.chat_button)

    assert chosen.args == ["chat", str(v1)]
    assert dialog.settings.chat_model_path == str(v1) and load_settings().chat_model_path == str(v1)
    assert view.row_texts(str(v1))["Used for"] == "chat"

    view.select_path(str(plain))
    with qtbot.assertNotEmitted(dialog.modelChosen):
        click(qtbot, view.completion_button)
    assert "no fill-in-the-middle tokens" in dialog.error_label.text()
    assert load_settings().completion_model_path == ""


def test_delete_asks_and_removes(qtbot, models_dir: Path, make_dialog) -> None:  # type: ignore[no-untyped-def]
    v1 = tiny.write_tiny_gguf(models_dir / "tiny-v1.gguf", tiny.TINY)
    dialog = make_dialog()
    dialog.installed_view.select_path(str(v1))
    asked: list[str] = []
    dialog.confirm_delete = lambda _parent, model: asked.append(model.name) or False  # type: ignore[assignment,func-returns-value]
    click(qtbot, dialog.installed_view.delete_button)
    assert asked == ["tiny-v1.gguf"] and v1.exists()

    dialog.confirm_delete = lambda _parent, model: asked.append(model.name) or True  # type: ignore[assignment,func-returns-value]
    with qtbot.waitSignals([dialog.modelRemoved, dialog.libraryRefreshed], timeout=TIMEOUT_MS):
        click(qtbot, dialog.installed_view.delete_button)

    assert asked == ["tiny-v1.gguf", "tiny-v1.gguf"] and not v1.exists()
    assert dialog.installed_view.models() == [] and dialog.installed_view.empty_label.isVisibleTo(dialog.installed_view)


def test_import_copies_and_verify_again_hashes(qtbot, models_dir: Path, tmp_path: Path, make_dialog) -> None:  # type: ignore[no-untyped-def]
    source = tiny.write_tiny_gguf(tmp_path / "outside.gguf", tiny.TINY_V2)
    dialog = make_dialog()
    dialog.choose_import = lambda _parent, _start: (source, False)  # type: ignore[assignment]

    with qtbot.waitSignal(dialog.libraryRefreshed, timeout=TIMEOUT_MS):
        click(qtbot, dialog.installed_view.import_button)
    copied = models_dir / "imported" / "outside.gguf"
    assert copied.read_bytes() == source.read_bytes()
    assert dialog.installed_view.row_texts(str(copied))["Verification"] == "unverified"

    dialog.installed_view.select_path(str(copied))
    with qtbot.waitSignal(dialog.libraryRefreshed, timeout=TIMEOUT_MS):
        click(qtbot, dialog.installed_view.verify_button)
    assert dialog.installed_view.row_texts(str(copied))["Verification"] == "hashed"
    assert "no reference hash" in dialog.error_label.text()
    assert not dialog.installed_view.task_row.isVisibleTo(dialog.installed_view)


def test_hub_search_lists_gguf_files_and_downloads_one(qtbot, hub: FakeHub, make_dialog) -> None:  # type: ignore[no-untyped-def]
    data = random_bytes(200_000, seed=9)
    hub.add_file("someone/deepseek-coder-6.7b-extra-GGUF", "extra.Q4_K_M.gguf", data)
    hub.add_file("someone/deepseek-coder-6.7b-extra-GGUF", "README.md", b"hello", lfs=False)
    dialog = make_dialog()
    view = dialog.search_view

    view.query_edit.setText("deepseek-coder")
    click(qtbot, view.search_button)
    qtbot.waitUntil(lambda: view.tree.topLevelItemCount() == 1, timeout=TIMEOUT_MS)
    repo = view.tree.topLevelItem(0)
    assert repo.text(0) == "someone/deepseek-coder-6.7b-extra-GGUF" and repo.childCount() == 1
    assert repo.child(0).text(0) == "extra.Q4_K_M.gguf" and repo.child(0).text(1) == "200.0 KB"

    view.select_file("someone/deepseek-coder-6.7b-extra-GGUF", "extra.Q4_K_M.gguf")
    with qtbot.waitSignal(dialog.downloads.worker.finished, timeout=TIMEOUT_MS) as finished:
        click(qtbot, view.download_button)
    assert Path(finished.args[1]).read_bytes() == data


def test_hub_search_offline_says_so_without_a_request(qtbot, hub: FakeHub, make_dialog) -> None:  # type: ignore[no-untyped-def]
    hub.add_file(REPO, "x.gguf", b"x")
    dialog = make_dialog()
    dialog.offline_check.click()
    click(qtbot, dialog.search_view.search_button)
    qtbot.waitUntil(lambda: "offline mode is on" in dialog.search_view.status_label.text(), timeout=TIMEOUT_MS)
    assert hub.requests == []


def test_verify_again_can_be_cancelled(qtbot, models_dir: Path, make_dialog) -> None:  # type: ignore[no-untyped-def]
    big = models_dir / "big.gguf"
    with big.open("wb") as handle:
        handle.truncate(256 * 1024 * 1024)  # sparse: hashing it takes a while, writing it does not
    dialog = make_dialog()
    view = dialog.installed_view
    view.select_path(str(big))

    click(qtbot, view.verify_button)
    assert view.task_row.isVisibleTo(view) and view.task_label.text() == "Verifying big.gguf…"
    assert not view.delete_button.isEnabled()
    click(qtbot, view.task_cancel)

    qtbot.waitUntil(lambda: not view.task_row.isVisibleTo(view), timeout=TIMEOUT_MS)
    assert dialog.error_label.text() == "Verifying big.gguf: cancelled."
    assert view.row_texts(str(big))["Verification"] == "unverified"
    assert view.delete_button.isEnabled()
