"""The models folder: scan, metadata, verification state, import, verify, remove, search."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from app.config.settings import Settings
from app.models.download.hub import HubConfig
from app.models.download.job import DownloadJob, DownloadSpec
from app.models.library import (
    catalog_status,
    find_model,
    import_model,
    remove_model,
    reveal_command,
    scan_models,
    search_hub,
    verify_model,
)
from app.models.manifest import CHANGED, HASHED, MISMATCH, UNVERIFIED, VERIFIED, Manifest
from app.models.synthetic.tiny import TinyModelSpec, write_tiny_gguf
from app.utils.errors import CancelledError, DscoderError, ModelFileError
from app.utils.jobs import JobControl
from tests.helpers.fake_hub import FakeHub

REPO = "someone/deepseek-coder-tiny-GGUF"


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "models"
    folder.mkdir()
    return folder


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    (tmp_path / "outside").mkdir()
    return write_tiny_gguf(tmp_path / "outside" / "tiny-coder.Q8_0.gguf")


def test_the_default_models_folder_obeys_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().resolved_models_dir() == Path(os.environ["DSCODER_HOME"]) / "data" / "models"
    monkeypatch.setenv("DSCODER_MODELS_DIR", str(tmp_path / "elsewhere"))
    assert Settings().resolved_models_dir() == tmp_path / "elsewhere"


def test_scan_reads_metadata_and_skips_partial_downloads(models_dir: Path) -> None:
    (models_dir / "a").mkdir()
    write_tiny_gguf(models_dir / "a" / "tiny.gguf")
    write_tiny_gguf(models_dir / "plain.gguf", TinyModelSpec(family="plain", chat_template=None, fim_tokens=False))
    (models_dir / ".downloads" / "x").mkdir(parents=True)
    (models_dir / ".downloads" / "x" / "half.gguf").write_bytes(b"GGUF")
    (models_dir / "broken.gguf").write_bytes(b"not a gguf at all")

    models = {m.name: m for m in scan_models(models_dir)}

    assert set(models) == {"tiny.gguf", "plain.gguf", "broken.gguf"}
    tiny = models["tiny.gguf"]
    assert tiny.info is not None and tiny.info.architecture == "llama"
    assert tiny.state == UNVERIFIED and tiny.origin == "found"
    assert tiny.size == tiny.path.stat().st_size
    listed = tiny.to_json()
    assert listed["has_chat_template"] is True and listed["has_fim"] is True
    assert listed["parameter_count"] > 0 and listed["context_length"] == 4096
    assert models["plain.gguf"].to_json()["has_fim"] is False
    assert models["broken.gguf"].info is None and "not a GGUF" in (models["broken.gguf"].info_error or "")


def test_split_shards_are_one_model(models_dir: Path) -> None:
    for i in (1, 2):
        (models_dir / f"big-0000{i}-of-00002.gguf").write_bytes(b"GGUF" + bytes(100 * i))

    [model] = scan_models(models_dir, read_metadata=False)

    assert model.name == "big-00001-of-00002.gguf"
    assert len(model.files) == 2 and model.size == 104 + 204


def test_import_copies_and_is_unverified_until_verified(models_dir: Path, tiny: Path) -> None:
    model = import_model(tiny, models_dir)

    assert model.path == models_dir / "imported" / tiny.name
    assert model.path.read_bytes() == tiny.read_bytes()
    assert model.state == UNVERIFIED and model.origin == "import"

    checked = verify_model(model.path, models_dir)

    # Not in the catalog: the hash is recorded, with nothing to compare it with.
    assert checked.state == HASHED
    assert checked.sha256 == hashlib.sha256(tiny.read_bytes()).hexdigest()


def test_import_refuses_a_file_that_is_not_gguf(models_dir: Path, tmp_path: Path) -> None:
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"hello")

    with pytest.raises(ModelFileError, match="not a GGUF"):
        import_model(junk, models_dir)

    assert scan_models(models_dir) == []


def test_import_by_reference_leaves_the_file_and_remove_only_forgets_it(models_dir: Path, tiny: Path) -> None:
    model = import_model(tiny, models_dir, reference=True)

    assert model.path == tiny and model.origin == "reference"
    assert [m.path for m in scan_models(models_dir)] == [tiny]

    assert remove_model(tiny, models_dir) == []
    assert tiny.exists()
    assert scan_models(models_dir) == []


def test_verify_against_the_download_record(hub: FakeHub, models_dir: Path, tiny: Path) -> None:
    hub.add_file(REPO, tiny.name, tiny.read_bytes())
    result = DownloadJob(
        DownloadSpec.for_repo_file(REPO, tiny.name), models_dir, HubConfig.from_settings(Settings())
    ).run()

    [model] = scan_models(models_dir)
    assert model.state == VERIFIED and model.repo == REPO and model.sha256 == model.expected_sha256

    with result.path.open("r+b") as handle:  # a bit flips on disk
        handle.seek(-1, os.SEEK_END)
        last = handle.read(1)
        handle.seek(-1, os.SEEK_END)
        handle.write(bytes([last[0] ^ 1]))
    assert find_model(result.path.name, models_dir).state == CHANGED

    progress: list[tuple[int, int]] = []
    checked = verify_model(result.path, models_dir, progress=lambda done, total: progress.append((done, total)))

    assert checked.state == MISMATCH
    assert progress[-1] == (model.size, model.size)


def test_verify_can_be_cancelled(models_dir: Path, tiny: Path) -> None:
    model = import_model(tiny, models_dir)
    control = JobControl()
    control.cancel()

    with pytest.raises(CancelledError):
        verify_model(model.path, models_dir, control=control)

    assert find_model(model.name, models_dir).state == UNVERIFIED


def test_remove_deletes_the_files_and_the_record(models_dir: Path, tiny: Path) -> None:
    model = import_model(tiny, models_dir)

    deleted = remove_model(model.path, models_dir)

    assert deleted == [model.path] and not model.path.exists()
    assert not (models_dir / "imported").exists()
    assert Manifest(models_dir).records() == {}


def test_find_model_says_what_to_do_when_nothing_matches(models_dir: Path) -> None:
    with pytest.raises(DscoderError, match="dscoder models list"):
        find_model("nothing.gguf", models_dir)


def test_catalog_status(models_dir: Path) -> None:
    from app.models.catalog import load_catalog

    entry = load_catalog().entries[0]
    assert catalog_status(entry, [], models_dir) == "available"
    job = DownloadJob(DownloadSpec.from_catalog_entry(entry), models_dir, HubConfig("", None, True))
    job.partial_dir.mkdir(parents=True)
    job.partial_path(entry.files[0].name).write_bytes(b"GGUF")
    assert catalog_status(entry, [], models_dir) == "partial"


def test_reveal_command_points_at_the_folder(tiny: Path) -> None:
    command = reveal_command(tiny)
    assert str(tiny.parent) in " ".join(command) or str(tiny) in " ".join(command)


def test_hub_search_lists_gguf_files_with_sizes(hub: FakeHub) -> None:
    hub.add_file(
        "bartowski/DeepSeek-Coder-V2-Lite-Instruct-GGUF", "DeepSeek-Coder-V2-Lite-Instruct-Q4_K_M.gguf", b"x" * 1234
    )
    hub.add_file("bartowski/DeepSeek-Coder-V2-Lite-Instruct-GGUF", "README.md", b"readme", lfs=False)
    hub.add_file("other/unrelated-GGUF", "model.gguf", b"y")

    [repo] = search_hub("deepseek-coder", settings=Settings())

    assert repo.repo_id == "bartowski/DeepSeek-Coder-V2-Lite-Instruct-GGUF"
    assert [(f.name, f.size) for f in repo.files] == [("DeepSeek-Coder-V2-Lite-Instruct-Q4_K_M.gguf", 1234)]


def test_hub_search_offline_makes_no_request(hub: FakeHub) -> None:
    with pytest.raises(DscoderError, match="offline"):
        search_hub(settings=Settings(hub_offline=True))
    assert hub.requests == []
