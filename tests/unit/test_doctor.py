"""`dscoder doctor`: what it finds on this machine, and a fix for each problem."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.config.settings import Settings, settings_path
from app.diagnostics.doctor import OK, WARN, check_models_dir, check_settings


@pytest.mark.slow
def test_doctor_reports_every_part_of_the_installation(tmp_path: Path) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run(
        [sys.executable, "-m", "app", "doctor", "--json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    findings = {f["name"]: f for f in json.loads(proc.stdout)}

    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert list(findings) == [
        "Python", "App files", "Qt", "Window (Qt platform)", "llama.cpp", "GPU", "Models folder", "Settings", "Log folder"
    ]  # fmt: skip
    assert all(f["status"] in (OK, WARN) for f in findings.values())
    assert "Qt 6." in findings["Qt"]["detail"] and "Scintilla" in findings["Qt"]["detail"]
    assert findings["Window (Qt platform)"]["detail"].startswith("platform plugin offscreen")
    assert "backends" in findings["llama.cpp"]["detail"] and "CPU" in findings["llama.cpp"]["detail"]
    assert "catalog of" in findings["App files"]["detail"]
    # A fresh home has no model yet: a warning that says how to get one.
    assert findings["Models folder"]["status"] == WARN and "dscoder models download" in findings["Models folder"]["fix"]


@pytest.mark.slow
def test_doctor_text_output_shows_the_fix_under_a_problem(tmp_path: Path) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    settings_path().write_text("{ not json")
    proc = subprocess.run(
        [sys.executable, "-m", "app", "doctor"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180
    )
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    settings_line = next(i for i, line in enumerate(lines) if line.startswith("[FAIL] Settings"))
    assert "is unreadable" in lines[settings_line]
    assert f"fix: Fix or delete {settings_path()}" in lines[settings_line + 1]


def test_a_chosen_model_that_is_gone_is_a_warning(tmp_path: Path) -> None:
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "tiny.gguf").write_bytes(b"GGUF" + bytes(64))
    finding = check_models_dir(Settings(models_dir=str(folder), chat_model_path=str(folder / "gone.gguf")))
    assert finding.status == WARN and "gone.gguf is gone" in finding.detail


def test_settings_without_a_file_are_the_defaults() -> None:
    finding = check_settings()
    assert finding.status == OK and "defaults" in finding.detail
