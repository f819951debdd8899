"""The model manager window, with the real core, the fake hub on loopback and tiny GGUF files."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.config.settings import Settings, load_settings
from app.hardware.probe import MachineProfile, probe_machine
from app.models.catalog import CatalogEntry, CatalogFile, load_catalog
from app.models.downloads import DownloadOptions, DownloadProgress
from app.models.transfer import RetryPolicy
from app.models.ui.manager import ModelManagerDialog
from tests.helpers import tiny_gguf
from tests.helpers.fake_hub import COMMIT, FakeHub, Fault, point_hub_client_at, random_bytes
from tests.helpers.hardware_profiles import PROFILES, readers_for
from tests.helpers.speed import small_measurement

REPO = "TheBloke/tiny-coder-GGUF"
FAST = DownloadOptions(
    retry=RetryPolicy(stall_seconds=1.0, max_attempts=3, backoff_base=0.05, backoff_max=0.2),
    disk_margin_bytes=0,
    progress_interval=0.0,
)
TIMEOUT_MS = 20_000
BASE_ENTRY = "deepseek-coder-1.3b-instruct:Q4_K_M"

MakeDialog = Callable[..., ModelManagerDialog]


def hub_entry(
    hub: FakeHub, filename: str, data: bytes, *, catalog_size: int | None = None, base: str = BASE_ENTRY
) -> CatalogEntry:
    """A catalog-like entry (the real 1.3B entry's shape) whose file the fake hub serves."""
    hub.add_file(REPO, filename, data)
    stem = filename.removesuffix(".gguf")
    return dataclasses.replace(
        load_catalog().get(base),
        id=f"{stem}:Q4_K_M",
        variant=stem,
        repo=REPO,
        revision=COMMIT,
        files=(CatalogFile(filename, catalog_size or len(data), None),),
        size_exact=True,
    )


def machine(name: str) -> Callable[[Path], MachineProfile]:
    return lambda models_dir: probe_machine(models_dir, readers_for(PROFILES[name]))


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    with FakeHub() as server:
        point_hub_client_at(server, monkeypatch)
        yield server


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "models"
    folder.mkdir()
    return folder


@pytest.fixture
def make_dialog(qtbot, models_dir: Path) -> Iterator[MakeDialog]:  # type: ignore[no-untyped-def]
    made: list[ModelManagerDialog] = []

    def make(
        entries: list[CatalogEntry] | None = None,
        *,
        profile: str = "laptop_16gb",
        prober: Callable[[Path], MachineProfile] | None = None,
    ) -> ModelManagerDialog:
        dialog = ModelManagerDialog(
            Settings(models_dir=str(models_dir)),
            catalog=entries or [],
            prober=prober or machine(profile),
            download_options=FAST,
            speed_measurer=small_measurement,
        )
        qtbot.addWidget(dialog)
        made.append(dialog)
        with qtbot.waitSignals([dialog.libraryRefreshed, dialog.planReady], timeout=TIMEOUT_MS):
            pass
        return dialog

    yield make
    for dialog in made:
        dialog.shutdown()


def click(qtbot, button) -> None:  # type: ignore[no-untyped-def]
    assert button.isEnabled(), button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def refreshed(qtbot, dialog: ModelManagerDialog, condition: Callable[[], bool]) -> None:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(condition, timeout=TIMEOUT_MS)


def started_downloading(job_id: int, progress: DownloadProgress) -> bool:
    return progress.phase == "downloading" and progress.done_bytes > 0


# -- downloads ---------------------------------------------------------------------------------
def test_a_download_shows_progress_and_ends_installed(
    qtbot, hub: FakeHub, models_dir: Path, make_dialog, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    data = tiny_gguf.write_tiny_gguf(tmp_path / "tiny-coder.gguf").read_bytes()
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


# -- the machine and the plan -------------------------------------------------------------------
def test_fit_and_recommendation_come_from_the_planner_off_the_gui_thread(qtbot, make_dialog) -> None:  # type: ignore[no-untyped-def]
    catalog = load_catalog()
    entries = [catalog.get("deepseek-coder-1.3b-instruct:Q4_K_M"), catalog.get("deepseek-coder-33b-instruct:Q8_0")]
    threads: list[str] = []

    def prober(models_dir: Path) -> MachineProfile:
        threads.append(threading.current_thread().name)
        return machine("laptop_8gb")(models_dir)

    dialog = make_dialog(entries, prober=prober)

    assert threads and threads[0].startswith("machine-plan") and threads[0] != threading.main_thread().name
    fit = dialog.catalog_view.fit(entries[0].id)
    assert fit.startswith("CPU only, ") and fit.endswith(" context  ★ recommended")
    assert dialog.catalog_view.recommendation_label.text() == f"Recommended for chat: {dialog.plan.reason}"
    assert dialog.catalog_view.fit(entries[1].id).startswith("does not fit: needs ")
    assert "GB of RAM" in dialog.catalog_view.fit(entries[1].id)
    assert dialog.plan is not None and dialog.plan.reason in dialog.machine_panel.recommendation_label.text()
    assert dialog.recommend_button.text() == f"Download recommended: {entries[0].id}"
    dialog.catalog_view.filter_edit.setText("33b q8")
    assert dialog.catalog_view.visible_ids() == [entries[1].id]


def test_download_recommended_starts_the_recommended_entry(qtbot, hub: FakeHub, tmp_path: Path, make_dialog) -> None:  # type: ignore[no-untyped-def]
    entry = hub_entry(hub, "tiny-rec.gguf", tiny_gguf.write_tiny_gguf(tmp_path / "r.gguf").read_bytes())
    dialog = make_dialog([entry])
    assert dialog.plan is not None and dialog.plan.recommendation is not None
    with qtbot.waitSignal(dialog.downloads.worker.finished, timeout=TIMEOUT_MS):
        click(qtbot, dialog.recommend_button)
    refreshed(qtbot, dialog, lambda: dialog.recommend_button.text().endswith("(installed)"))
    assert not dialog.recommend_button.isEnabled()


def test_every_catalog_row_shows_its_speed_on_this_machine(qtbot, make_dialog) -> None:  # type: ignore[no-untyped-def]
    entries = list(load_catalog().entries)
    dialog = make_dialog(entries, profile="unusable_gpu_32gb")
    speeds = {entry.id: dialog.catalog_view.speed(entry.id) for entry in entries}
    fits = {f.entry.id: f for f in dialog.plan.fits}
    for entry in entries:
        if fits[entry.id].fits:
            expected = "tok/s · 2K question" if entry.serves_chat else "ghost text"
            assert expected in speeds[entry.id], entry.id
        else:
            assert speeds[entry.id] == "–"
    rec = dialog.plan.recommendation
    assert speeds[rec.entry.id].startswith(f"{rec.speed.decode_tokens_per_s:.0f} tok/s")
    label = dialog.catalog_view.recommendation_label.text()
    assert dialog.plan.alternative_reason and dialog.plan.alternative_reason in label  # the bigger, slower one


def test_an_unmeasured_machine_is_measured_once_and_planned_again(qtbot, make_dialog) -> None:  # type: ignore[no-untyped-def]
    unmeasured = lambda models_dir: dataclasses.replace(machine("laptop_16gb")(models_dir), machine_speed=None)  # noqa: E731
    entry = load_catalog().get("deepseek-coder-1.3b-instruct:Q4_K_M")
    dialog = make_dialog([entry], prober=unmeasured)
    panel = dialog.machine_panel
    if dialog.machine.machine.machine_speed is None:  # the first plan, with typical speeds
        assert dialog.plan.recommendation.speed.source == "assumed"
        with qtbot.waitSignal(dialog.planReady, timeout=TIMEOUT_MS * 3):
            pass
    speed = dialog.machine.machine.machine_speed
    assert speed is not None and speed.measured_at and speed.cpu_decode_bytes_per_s > 0
    assert dialog.plan.recommendation.speed.source == "predicted"
    assert panel.speed_label.text().startswith("Speed: CPU ") and "measured " in panel.speed_label.text()
    assert panel.measure_button.isEnabled()

    fractions: list[float] = []
    dialog.machine.measuring.connect(fractions.append)
    with qtbot.waitSignal(dialog.planReady, timeout=TIMEOUT_MS * 3):
        click(qtbot, panel.measure_button)  # "Measure again"
        assert not panel.measure_button.isEnabled() and "Measuring this machine" in panel.speed_label.text()
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert dialog.machine.machine.machine_speed != speed  # a new measurement (a new time, new figures)


# -- the installed models ---------------------------------------------------------------------
def test_installed_models_show_their_gguf_metadata(qtbot, models_dir: Path, make_dialog) -> None:  # type: ignore[no-untyped-def]
    v1 = tiny_gguf.write_tiny_gguf(models_dir / "tiny-v1.gguf", tiny_gguf.TINY)
    plain = tiny_gguf.write_tiny_gguf(models_dir / "tiny-plain.gguf", tiny_gguf.TINY_NO_FIM)
    dialog = make_dialog()

    row = dialog.installed_view.row_texts(str(v1))
    assert row["File"] == "tiny-v1.gguf" and row["Architecture"] == "llama"
    assert row["Parameters"] == "132.3 K" and row["Quant"] == "F32" and row["Context"] == "4096"
    assert row["Chat template"] == "yes" and row["FIM"] == "yes"
    assert row["Size"] == "540.6 KB" and row["Verification"] == "unverified"
    plain_row = dialog.installed_view.row_texts(str(plain))
    assert plain_row["Chat template"] == "no" and plain_row["FIM"] == "no"


def test_use_for_chat_writes_the_setting_and_emits_model_chosen(qtbot, models_dir: Path, make_dialog) -> None:  # type: ignore[no-untyped-def]
    v1 = tiny_gguf.write_tiny_gguf(models_dir / "tiny-v1.gguf", tiny_gguf.TINY)
    plain = tiny_gguf.write_tiny_gguf(models_dir / "tiny-plain.gguf", tiny_gguf.TINY_NO_FIM)
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
    v1 = tiny_gguf.write_tiny_gguf(models_dir / "tiny-v1.gguf", tiny_gguf.TINY)
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
    source = tiny_gguf.write_tiny_gguf(tmp_path / "outside.gguf", tiny_gguf.TINY_V2)
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
