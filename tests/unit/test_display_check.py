"""The check before Qt starts: no display, or a platform plugin whose system library is missing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.diagnostics.ui import display
from app.diagnostics.ui.display import (
    DEBIAN_GUI_PACKAGES,
    FEDORA_GUI_PACKAGES,
    Distribution,
    check_platform,
    gui_start_problem,
    library_problem,
    platform_candidates,
    read_distribution,
)

ROOT = Path(__file__).resolve().parents[2]
DEBIAN = Distribution("debian", "Debian GNU/Linux 12 (bookworm)")
FEDORA = Distribution("fedora", "Fedora Linux 41")
ABSENT = "libdscoder-absent.so.3"  # a library no system has


def readme_apt_packages(ending: str) -> list[str]:
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        if "apt-get install" in line and line.rstrip().endswith(ending):
            words = line.split("apt-get install", 1)[1].split("&&", 1)[0].split()
            return [w for w in words if not w.startswith("-")]
    raise AssertionError(f"no README command ends with {ending}")


def test_the_readme_installs_the_packages_the_check_names() -> None:
    assert readme_apt_packages(".venv/bin/dscoder") == [
        "python3-venv",
        "build-essential",
        "cmake",
        *DEBIAN_GUI_PACKAGES,
    ]
    assert readme_apt_packages("-m pytest") == [
        "python3-venv",
        "build-essential",
        "cmake",
        "nodejs",
        *DEBIAN_GUI_PACKAGES,
    ]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"dnf install -y python3 gcc-c++ cmake {' '.join(FEDORA_GUI_PACKAGES)}`" in readme


def test_platform_candidates_follow_qt() -> None:
    assert platform_candidates({"QT_QPA_PLATFORM": "offscreen"}) == ["offscreen"]
    assert platform_candidates({"QT_QPA_PLATFORM": "wayland;xcb:option=1"}) == ["wayland", "xcb"]
    assert platform_candidates({"DISPLAY": ":0"}) == ["xcb"]
    assert platform_candidates({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}) == ["wayland", "xcb"]


def test_headless_platforms_need_nothing() -> None:
    assert gui_start_problem({"QT_QPA_PLATFORM": "offscreen"}, DEBIAN) is None


@pytest.mark.skipif(sys.platform != "linux", reason="displays are checked on Linux only")
def test_no_display_is_named_with_what_to_do() -> None:
    problem = gui_start_problem({}, DEBIAN)
    assert problem is not None
    assert "no display" in problem.what and "DISPLAY" in problem.what
    assert "QT_QPA_PLATFORM=offscreen" in problem.todo


def test_distribution_family_from_os_release(tmp_path: Path) -> None:
    release = tmp_path / "os-release"
    release.write_text('PRETTY_NAME="Ubuntu 24.04 LTS"\nID=ubuntu\nID_LIKE=debian\n')
    assert read_distribution(release) == Distribution("debian", "Ubuntu 24.04 LTS")
    release.write_text('NAME="Fedora Linux"\nID=fedora\nPRETTY_NAME="Fedora Linux 41"\n')
    assert read_distribution(release).family == "fedora"
    assert read_distribution(tmp_path / "absent").family == ""


@pytest.fixture
def plugin_missing_a_library(tmp_path: Path) -> Path:
    """A real platforms/libqxcb.so that needs libdscoder-absent.so.3, which is then removed."""
    gcc = shutil.which("gcc")
    if gcc is None or sys.platform != "linux":
        pytest.skip("needs gcc on Linux (the README's set-up installs build-essential)")
    libs = tmp_path / "libs"
    platforms = tmp_path / "platforms"
    libs.mkdir()
    platforms.mkdir()
    (tmp_path / "absent.c").write_text("int absent_stub(void) { return 3; }\n")
    (tmp_path / "plugin.c").write_text("int absent_stub(void);\nint plugin_entry(void) { return absent_stub(); }\n")
    stub = libs / ABSENT
    subprocess.run([gcc, "-shared", "-fPIC", f"-Wl,-soname,{ABSENT}", "-o", stub, tmp_path / "absent.c"], check=True)
    subprocess.run([gcc, "-shared", "-fPIC", "-o", platforms / "libqxcb.so", tmp_path / "plugin.c", stub], check=True)
    stub.unlink()
    return platforms


@pytest.mark.slow
def test_a_missing_library_is_named_with_the_install_command(plugin_missing_a_library: Path) -> None:
    env = {"DISPLAY": ":99", "QT_QPA_PLATFORM_PLUGIN_PATH": str(plugin_missing_a_library)}

    problem = check_platform("xcb", env, DEBIAN)

    assert problem is not None and problem.missing_libraries == (ABSENT,)
    assert f"xcb platform plugin needs {ABSENT}, which is not installed" in problem.what
    # A library the app does not know: the whole list, which is always right.
    assert f"apt-get install -y {' '.join(DEBIAN_GUI_PACKAGES)}`" in problem.todo


@pytest.mark.slow
def test_without_ldd_the_loader_error_still_names_the_library(
    plugin_missing_a_library: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(display.shutil, "which", lambda name: None)
    env = {"DISPLAY": ":99", "QT_QPA_PLATFORM_PLUGIN_PATH": str(plugin_missing_a_library)}
    problem = check_platform("xcb", env, DEBIAN)
    assert problem is not None and problem.missing_libraries == (ABSENT,)


def test_known_libraries_map_to_this_distributions_packages() -> None:
    missing = ("libxcb-icccm.so.4", "libxcb-keysyms.so.1")
    sudo = "" if os.geteuid() == 0 else "sudo "
    debian = library_problem("xcb", missing, "", DEBIAN)
    assert "needs libxcb-icccm.so.4, libxcb-keysyms.so.1, which are not installed" in debian.what
    assert f"`{sudo}apt-get install -y libxcb-icccm4 libxcb-keysyms1`" in debian.todo
    assert f"`{sudo}dnf install -y xcb-util-wm xcb-util-keysyms`" in library_problem("xcb", missing, "", FEDORA).todo
    unknown = library_problem("xcb", missing, "", Distribution("", "Arch Linux"))
    assert "provide libxcb-icccm.so.4, libxcb-keysyms.so.1 (see the README)" in unknown.todo


@pytest.mark.slow
def test_qt_starts_when_any_of_its_candidate_platforms_can(plugin_missing_a_library: Path) -> None:
    env = {"DISPLAY": ":99", "QT_QPA_PLATFORM_PLUGIN_PATH": str(plugin_missing_a_library)}
    problem = gui_start_problem({**env, "QT_QPA_PLATFORM": "offscreen;xcb"}, DEBIAN)
    assert problem is None


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="displays are checked on Linux only")
def test_dscoder_without_a_display_says_why_in_one_line_without_qt(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.pop("XDG_SESSION_TYPE", None)
    proc = subprocess.run(
        [sys.executable, "-m", "app"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 1  # not a Qt abort (-6) with a core dump
    assert proc.stderr.count("\n") == 1
    assert proc.stderr.startswith("dscoder: The window cannot open: no display")
