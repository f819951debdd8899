"""The app's JSON files read without raising: missing, broken and wrong-shaped files give None."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from app.utils.json_files import read_json_object

LOG = logging.getLogger("tests.json_files")


def test_an_object_is_read_and_a_missing_file_is_none_without_a_word(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    good = tmp_path / "good.json"
    good.write_text('{"theme": "dark"}', encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger=LOG.name):
        assert read_json_object(good, "settings file", "using defaults", LOG) == {"theme": "dark"}
        assert read_json_object(tmp_path / "missing.json", "settings file", "using defaults", LOG) is None
    assert caplog.text == ""


def test_a_broken_file_is_none_and_logged_with_its_cause(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    broken = tmp_path / "broken.json"
    broken.write_text('{"theme": ', encoding="utf-8")
    not_an_object = tmp_path / "list.json"
    not_an_object.write_text("[1, 2]", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger=LOG.name):
        assert read_json_object(broken, "model manifest", "starting a new one", LOG) is None
        assert read_json_object(broken, "model manifest", "starting a new one", None) is None
        assert read_json_object(not_an_object, "model manifest", "starting a new one", LOG) is None
    assert len(caplog.records) == 1
    assert f"model manifest {broken} is unreadable (" in caplog.text and "starting a new one" in caplog.text
