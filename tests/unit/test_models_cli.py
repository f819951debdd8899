"""`dscoder models ...` as a person or a script runs it."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main
from app.commands.progress import PhaseProgress
from app.config.settings import Settings, save_settings
from app.models.download.hub import HubConfig
from app.models.download.job import DownloadJob, DownloadProgress, DownloadSpec
from app.models.synthetic.tiny import write_tiny_gguf
from tests.helpers.fake_hub import FakeHub, hub_environment, random_bytes
from tests.helpers.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
REPO = "TheBloke/tiny-coder-GGUF"
FILE = "tiny-coder.Q4_K_M.gguf"


def models_dir() -> Path:
    return Settings().resolved_models_dir()


def test_download_prints_the_installed_path_last(hub: FakeHub, capsys: pytest.CaptureFixture[str]) -> None:
    data = random_bytes(300_000)
    hub.add_file(REPO, FILE, data)

    assert main(["models", "download", "--repo", REPO, "--file", FILE]) == 0

    out, err = capsys.readouterr()
    path = Path(out.strip().splitlines()[-1])
    assert path.read_bytes() == data
    assert path.is_relative_to(models_dir())
    # stderr is not a terminal here: one line per phase, each with its final state.
    lines = [line.strip("\r") for line in err.splitlines()]
    downloading = [line for line in lines if line.startswith(f"downloading {FILE}")]
    verifying = [line for line in lines if line.startswith(f"verifying {FILE}")]
    assert len(downloading) == 1 and len(verifying) == 1, err
    assert "100%" in downloading[0] and "300k/300k" in downloading[0]
    assert err.count("\r") <= len(lines)  # no in-place redraws in a log


def test_download_with_a_wrong_sha256_fails_with_exit_1(hub: FakeHub, capsys: pytest.CaptureFixture[str]) -> None:
    hub.add_file(REPO, FILE, random_bytes(1000))

    assert main(["models", "download", "--repo", REPO, "--file", FILE, "--sha256", "f" * 64]) == 1

    err = capsys.readouterr().err
    assert "not the expected file" in err and "nothing was installed" in err


def test_download_of_a_missing_file_fails_with_a_clear_message(
    hub: FakeHub, capsys: pytest.CaptureFixture[str]
) -> None:
    hub.add_file(REPO, FILE, random_bytes(1000))

    assert main(["models", "download", "--repo", REPO, "--file", "nope.gguf"]) == 1

    assert "nope.gguf was not found in TheBloke/tiny-coder-GGUF" in capsys.readouterr().err


def test_offline_setting_refuses_without_any_request(hub: FakeHub, capsys: pytest.CaptureFixture[str]) -> None:
    hub.add_file(REPO, FILE, random_bytes(1000))
    save_settings(Settings(hub_offline=True))

    assert main(["models", "download", "--repo", REPO, "--file", FILE]) == 1
    assert main(["models", "download", "deepseek-coder-6.7b-instruct:Q4_K_M"]) == 1

    assert "offline mode is on" in capsys.readouterr().err
    assert hub.requests == []


def test_an_unknown_catalog_id_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "download", "deepseek-coder-6.7b-instruct:Q4_K_Z"]) == 1
    assert "deepseek-coder-6.7b-instruct:Q4_K_M" in capsys.readouterr().err  # it suggests the right one


def test_download_needs_a_target(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "download"]) == 1
    assert "--repo and --file" in capsys.readouterr().err


def test_catalog_json_lists_every_entry_with_its_status(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "catalog", "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    ids = {e["id"] for e in entries}
    assert "deepseek-coder-6.7b-instruct:Q4_K_M" in ids
    assert {e["status"] for e in entries} == {"available"}


def test_import_list_verify_remove(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = write_tiny_gguf(tmp_path / "mine.gguf")

    assert main(["models", "import", str(source)]) == 0
    imported = Path(capsys.readouterr().out.strip().splitlines()[-1])
    assert imported.parent == models_dir() / "imported"

    assert main(["models", "list", "--json"]) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert listed["name"] == "mine.gguf" and listed["state"] == "unverified" and listed["architecture"] == "llama"

    assert main(["models", "verify", "mine.gguf", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["state"] == "hashed"

    assert main(["models", "remove", "mine.gguf"]) == 0
    assert capsys.readouterr().out.startswith("Deleted ")
    assert not imported.exists() and source.exists()
    assert main(["models", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_verify_of_a_damaged_download_exits_1(hub: FakeHub, capsys: pytest.CaptureFixture[str]) -> None:
    hub.add_file(REPO, FILE, random_bytes(5000))
    assert main(["models", "download", "--repo", REPO, "--file", FILE]) == 0
    path = Path(capsys.readouterr().out.strip().splitlines()[-1])
    path.write_bytes(random_bytes(5000, seed=1))

    assert main(["models", "verify", str(path)]) == 1

    assert "does not match its expected sha256" in capsys.readouterr().err


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_on_a_terminal_shows_percent_sizes_and_a_bar_per_phase() -> None:
    stream = Terminal()
    progress = PhaseProgress(stream)

    progress(DownloadProgress("checking", FILE, 0, 0))
    progress(DownloadProgress("downloading", FILE, 2_500_000, 10_000_000))
    progress(DownloadProgress("downloading", FILE, 10_000_000, 10_000_000))
    progress(DownloadProgress("verifying", FILE, 5_000_000, 10_000_000))
    progress.close()

    text = stream.getvalue()
    assert "checking" not in text  # a moment, not a byte count
    assert f"downloading {FILE}: 100%" in text and "10.0M/10.0M" in text
    assert f"verifying {FILE}:  50%" in text and "5.00M/10.0M" in text
    assert text.endswith("\n") and text.count("\n") == 2  # each phase's bar stays on its own line


@pytest.mark.slow
def test_a_killed_download_resumes_from_its_partial_file(hub: FakeHub) -> None:
    data = random_bytes(4_000_000, seed=11)
    hub.add_file(REPO, FILE, data)
    hub.rate_bps = 1_000_000  # slow enough to kill it half way
    command = [sys.executable, "-m", "app", "models", "download", "--repo", REPO, "--file", FILE]
    env = hub_environment(hub)
    partial = DownloadJob(DownloadSpec.for_repo_file(REPO, FILE), models_dir(), HubConfig("", None, True)).partial_path(
        FILE
    )

    first = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(
            lambda: first.poll() is not None or (partial.exists() and partial.stat().st_size >= 800_000),
            timeout=60,
            what="the download getting going",
        )
        assert first.poll() is None, "the download ended before it could be killed"
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
    kept = partial.stat().st_size
    assert 0 < kept < len(data)

    hub.rate_bps = None
    hub.reset_counters()
    second = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)

    assert second.returncode == 0, second.stderr
    installed = Path(second.stdout.strip().splitlines()[-1])
    assert installed.read_bytes() == data
    [resumed] = hub.file_requests()
    assert resumed.range == f"bytes={kept}-"
    assert resumed.served == len(data) - kept  # only the missing part was fetched
    assert not partial.exists()
