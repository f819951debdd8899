"""Downloads against a loopback fake hub, through the real huggingface_hub."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from app.config.settings import Settings
from app.models import verify
from app.models.download.hub import HubConfig
from app.models.download.job import DownloadJob, DownloadOptions, DownloadProgress, DownloadSpec, JobState, SpecFile
from app.models.download.queue import DownloadQueue
from app.models.download.transfer import RetryPolicy
from app.models.manifest import VERIFIED, Manifest
from app.utils.errors import CancelledError, DscoderError
from app.utils.jobs import PausedError
from tests.helpers.fake_hub import FakeHub, Fault, random_bytes

REPO = "TheBloke/tiny-coder-GGUF"
FILE = "tiny-coder.Q4_K_M.gguf"
SIZE = 1_500_000
FAST = DownloadOptions(
    retry=RetryPolicy(stall_seconds=1.0, max_attempts=3, backoff_base=0.05, backoff_max=0.2),
    disk_margin_bytes=0,
    progress_interval=0.0,
)


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    return tmp_path / "models"


def make_job(
    models_dir: Path, spec: DownloadSpec | None = None, *, settings: Settings | None = None, **kwargs: object
) -> DownloadJob:
    spec = spec or DownloadSpec.for_repo_file(REPO, FILE)
    return DownloadJob(spec, models_dir, HubConfig.from_settings(settings or Settings()), options=FAST, **kwargs)  # type: ignore[arg-type]


def installed_ggufs(models_dir: Path) -> list[Path]:
    return [p for p in models_dir.rglob("*.gguf")] if models_dir.exists() else []


def test_download_installs_the_verified_file_and_records_it(hub: FakeHub, models_dir: Path) -> None:
    data = random_bytes(SIZE)
    hub.add_file(REPO, FILE, data)
    phases: list[str] = []

    result = make_job(models_dir, on_progress=lambda p: phases.append(p.phase)).run()

    assert result.path == models_dir / "TheBloke" / "tiny-coder-GGUF" / FILE
    assert result.path.read_bytes() == data
    record = Manifest(models_dir).get(result.path)
    assert record is not None and record.state_for(result.path) == VERIFIED
    assert record.repo == REPO and record.expected_sha256 == record.sha256
    assert phases.index("downloading") < phases.index("verifying") < phases.index("installing") < phases.index("done")
    assert not (models_dir / ".downloads").exists()


def test_progress_reports_bytes_speed_and_eta(hub: FakeHub, models_dir: Path) -> None:
    hub.add_file(REPO, FILE, random_bytes(SIZE))
    hub.rate_bps = 3_000_000
    seen: list[DownloadProgress] = []

    make_job(models_dir, on_progress=seen.append).run()

    downloading = [p for p in seen if p.phase == "downloading"]
    assert downloading[-1].done_bytes == downloading[-1].total_bytes == SIZE
    assert [p.done_bytes for p in downloading] == sorted(p.done_bytes for p in downloading)
    assert any(p.speed_bps and p.eta_seconds is not None for p in downloading)


def test_dropped_connection_resumes_byte_exact(hub: FakeHub, models_dir: Path) -> None:
    data = random_bytes(SIZE, seed=2)
    hub.add_file(REPO, FILE, data)
    hub.add_fault(Fault("drop", at_byte=600_000))

    result = make_job(models_dir).run()

    assert result.path.read_bytes() == data
    ranges = [r.range for r in hub.file_requests()]
    assert ranges == [None, "bytes=600000-"]
    assert hub.served_bytes == SIZE  # nothing fetched twice


def test_stall_reconnects_and_resumes(hub: FakeHub, models_dir: Path) -> None:
    data = random_bytes(SIZE, seed=3)
    hub.add_file(REPO, FILE, data)
    hub.add_fault(Fault("stall", at_byte=400_000, seconds=30))  # far beyond the 1 s stall threshold

    result = make_job(models_dir).run()

    assert result.path.read_bytes() == data
    assert [r.range for r in hub.file_requests()] == [None, "bytes=400000-"]


def test_wrong_bytes_are_refused_and_nothing_is_installed(hub: FakeHub, models_dir: Path) -> None:
    hub.add_file(REPO, FILE, random_bytes(SIZE))
    hub.add_fault(Fault("wrong_bytes", times=-1))

    with pytest.raises(DscoderError, match="not the expected file") as caught:
        make_job(models_dir).run()

    assert "sha256" in str(caught.value) and "deleted" in str(caught.value)
    assert installed_ggufs(models_dir) == []
    assert not list(models_dir.rglob("*.incomplete"))
    assert Manifest(models_dir).records() == {}


def test_a_wrong_expected_hash_is_refused(hub: FakeHub, models_dir: Path) -> None:
    hub.add_file(REPO, FILE, random_bytes(SIZE))
    spec = DownloadSpec.for_repo_file(REPO, FILE, sha256="0" * 64)

    with pytest.raises(DscoderError, match="not the expected file"):
        make_job(models_dir, spec).run()

    assert installed_ggufs(models_dir) == []


def test_a_file_without_a_hub_sha256_is_never_downloaded(hub: FakeHub, models_dir: Path) -> None:
    hub.add_file(REPO, FILE, random_bytes(1000), lfs=False)

    with pytest.raises(DscoderError, match="cannot be checked"):
        make_job(models_dir).run()

    assert hub.file_requests() == []
    assert installed_ggufs(models_dir) == []


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("missing_file", r"not-there\.gguf was not found in .*HTTP 404"),
        ("missing_repo", r"repository nobody/nothing was not found .*HTTP 404"),
        ("missing_file_metadata", r"not-there\.gguf was not found in TheBloke/tiny-coder-GGUF at revision main"),
        ("gated", r"refused access .*gated.*HF_TOKEN"),
        ("server_error", r"server error \(HTTP 500\)"),
    ],
)
def test_hub_errors_are_clear(hub: FakeHub, models_dir: Path, setup: str, message: str) -> None:
    hub.add_file(REPO, FILE, random_bytes(1000))
    spec = DownloadSpec.for_repo_file(REPO, FILE)
    if setup == "missing_file":
        spec = DownloadSpec(REPO, "main", (SpecFile("not-there.gguf", 1000, "a" * 64),))  # straight to GET
    elif setup == "missing_file_metadata":
        spec = DownloadSpec.for_repo_file(REPO, "not-there.gguf")
    elif setup == "missing_repo":
        spec = DownloadSpec.for_repo_file("nobody/nothing", FILE)
    elif setup == "gated":
        hub.required_token[REPO] = "secret"
    else:
        hub.add_fault(Fault("status", status=500, times=-1, methods=("GET", "HEAD", "POST")))

    with pytest.raises(DscoderError, match=message):
        make_job(models_dir, spec).run()

    assert installed_ggufs(models_dir) == []


def test_server_errors_during_the_transfer_are_retried_then_reported(hub: FakeHub, models_dir: Path) -> None:
    data = random_bytes(SIZE)
    entry = hub.add_file(REPO, FILE, data)
    hub.add_fault(Fault("status", status=503, times=2))
    spec = DownloadSpec(REPO, "main", (SpecFile(FILE, entry.size, entry.sha256),))

    assert make_job(models_dir, spec).run().path.read_bytes() == data  # two 503s, then it works

    hub.add_fault(Fault("status", status=500, times=-1))
    with pytest.raises(DscoderError, match=r"server error \(HTTP 500\).*3 times"):
        make_job(models_dir / "other", spec).run()


def test_hf_token_opens_a_gated_repo(hub: FakeHub, models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = random_bytes(2000)
    hub.add_file(REPO, FILE, data)
    hub.required_token[REPO] = "secret"
    monkeypatch.setenv("HF_TOKEN", "secret")

    assert make_job(models_dir).run().path.read_bytes() == data
    assert {r.authorization for r in hub.requests} == {"Bearer secret"}


def test_connection_lost_after_retries(hub: FakeHub, models_dir: Path) -> None:
    hub.add_file(REPO, FILE, random_bytes(SIZE))
    hub.add_fault(Fault("drop", at_byte=0, times=-1))

    with pytest.raises(DscoderError, match="Lost the connection .* gave up after 3 attempts"):
        make_job(models_dir).run()

    assert installed_ggufs(models_dir) == []


def test_not_enough_disk_is_refused_before_anything_downloads(
    hub: FakeHub, models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub.add_file(REPO, FILE, random_bytes(SIZE))
    monkeypatch.setattr(verify, "free_disk_bytes", lambda folder: 500_000)

    with pytest.raises(DscoderError, match=r"Not enough free disk space.*1\.0 MB is missing"):
        make_job(models_dir).run()

    assert hub.file_requests() == []
    assert not list(models_dir.rglob("*.incomplete"))


@pytest.mark.parametrize("switch", ["settings", "env"])
def test_offline_mode_makes_no_request(
    hub: FakeHub, models_dir: Path, monkeypatch: pytest.MonkeyPatch, switch: str
) -> None:
    hub.add_file(REPO, FILE, random_bytes(1000))
    settings = Settings(hub_offline=switch == "settings")
    if switch == "env":
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    with pytest.raises(DscoderError, match="offline"):
        make_job(models_dir, settings=settings).run()

    assert hub.requests == []


def test_a_verified_model_is_found_again_offline(hub: FakeHub, models_dir: Path) -> None:
    hub.add_file(REPO, FILE, random_bytes(SIZE))
    first = make_job(models_dir).run()
    hub.reset_counters()

    again = make_job(models_dir, settings=Settings(hub_offline=True)).run()

    assert again.already_installed and again.path == first.path
    assert hub.requests == []


def test_pause_keeps_the_partial_and_resume_continues_from_it(hub: FakeHub, models_dir: Path) -> None:
    data = random_bytes(SIZE, seed=5)
    hub.add_file(REPO, FILE, data)
    hub.rate_bps = 2_000_000

    def pause_early(progress: DownloadProgress) -> None:
        if progress.phase == "downloading" and progress.done_bytes >= 300_000:
            job.pause()

    job = make_job(models_dir, on_progress=pause_early)
    with pytest.raises(PausedError):
        job.run()
    assert job.state is JobState.PAUSED
    kept = job.partial_bytes()
    assert 300_000 <= kept < SIZE

    job.on_progress = None
    result = job.run()

    assert job.state is JobState.DONE
    assert result.path.read_bytes() == data
    assert hub.file_requests()[-1].range == f"bytes={kept}-"


def test_cancel_can_remove_the_partial_file(hub: FakeHub, models_dir: Path) -> None:
    hub.add_file(REPO, FILE, random_bytes(SIZE))
    hub.rate_bps = 2_000_000

    def cancel_early(progress: DownloadProgress) -> None:
        if progress.phase == "downloading" and progress.done_bytes > 100_000:
            job.cancel(remove_partial=True)

    job = make_job(models_dir, on_progress=cancel_early)
    with pytest.raises(CancelledError):
        job.run()

    assert job.state is JobState.CANCELLED
    assert job.partial_bytes() == 0
    assert not (models_dir / ".downloads").exists()
    assert installed_ggufs(models_dir) == []


def test_split_shards_download_as_one_set(hub: FakeHub, models_dir: Path) -> None:
    shards = {f"big/big-Q2_K-{i:05d}-of-00003.gguf": random_bytes(200_000, seed=i) for i in (1, 2, 3)}
    for name, data in shards.items():
        hub.add_file(REPO, name, data)

    result = make_job(models_dir, DownloadSpec.for_repo_file(REPO, "big/big-Q2_K-00001-of-00003.gguf")).run()

    assert result.path.name == "big-Q2_K-00001-of-00003.gguf"
    assert [p.read_bytes() for p in result.files] == list(shards.values())
    assert len(hub.file_requests()) == 3


def test_byte_split_parts_are_joined_after_verification(hub: FakeHub, models_dir: Path) -> None:
    parts = [random_bytes(300_000, seed=7), random_bytes(123_456, seed=8)]
    hub.add_file(REPO, "huge.Q8_0.gguf.part1of2", parts[0])
    hub.add_file(REPO, "huge.Q8_0.gguf.part2of2", parts[1])

    result = make_job(models_dir, DownloadSpec.for_repo_file(REPO, "huge.Q8_0.gguf.part2of2")).run()

    assert result.path.name == "huge.Q8_0.gguf"
    assert result.path.read_bytes() == parts[0] + parts[1]
    assert not list(models_dir.rglob("*part*"))
    record = Manifest(models_dir).get(result.path)
    assert record is not None and record.state_for(result.path) == VERIFIED


def test_a_partial_from_another_file_is_not_resumed(hub: FakeHub, models_dir: Path) -> None:
    data = random_bytes(SIZE, seed=9)
    hub.add_file(REPO, FILE, data)
    job = make_job(models_dir)
    job.partial_dir.mkdir(parents=True)
    job.partial_path(FILE).write_bytes(b"left over from some other download")

    assert job.run().path.read_bytes() == data
    assert [r.range for r in hub.file_requests()] == [None]


def test_queue_runs_jobs_one_at_a_time(hub: FakeHub, models_dir: Path) -> None:
    names = [f"model-{i}.Q4_K_M.gguf" for i in range(3)]
    for i, name in enumerate(names):
        hub.add_file(REPO, name, random_bytes(200_000, seed=i))
    hub.add_file(REPO, "broken.gguf", random_bytes(1000), lfs=False)
    running = 0
    most_running = 0
    events: list[tuple[str, str]] = []
    lock = threading.Lock()

    def listen(job: DownloadJob, event: str, payload: object) -> None:
        nonlocal running, most_running
        with lock:
            if event == "started":
                running += 1
                most_running = max(most_running, running)
            elif event in ("done", "failed", "paused", "cancelled"):
                running -= 1
            if event != "progress":
                events.append((job.spec.files[0].name, event))

    queue = DownloadQueue(max_parallel=1, on_event=listen)
    jobs = [queue.add(make_job(models_dir, DownloadSpec.for_repo_file(REPO, n))) for n in [*names, "broken.gguf"]]
    assert queue.wait(timeout=60)

    assert most_running == 1
    assert [j.state for j in jobs] == [JobState.DONE] * 3 + [JobState.FAILED]
    assert ("broken.gguf", "failed") in events
    assert all((models_dir / "TheBloke" / "tiny-coder-GGUF" / n).exists() for n in names)


def test_queue_cancels_a_waiting_job_without_running_it(hub: FakeHub, models_dir: Path) -> None:
    hub.add_file(REPO, FILE, random_bytes(SIZE))
    hub.add_file(REPO, "second.gguf", random_bytes(1000))
    hub.rate_bps = 3_000_000
    queue = DownloadQueue(max_parallel=1)
    first = queue.add(make_job(models_dir))
    second = queue.add(make_job(models_dir, DownloadSpec.for_repo_file(REPO, "second.gguf")))

    queue.cancel(second)
    assert queue.wait(timeout=60)

    assert first.state is JobState.DONE and second.state is JobState.CANCELLED
    assert not any("second.gguf" in r.path for r in hub.requests)
