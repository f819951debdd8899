"""The models on disk: what is there, what it is, whether it was verified.

The models folder (Settings.resolved_models_dir(), which obeys DSCODER_MODELS_DIR
and DSCODER_HOME) is scanned for GGUF files; each entry carries its GGUF header
metadata, its size and its verification state from the manifest. Imported files are
"unverified" until `verify_model` hashes them. Referenced imports stay where they
are; only files inside the models folder are ever deleted.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.config.settings import Settings, load_settings
from app.models import verify
from app.models.download.hub import HubConfig, HubRepo, search_gguf_repos
from app.models.download.job import DOWNLOADS_DIR, SPLIT_SHARD, DownloadJob, DownloadSpec, shard_set_names
from app.models.gguf import GgufInfo, read_gguf_info
from app.models.manifest import CHANGED, HASHED, MISMATCH, UNVERIFIED, VERIFIED, Manifest, ModelRecord, record_for_file
from app.utils.errors import DscoderError, ModelFileError
from app.utils.jobs import JobControl, Progress

log = logging.getLogger(__name__)

IMPORTED_DIR = "imported"
MISSING = "missing"  # a referenced file that is no longer there


@dataclass(frozen=True)
class InstalledModel:
    path: Path  # the file to load (first shard of a split set)
    files: tuple[Path, ...]
    size: int
    state: str  # verified, unverified, hashed, mismatch, changed, missing
    sha256: str | None
    expected_sha256: str | None
    origin: str  # download, import, reference or found (put there by hand)
    repo: str | None
    revision: str | None
    catalog_id: str | None
    info: GgufInfo | None
    info_error: str | None

    @property
    def name(self) -> str:
        return self.path.name

    def to_json(self) -> dict[str, Any]:
        info = self.info
        return {
            "name": self.name,
            "path": str(self.path),
            "files": [str(p) for p in self.files],
            "size": self.size,
            "state": self.state,
            "sha256": self.sha256,
            "expected_sha256": self.expected_sha256,
            "origin": self.origin,
            "repo": self.repo,
            "revision": self.revision,
            "catalog_id": self.catalog_id,
            "architecture": info.architecture if info else None,
            "parameter_count": info.parameter_count if info else None,
            "quant": info.quant if info else None,
            "context_length": info.context_length if info else None,
            "has_chat_template": bool(info.chat_template) if info else None,
            "has_fim": info.has_fim if info else None,
            "error": self.info_error,
        }


def models_dir_from(settings: Settings | None = None) -> Path:
    folder = (settings if settings is not None else load_settings()).resolved_models_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def scan_models(models_dir: Path | None = None, *, read_metadata: bool = True) -> list[InstalledModel]:
    """Every model in the folder (split sets as one entry), plus referenced imports."""
    models_dir = models_dir or models_dir_from()
    manifest = Manifest(models_dir)
    records = manifest.records()
    firsts: list[Path] = []
    for path in sorted(models_dir.rglob("*.gguf")):
        relative = path.relative_to(models_dir)
        if any(part.startswith(".") for part in relative.parts[:-1]) or not path.is_file():
            continue  # partial downloads and other hidden folders
        match = SPLIT_SHARD.match(path.name)
        if match and int(match["index"]) != 1:
            continue  # listed with its first shard
        firsts.append(path)
    for key, record in records.items():
        if record.origin == "reference" and Path(key).is_absolute():
            firsts.append(Path(key))
    return [_describe(path, manifest, records, read_metadata) for path in firsts]


def _describe(path: Path, manifest: Manifest, records: dict[str, ModelRecord], read_metadata: bool) -> InstalledModel:
    names, join = shard_set_names(path.name)
    files = tuple(path.with_name(name) for name in names) if join == "split" else (path,)
    record = records.get(manifest.key(path))
    if not path.exists():
        state = MISSING
    else:
        states = [(rec.state_for(p) if (rec := records.get(manifest.key(p))) else UNVERIFIED) for p in files]
        state = _worst(states)
    info: GgufInfo | None = None
    error: str | None = None
    if read_metadata and path.exists():
        try:
            info = read_gguf_info(path)
        except ModelFileError as exc:
            error = str(exc)
    return InstalledModel(
        path=path,
        files=files,
        size=sum(p.stat().st_size for p in files if p.exists()),
        state=state,
        sha256=record.sha256 if record else None,
        expected_sha256=record.expected_sha256 if record else None,
        origin=record.origin if record else "found",
        repo=record.repo if record else None,
        revision=record.revision if record else None,
        catalog_id=record.catalog_id if record else None,
        info=info,
        info_error=error,
    )


def _worst(states: Iterable[str]) -> str:
    order = [MISMATCH, CHANGED, UNVERIFIED, HASHED, VERIFIED]
    found = set(states)
    return next((state for state in order if state in found), UNVERIFIED)


def catalog_status(entry: Any, models: Iterable[InstalledModel], models_dir: Path) -> str:
    """One word for a catalog entry: its installed model's state, "partial" or "available"."""
    for model in models:
        if model.catalog_id == entry.id or model.name == entry.local_file_name:
            return model.state
    job = DownloadJob(DownloadSpec.from_catalog_entry(entry), models_dir, HubConfig("", None, True))
    return "partial" if job.partial_bytes() else "available"


