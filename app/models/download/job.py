"""Download a model from the hub, verify it, and only then install it.

A `DownloadJob` takes one model (one file, a set of llama.cpp split shards, or
byte-split `.partXofY` pieces), fetches every file into a partial file under
`<models>/.downloads/`, checks each file's size and sha256, and only then moves it
to its final name under `<models>/<owner>/<repo>/`. Nothing unverified ever gets a
final name: a file whose sha256 is unknown is refused before the first byte, and a
file that does not match is deleted.

The job is Qt-free and blocking: run it in a worker thread (a QThread worker or the
`DownloadQueue`). Progress arrives through a callback; `pause()` and `cancel()` are
safe to call from any thread. `run()` returns an `InstallResult` or raises
`DscoderError` (`PausedError` and `CancelledError` for the user's own stops).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path

from filelock import FileLock, Timeout

from app.models import verify
from app.models.download.hub import HubConfig, remote_files
from app.models.download.spec import (
    CONCAT_PIECE,
    SPLIT_SHARD,
    DownloadOptions,
    DownloadProgress,
    DownloadSpec,
    InstallResult,
    JobState,
    ProgressCallback,
    SpecFile,
    SpeedMeter,
    shard_set_names,
)
from app.models.download.transfer import FileSource, RetryPolicy, fetch_resumable
from app.models.manifest import VERIFIED, Manifest, record_for_file
from app.utils.errors import CancelledError, DscoderError
from app.utils.jobs import JobControl, PausedError

log = logging.getLogger(__name__)

DOWNLOADS_DIR = ".downloads"
PARTIAL_SUFFIX = ".incomplete"


class DownloadJob:
    """One model's download, verification and installation (see the module docstring)."""

    def __init__(
        self,
        spec: DownloadSpec,
        models_dir: Path,
        hub: HubConfig,
        *,
        options: DownloadOptions | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> None:
        self.spec = spec
        self.models_dir = models_dir
        self.hub = hub
        self.options = options or DownloadOptions()
        self.on_progress = on_progress
        self.control = JobControl()
        self.state = JobState.QUEUED
        self.result: InstallResult | None = None
        self.error: DscoderError | None = None
        self.last_progress: DownloadProgress | None = None
        self._last_emit = 0.0
        self._last_phase = ""

    # Control, from any thread.
    def pause(self) -> None:
        self.control.pause()

    def cancel(self, remove_partial: bool = False) -> None:
        self.control.cancel(remove_partial)

    @property
    def partial_dir(self) -> Path:
        owner_repo = self.spec.repo.replace("/", "--")
        return self.models_dir / DOWNLOADS_DIR / f"{owner_repo}--{self.spec.revision[:12]}"

    @property
    def install_dir(self) -> Path:
        return self.models_dir.joinpath(*self.spec.repo.split("/"))

    def partial_path(self, name: str) -> Path:
        return self.partial_dir / (Path(name).name + PARTIAL_SUFFIX)

    def final_paths(self) -> list[Path]:
        names = [Path(f.name).name for f in self.spec.files]
        if self.spec.join == "concat":
            match = CONCAT_PIECE.match(names[0])
            names = [match["stem"] if match else names[0] + ".joined"]
        return [self.install_dir / name for name in names]

    def run(self) -> InstallResult:
        """Blocking: download, verify, install. Safe to call again after a pause or failure."""
        self.control.reset()
        self.state, self.error = JobState.RUNNING, None
        try:
            self.result = self._run()
        except PausedError:
            self.state = JobState.PAUSED
            raise
        except CancelledError:
            self.state = JobState.CANCELLED
            if self.control.remove_partial:
                self.discard_partials()
            raise
        except DscoderError as exc:
            self.state, self.error = JobState.FAILED, exc
            raise
        self.state = JobState.DONE
        return self.result

    def partial_bytes(self) -> int:
        """Bytes already downloaded and kept for a resume (0 when nothing is pending)."""
        return sum(p.stat().st_size for f in self.spec.files if (p := self.partial_path(f.name)).exists())

    def discard_partials(self) -> None:
        for spec_file in self.spec.files:
            for path in self._partial_and_sidecar(spec_file.name):
                path.unlink(missing_ok=True)
        _remove_if_empty(self.partial_dir)
        _remove_if_empty(self.partial_dir.parent)

    # The work itself.
    def _run(self) -> InstallResult:
        installed = self._already_installed()
        if installed is not None:
            self._emit("done", installed.path.name, 1, 1, force=True)
            return installed
        self.hub.require_online(f"download {self.spec.label}")
        self._emit("checking", self.spec.files[0].name, 0, 0, force=True)
        files = self._with_hub_metadata()
        self.partial_dir.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.partial_dir / ".lock"))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            raise DscoderError(
                f"{self.spec.label} is already being downloaded by another dscoder window or command",
                "Wait for that download to finish, or stop it first",
            ) from None
        try:
            self._drop_foreign_partials(files)
            self._check_disk_space(files)
            self._download_all(files)
            hashes = self._verify_all(files)
            return self._install(files, hashes)
        finally:
            lock.release()
            (self.partial_dir / ".lock").unlink(missing_ok=True)
            _remove_if_empty(self.partial_dir)
            _remove_if_empty(self.partial_dir.parent)

    def _already_installed(self) -> InstallResult | None:
        """A verified copy of the same files already in place needs no network at all."""
        manifest = Manifest(self.models_dir)
        finals = self.final_paths()
        hashes: dict[str, str] = {}
        for index, path in enumerate(finals):
            record = manifest.get(path)
            if record is None or record.repo != self.spec.repo or record.state_for(path) != VERIFIED:
                return None
            if self.spec.join == "concat":
                if record.source_files != [f.name for f in self.spec.files]:
                    return None
                continue
            wanted = self.spec.files[index]
            if record.source_files != [wanted.name] or (wanted.sha256 and wanted.sha256 != record.expected_sha256):
                return None
            hashes[wanted.name] = record.sha256 or ""
        return InstallResult(finals[0], tuple(finals), hashes, already_installed=True, catalog_id=self.spec.catalog_id)

    def _with_hub_metadata(self) -> list[SpecFile]:
        """Sizes and sha256 from the hub's metadata for the pinned revision where the spec lacks them."""
        files = list(self.spec.files)
        unknown = [f.name for f in files if f.size is None or f.sha256 is None]
        if unknown:
            remote = remote_files(self.hub, self.spec.repo, unknown, self.spec.revision)
            files = [
                SpecFile(
                    f.name, f.size if f.size is not None else remote[f.name].size, f.sha256 or remote[f.name].sha256
                )
                if f.name in remote
                else f
                for f in files
            ]
        for f in files:
            if not f.sha256:
                raise DscoderError(
                    f"The hub gives no sha256 for {f.name} in {self.spec.repo}, so the file cannot be checked "
                    "and will not be installed",
                    "Pass the file's known hash with --sha256, or download a file stored with Git LFS",
                )
        return files

    def _partial_and_sidecar(self, name: str) -> tuple[Path, Path]:
        partial = self.partial_path(name)
        return partial, partial.with_name(partial.name + ".json")

    def _drop_foreign_partials(self, files: Sequence[SpecFile]) -> None:
        """A partial is resumed only when its sidecar names the very same file (same hash and size)."""
        for f in files:
            partial, sidecar = self._partial_and_sidecar(f.name)
            wanted = {
                "repo": self.spec.repo,
                "revision": self.spec.revision,
                "file": f.name,
                "sha256": f.sha256,
                "size": f.size,
            }
            try:
                same = json.loads(sidecar.read_text(encoding="utf-8")) == wanted
            except (OSError, ValueError):
                same = False
            if not same:
                partial.unlink(missing_ok=True)
                sidecar.write_text(json.dumps(wanted), encoding="utf-8")

    def _check_disk_space(self, files: Sequence[SpecFile]) -> None:
        total = sum(f.size or 0 for f in files)
        needed = total - self.partial_bytes() + self.options.disk_margin_bytes
        if self.spec.join == "concat":
            needed += total  # the joined file exists next to its pieces until they are removed
        verify.require_free_space(self.models_dir, needed, self.spec.label)

    def _download_all(self, files: Sequence[SpecFile]) -> None:
        total = sum(f.size or 0 for f in files)
        meter = SpeedMeter()
        done_before = 0
        for f in files:
            size = f.size or 0

            def on_position(position: int, done_before: int = done_before, name: str = f.name) -> None:
                done = done_before + position
                speed = meter.add(done)
                eta = (total - done) / speed if speed else None
                self._emit("downloading", name, done, total, speed, eta)

            partial = self.partial_path(f.name)
            if partial.exists():
                on_position(partial.stat().st_size)
            fetch_resumable(
                self.hub,
                FileSource(self.spec.repo, self.spec.revision, f.name),
                partial,
                expected_size=size,
                control=self.control,
                on_position=on_position,
                policy=self.options.retry,
            )
            done_before += size
        self._emit("downloading", files[-1].name, total, total, force=True)

    def _verify_all(self, files: Sequence[SpecFile]) -> dict[str, str]:
        total = sum(f.size or 0 for f in files)
        hashed_before = 0
        hashes: dict[str, str] = {}
        for f in files:
            partial, sidecar = self._partial_and_sidecar(f.name)
            actual_size = partial.stat().st_size
            if actual_size != f.size:
                self._refuse(f, partial, sidecar, f"its size is {actual_size} bytes instead of {f.size}")

            def on_hash(done: int, _total: int, before: int = hashed_before, name: str = f.name) -> None:
                self._emit("verifying", name, before + done, total)

            digest = verify.sha256_file(partial, progress=on_hash, control=self.control)
            if digest != f.sha256:
                self._refuse(f, partial, sidecar, f"its sha256 is {digest}, expected {f.sha256}")
            hashes[f.name] = digest
            hashed_before += f.size or 0
        return hashes

    def _refuse(self, f: SpecFile, partial: Path, sidecar: Path, why: str) -> None:
        partial.unlink(missing_ok=True)
        sidecar.unlink(missing_ok=True)
        raise DscoderError(
            f"The downloaded {f.name} from {self.spec.repo} is not the expected file: {why}. "
            "It was deleted and nothing was installed",
            "Run the download again; if this repeats, the hub or mirror (HF_ENDPOINT) serves a different file",
        )

    def _install(self, files: Sequence[SpecFile], hashes: dict[str, str]) -> InstallResult:
        total = sum(f.size or 0 for f in files)
        self._emit("installing", files[0].name, total, total, force=True)
        self.install_dir.mkdir(parents=True, exist_ok=True)
        manifest = Manifest(self.models_dir)
        finals = self.final_paths()
        common = {
            "origin": "download",
            "repo": self.spec.repo,
            "revision": self.spec.revision,
            "catalog_id": self.spec.catalog_id,
        }
        if self.spec.join == "concat":
            joined_hash = self._join_pieces(files, finals[0])
            manifest.put(
                finals[0],
                record_for_file(
                    finals[0],
                    sha256=joined_hash,
                    expected_sha256=joined_hash,
                    source_files=[f.name for f in files],
                    **common,
                ),
            )
        else:
            keys = [manifest.key(path) for path in finals]
            for f, final in zip(files, finals, strict=False):
                partial, sidecar = self._partial_and_sidecar(f.name)
                os.replace(partial, final)
                sidecar.unlink(missing_ok=True)
                shards = keys if self.spec.join == "split" and final == finals[0] else []
                record = record_for_file(
                    final,
                    sha256=hashes[f.name],
                    expected_sha256=f.sha256,
                    source_files=[f.name],
                    shards=shards,
                    **common,
                )
                manifest.put(final, record)
        self._emit("done", finals[0].name, total, total, force=True)
        return InstallResult(finals[0], tuple(finals), hashes, catalog_id=self.spec.catalog_id)

    def _join_pieces(self, files: Sequence[SpecFile], final: Path) -> str:
        """Concatenate verified pieces; the joined file's hash is taken while writing it."""
        joining = final.with_name(final.name + ".joining")
        digest = hashlib.sha256()
        try:
            with joining.open("wb") as out:
                for f in files:
                    with self.partial_path(f.name).open("rb", buffering=0) as piece:
                        while block := piece.read(verify.HASH_BLOCK):
                            out.write(block)
                            digest.update(block)
            os.replace(joining, final)
        except BaseException:
            joining.unlink(missing_ok=True)
            raise
        for f in files:
            for path in self._partial_and_sidecar(f.name):
                path.unlink(missing_ok=True)
        return digest.hexdigest()

    def _emit(
        self,
        phase: str,
        filename: str,
        done: int,
        total: int,
        speed: float | None = None,
        eta: float | None = None,
        *,
        force: bool = False,
    ) -> None:
        progress = DownloadProgress(phase, filename, done, total, speed, eta)
        self.last_progress = progress
        now = time.monotonic()
        force = force or phase != self._last_phase
        if self.on_progress is None or (not force and now - self._last_emit < self.options.progress_interval):
            return
        self._last_emit, self._last_phase = now, phase
        self.on_progress(progress)


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass


__all__ = [
    "CONCAT_PIECE",
    "SPLIT_SHARD",
    "DownloadJob",
    "DownloadOptions",
    "DownloadProgress",
    "DownloadSpec",
    "InstallResult",
    "JobState",
    "ProgressCallback",
    "RetryPolicy",
    "SpecFile",
    "shard_set_names",
]
