"""The model manager in tests: a dialog on a recorded machine, catalog entries the fake hub serves.

Fixtures (`hub`, `models_dir`, `make_dialog`) are imported by the model manager's test modules.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.config.settings import Settings
from app.hardware.probe import MachineProfile, probe_machine
from app.models.catalog import CatalogEntry, CatalogFile, load_catalog
from app.models.download.job import DownloadOptions, DownloadProgress
from app.models.download.transfer import RetryPolicy
from app.models.ui.manager import ModelManagerDialog
from tests.helpers.fake_hub import COMMIT, FakeHub
from tests.helpers.hardware_profiles import PROFILES, readers_for
from tests.helpers.machine_speed import small_measurement

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