def installed_paths(entries: Iterable[Any], models: Iterable[InstalledModel]) -> dict[str, str]:
    """Catalog id -> the file its installed model loads from (entries matched as `catalog_status` does)."""
    found: dict[str, str] = {}
    models = [m for m in models if m.state != MISSING]
    for entry in entries:
        model = next((m for m in models if m.catalog_id == entry.id or m.name == entry.local_file_name), None)
        if model is not None:
            found[entry.id] = str(model.path)
    return found


def find_model(query: str, models_dir: Path | None = None) -> InstalledModel:
    """A model by path, file name, manifest key or catalog id."""
    models_dir = models_dir or models_dir_from()
    models = scan_models(models_dir, read_metadata=False)
    wanted = Path(query).expanduser()
    for model in models:
        candidates = {str(model.path), model.name, model.catalog_id or ""}
        if query in candidates or (wanted.exists() and any(wanted.resolve() == p.resolve() for p in model.files)):
            return _describe(model.path, Manifest(models_dir), Manifest(models_dir).records(), True)
    raise DscoderError(
        f"No installed model matches {query!r} in {models_dir}",
        "See the installed models with `dscoder models list`",
    )


def reference_sha256(path: Path, record: ModelRecord | None) -> str | None:
    """The hash a file must have: from its download record, else from the catalog by name and size."""
    if record is not None and record.expected_sha256:
        return record.expected_sha256
    from app.models.catalog import load_catalog

    size = path.stat().st_size
    for entry in load_catalog().entries:
        for catalog_file in entry.files:
            if Path(catalog_file.name).name == path.name and catalog_file.sha256 and catalog_file.size in (None, size):
                return str(catalog_file.sha256)
    return None


def verify_model(
    path: Path,
    models_dir: Path | None = None,
    *,
    progress: Progress | None = None,
    control: JobControl | None = None,
) -> InstalledModel:
    """Hash every file of the model again and record the result (run it off the GUI thread)."""
    models_dir = models_dir or models_dir_from()
    model = find_model(str(path), models_dir)
    if model.state == MISSING:
        raise ModelFileError(f"The model file {model.path} is gone", "Remove it from the library, or import it again")
    manifest = Manifest(models_dir)
    total = model.size
    before = 0
    for file in model.files:
        record = manifest.get(file)
        expected = reference_sha256(file, record)

        def on_hash(done: int, _total: int, offset: int = before) -> None:
            if progress is not None:
                progress(offset + done, total)

        digest = verify.sha256_file(file, progress=on_hash, control=control)
        before += file.stat().st_size
        values: dict[str, Any] = {"sha256": digest, "expected_sha256": expected}
        if record is not None:
            values.update(
                origin=record.origin,
                repo=record.repo,
                revision=record.revision,
                source_files=record.source_files,
                catalog_id=record.catalog_id,
                shards=record.shards,
            )
        else:
            values["origin"] = "found"
        manifest.put(file, record_for_file(file, **values))
    return find_model(str(model.path), models_dir)


