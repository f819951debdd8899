"""`dscoder models`: the catalog, downloads and the models on disk.

    dscoder models list|catalog|download|verify|remove|import|search [--json]
    dscoder models download CATALOG_ID
    dscoder models download --repo R --file F [--revision REV] [--sha256 H]

A download shows progress on stderr (tqdm bars on a terminal, one line per phase
elsewhere) and prints the installed path as its last stdout line. Ctrl+C keeps the partial file; the next run
resumes from it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from app.commands.progress import PhaseProgress
from app.config.settings import load_settings
from app.models.catalog import load_catalog
from app.models.download.hub import HubConfig
from app.models.download.job import DownloadJob, DownloadProgress, DownloadSpec
from app.models.library import (
    InstalledModel,
    catalog_status,
    find_model,
    import_model,
    models_dir_from,
    remove_model,
    scan_models,
    search_hub,
    verify_model,
)
from app.models.manifest import MISMATCH
from app.utils.errors import DscoderError
from app.utils.units import file_size, parameter_count


def _print_json(payload: Any) -> None:
    print(json.dumps(payload, indent=None if isinstance(payload, dict) else 1, default=str))


def run_list(args: argparse.Namespace) -> int:
    models = scan_models(models_dir_from())
    if args.json:
        _print_json([m.to_json() for m in models])
        return 0
    if not models:
        print(f"No models in {models_dir_from()}. Download one with `dscoder models download CATALOG_ID`.")
        return 0
    rows = [(m.name, _quant(m), _params(m), file_size(m.size), m.state, str(m.path)) for m in models]
    _table(("NAME", "QUANT", "PARAMS", "SIZE", "STATE", "PATH"), rows)
    return 0


def _quant(model: InstalledModel) -> str:
    return (model.info.quant or "?") if model.info else "?"


def _params(model: InstalledModel) -> str:
    return parameter_count(model.info.parameter_count) if model.info else "?"


def run_catalog(args: argparse.Namespace) -> int:
    catalog = load_catalog()
    models_dir = models_dir_from()
    installed = scan_models(models_dir, read_metadata=False)
    statuses = {entry.id: catalog_status(entry, installed, models_dir) for entry in catalog.entries}
    if args.json:
        _print_json(
            [
                {
                    "id": e.id,
                    "variant": e.variant,
                    "quant": e.quant,
                    "repo": e.repo,
                    "revision": e.revision,
                    "size": e.size,
                    "purpose": list(e.purpose),
                    "fim": e.fim,
                    "context_length": e.context_length,
                    "license": e.license,
                    "remote_only": e.remote_only,
                    "status": statuses[e.id],
                }
                for e in catalog.entries
            ]
        )
        return 0
    rows = [(e.id, file_size(e.size), "+".join(e.purpose), statuses[e.id]) for e in catalog.entries]
    _table(("ID", "SIZE", "PURPOSE", "STATUS"), rows)
    return 0


def run_download(args: argparse.Namespace) -> int:
    spec = _spec_from(args)
    settings = load_settings()
    bar = None if args.json else PhaseProgress(sys.stderr)
    job = DownloadJob(spec, settings.resolved_models_dir(), HubConfig.from_settings(settings), on_progress=bar)
    try:
        result = job.run()
    finally:
        if bar is not None:
            bar.close()
    if args.json:
        _print_json(
            {
                "path": str(result.path),
                "files": [str(p) for p in result.files],
                "sha256": result.sha256,
                "already_installed": result.already_installed,
                "catalog_id": result.catalog_id,
            }
        )
    else:
        if result.already_installed:
            print(f"{spec.label} is already installed and verified.", file=sys.stderr)
        print(result.path)
    return 0


def _spec_from(args: argparse.Namespace) -> DownloadSpec:
    if args.catalog_id and (args.repo or args.file):
        raise DscoderError(
            "Give either a catalog id or --repo and --file, not both", "See `dscoder models download --help`"
        )
    if args.catalog_id:
        if args.revision or args.sha256:
            raise DscoderError(
                "--revision and --sha256 go with --repo and --file", "A catalog entry pins its own revision and hashes"
            )
        return DownloadSpec.from_catalog_entry(load_catalog().get(args.catalog_id))
    if not (args.repo and args.file):
        raise DscoderError(
            "Name what to download", "Pass a catalog id (see `dscoder models catalog`), or --repo and --file"
        )
    return DownloadSpec.for_repo_file(args.repo, args.file, args.revision or "main", args.sha256)


def run_verify(args: argparse.Namespace) -> int:
    bar = None if args.json else PhaseProgress(sys.stderr)
    model = find_model(args.model)

    def show(done: int, total: int) -> None:
        if bar is not None:
            bar(DownloadProgress("verifying", model.name, done, total))

    try:
        model = verify_model(model.path, progress=show)
    finally:
        if bar is not None:
            bar.close()
    if args.json:
        _print_json(model.to_json())
    else:
        reference = "" if model.expected_sha256 else " (no reference hash known: recorded for later checks)"
        print(f"{model.name}: {model.state}, sha256 {model.sha256}{reference}")
    if model.state == MISMATCH:
        raise DscoderError(
            f"{model.name} does not match its expected sha256 {model.expected_sha256}: the file is damaged",
            f"Remove it (`dscoder models remove {model.name}`) and download it again",
        )
    return 0


def run_remove(args: argparse.Namespace) -> int:
    model = find_model(args.model)
    deleted = remove_model(model.path)
    if args.json:
        _print_json({"path": str(model.path), "deleted": [str(p) for p in deleted]})
    elif deleted:
        print(f"Deleted {', '.join(str(p) for p in deleted)}")
    else:
        print(f"Forgot {model.path} (a referenced file stays where it is)")
    return 0


def run_import(args: argparse.Namespace) -> int:
    model = import_model(args.path, reference=args.reference)
    if args.json:
        _print_json(model.to_json())
    else:
        print(model.path)
    return 0


def run_search(args: argparse.Namespace) -> int:
    repos = search_hub(args.query, args.limit)
    if args.json:
        _print_json(
            [
                {
                    "repo": r.repo_id,
                    "downloads": r.downloads,
                    "likes": r.likes,
                    "files": [{"name": f.name, "size": f.size, "sha256": f.sha256} for f in r.files],
                }
                for r in repos
            ]
        )
        return 0
    for repo in repos:
        print(f"{repo.repo_id}  ({repo.downloads or 0} downloads)")
        for f in repo.files:
            print(f"    {f.name}  {file_size(f.size)}")
    return 0


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=False)]
    for row in (header, *rows):
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip())
