"""`dscoder --self-test`, as the bundle runs it: GUI offscreen, engine, chat, editor."""

from __future__ import annotations

import os
import subprocess
import sys


def test_self_test_passes_and_says_what_it_checked(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    result = subprocess.run(
        [sys.executable, "-m", "app", "--self-test"], capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1].startswith("self-test passed")
    assert sum(line.startswith("[ok  ]") for line in lines) >= 6
    assert not any(line.startswith("[FAIL]") for line in lines)