def import_model(
    source: Path,
    models_dir: Path | None = None,
    *,
    reference: bool = False,
    progress: Progress | None = None,
    control: JobControl | None = None,
) -> InstalledModel:
    """Add a local GGUF: copied into `<models>/imported/`, or referenced where it is."""
    models_dir = models_dir or models_dir_from()
    source = source.expanduser().absolute()
    read_gguf_info(source)  # refuses what is not a readable GGUF before anything is copied
    names, join = shard_set_names(source.name)
    sources = [source.with_name(name) for name in names] if join == "split" else [source]
    missing = [p for p in sources if not p.exists()]
    if missing:
        raise ModelFileError(
            f"{source.name} is one shard of a split model, but {missing[0].name} is not next to it",
            "Put all shards of the model in the same folder and import the first one",
        )
    manifest = Manifest(models_dir)
    if reference:
        for file in sources:
            manifest.put(file, record_for_file(file, origin="reference"))
        return find_model(str(source), models_dir)
    target_dir = models_dir / IMPORTED_DIR
    targets = [target_dir / p.name for p in sources]
    if clash := [t for t in targets if t.exists()]:
        raise DscoderError(
            f"A model named {clash[0].name} is already in {target_dir}", "Remove it first, or rename the file"
        )
    total = sum(p.stat().st_size for p in sources)
    verify.require_free_space(models_dir, total + 64 * 1024 * 1024, source.name)
    target_dir.mkdir(parents=True, exist_ok=True)
    copied = 0
    try:
        for file, target in zip(sources, targets, strict=False):

            def on_copy(done: int, _total: int, offset: int = copied) -> None:
                if progress is not None:
                    progress(offset + done, total)

            verify.copy_with_progress(file, target, progress=on_copy, control=control)
            copied += target.stat().st_size
            manifest.put(target, record_for_file(target, origin="import"))
    except BaseException:
        for target in targets:
            target.unlink(missing_ok=True)
            manifest.forget(target)
        raise
    return find_model(str(targets[0]), models_dir)


def remove_model(path: Path, models_dir: Path | None = None) -> list[Path]:
    """Delete a model's files (a reference is only forgotten); returns the files deleted."""
    models_dir = models_dir or models_dir_from()
    model = find_model(str(path), models_dir)
    manifest = Manifest(models_dir)
    deleted: list[Path] = []
    root = models_dir.resolve()
    for file in model.files:
        manifest.forget(file)
        if model.origin == "reference" or not file.exists():
            continue
        if root not in file.resolve().parents:
            continue  # never delete outside the models folder
        file.unlink()
        deleted.append(file)
        _prune_empty_parents(file.parent, models_dir)
    return deleted


def _prune_empty_parents(folder: Path, models_dir: Path) -> None:
    while folder != models_dir and models_dir in folder.parents and folder.name != DOWNLOADS_DIR:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


def reveal_command(path: Path) -> list[str]:
    """The command that shows `path` in the platform's file manager."""
    if sys.platform == "darwin":
        return ["open", "-R", str(path)]
    if sys.platform == "win32":
        return ["explorer", f"/select,{path}"]
    return ["xdg-open", str(path.parent if path.is_file() else path)]


def reveal_in_file_manager(path: Path) -> None:
    try:
        subprocess.Popen(
            reveal_command(path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
    except OSError as exc:
        raise DscoderError(f"Cannot open the file manager: {exc.strerror or exc}", f"The file is at {path}") from exc


def search_hub(query: str = "deepseek-coder", limit: int = 20, settings: Settings | None = None) -> list[HubRepo]:
    """Other GGUF repos on the hub (online only), each with its GGUF files and sizes."""
    return search_gguf_repos(HubConfig.from_settings(settings), query, limit)
