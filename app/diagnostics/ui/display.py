"""Can the window open here? A Qt-free check, run before the QApplication is created.

When Qt's platform plugin cannot load (a system library is missing) or there is no display,
Qt prints its own messages and aborts the process with a core dump. This check finds the
same problems first and says, in one line, what is missing and the command that installs it
on this distribution. It costs one dlopen of the platform plugin, whose libraries Qt loads a
moment later anyway; `ldd` runs only when that fails, to name every missing library.

The system packages the app needs are listed here once per distribution family; the README's
install commands name the same packages (tests/unit/test_display_check.py keeps them in step).
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# What the README's run command installs besides Python's venv and a compiler: the libraries of
# Qt's xcb and wayland platform plugins, the Qt libraries the app loads and pyside6-scintilla.
DEBIAN_GUI_PACKAGES = (
    "libxcb-cursor0",
    "libxcb-icccm4",
    "libxcb-keysyms1",
    "libxcb-shape0",
    "libxcb-glx0",
    "libxkbcommon-x11-0",
    "libegl1",
    "libgl1",
    "libxext6",
    "libfontconfig1",
    "libdbus-1-3",
    "libglib2.0-0",
    "libwayland-cursor0",
    "libwayland-egl1",
)
FEDORA_GUI_PACKAGES = (
    "xcb-util-cursor",
    "xcb-util-wm",
    "xcb-util-keysyms",
    "libxkbcommon-x11",
    "libglvnd-egl",
    "libglvnd-glx",
    "libXext",
    "fontconfig",
    "dbus-libs",
    "glib2",
    "libwayland-cursor",
    "libwayland-egl",
)
# Library file name (soname without its version) -> (Debian/Ubuntu package, Fedora package).
LIBRARY_PACKAGES: dict[str, tuple[str, str]] = {
    "libxcb-cursor": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-keysyms": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-image": ("libxcb-image0", "xcb-util-image"),
    "libxcb-render-util": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-util": ("libxcb-util1", "xcb-util"),
    "libxcb-shape": ("libxcb-shape0", "libxcb"),
    "libxcb-glx": ("libxcb-glx0", "libxcb"),
    "libxcb-randr": ("libxcb-randr0", "libxcb"),
    "libxcb-xkb": ("libxcb-xkb1", "libxcb"),
    "libxkbcommon-x11": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libxkbcommon": ("libxkbcommon0", "libxkbcommon"),
    "libEGL": ("libegl1", "libglvnd-egl"),
    "libGL": ("libgl1", "libglvnd-glx"),
    "libGLX": ("libglx0", "libglvnd-glx"),
    "libOpenGL": ("libopengl0", "libglvnd-opengl"),
    "libXext": ("libxext6", "libXext"),
    "libX11-xcb": ("libx11-xcb1", "libX11-xcb"),
    "libfontconfig": ("libfontconfig1", "fontconfig"),
    "libfreetype": ("libfreetype6", "freetype"),
    "libdbus-1": ("libdbus-1-3", "dbus-libs"),
    "libglib-2.0": ("libglib2.0-0", "glib2"),
    "libgthread-2.0": ("libglib2.0-0", "glib2"),
    "libwayland-cursor": ("libwayland-cursor0", "libwayland-cursor"),
    "libwayland-egl": ("libwayland-egl1", "libwayland-egl"),
    "libwayland-client": ("libwayland-client0", "libwayland-client"),
}
# Platforms that need no display server and no extra system library.
HEADLESS_PLATFORMS = frozenset({"offscreen", "minimal", "vnc", "linuxfb", "eglfs", "vkkhrdisplay", "minimalegl"})
_MISSING = re.compile(r"^\s*(\S+)\s+=>\s+not found", re.MULTILINE)


@dataclass(frozen=True)
class StartProblem:
    """Why the window cannot open: what happened, what to do, and the libraries that are missing."""

    what: str
    todo: str
    missing_libraries: tuple[str, ...] = ()


@dataclass(frozen=True)
class Distribution:
    family: str  # "debian", "fedora" or "" (unknown)
    name: str  # PRETTY_NAME, for messages

    def install_command(self, packages: list[str]) -> str:
        sudo = "" if hasattr(os, "geteuid") and os.geteuid() == 0 else "sudo "
        if self.family == "debian":
            return f"{sudo}apt-get install -y {' '.join(packages)}"
        if self.family == "fedora":
            return f"{sudo}dnf install -y {' '.join(packages)}"
        return ""

    def packages_for(self, libraries: list[str]) -> list[str]:
        """The packages that provide `libraries` here, or every GUI package when one is unknown."""
        column = 0 if self.family == "debian" else 1
        packages: list[str] = []
        for library in libraries:
            known = LIBRARY_PACKAGES.get(_library_stem(library))
            if known is None:
                return list(DEBIAN_GUI_PACKAGES if self.family == "debian" else FEDORA_GUI_PACKAGES)
            packages.append(known[column])
        return list(dict.fromkeys(packages))


def _library_stem(soname: str) -> str:
    return soname.split(".so", 1)[0]


def read_distribution(os_release: Path = Path("/etc/os-release")) -> Distribution:
    try:
        text = os_release.read_text(encoding="utf-8")
    except OSError:
        return Distribution("", "")
    fields: dict[str, str] = dict(re.findall(r'^(\w+)="?([^"\n]*)"?$', text, re.MULTILINE))
    ids = {fields.get("ID", ""), *fields.get("ID_LIKE", "").split()}
    family = "debian" if ids & {"debian", "ubuntu"} else "fedora" if ids & {"fedora", "rhel", "centos"} else ""
    return Distribution(family, fields.get("PRETTY_NAME", fields.get("ID", "")))


def platform_candidates(env: Mapping[str, str]) -> list[str]:
    """The Qt platform plugins Qt would try, in order (QT_QPA_PLATFORM, else Qt's own choice)."""
    chosen = env.get("QT_QPA_PLATFORM", "").strip()
    if chosen:
        return [part.split(":", 1)[0].strip() for part in chosen.split(";") if part.strip()]
    if env.get("WAYLAND_DISPLAY") or env.get("XDG_SESSION_TYPE") == "wayland":
        return ["wayland", "xcb"]
    return ["xcb"]


def plugins_dir(env: Mapping[str, str]) -> Path | None:
    """PySide6's platforms/ folder, found without importing Qt."""
    override = env.get("QT_QPA_PLATFORM_PLUGIN_PATH")
    if override:
        return Path(override)
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "Qt" / "plugins" / "platforms"


def plugin_file(platform: str, env: Mapping[str, str]) -> Path | None:
    folder = plugins_dir(env)
    if folder is None:
        return None
    name = "libqwayland.so" if platform.startswith("wayland") else f"libq{platform}.so"
    path = folder / name
    return path if path.is_file() else None


def load_error(plugin: Path) -> str:
    """Why the dynamic loader cannot load `plugin`, or "" when it can."""
    try:
        ctypes.CDLL(str(plugin), mode=os.RTLD_LAZY | os.RTLD_LOCAL)
    except OSError as exc:
        return str(exc)
    return ""


def missing_libraries(plugin: Path, error: str) -> tuple[str, ...]:
    """Every library `plugin` needs that is not installed (ldd), or the one the loader named."""
    ldd = shutil.which("ldd")
    if ldd:
        proc = subprocess.run([ldd, str(plugin)], capture_output=True, text=True, timeout=30, check=False)
        found = tuple(dict.fromkeys(_MISSING.findall(proc.stdout)))
        if found:
            return found
    first = re.match(r"^(\S+\.so[\d.]*): cannot open shared object file", error)
    return (first.group(1),) if first else ()


def check_platform(platform: str, env: Mapping[str, str], distro: Distribution) -> StartProblem | None:
    """Why Qt's `platform` plugin cannot start here, or None when nothing stands in its way."""
    if platform in HEADLESS_PLATFORMS or sys.platform != "linux":
        return None
    wayland = platform.startswith("wayland")
    if wayland and not (env.get("WAYLAND_DISPLAY") or _default_wayland_socket(env)):
        return StartProblem("no Wayland display (WAYLAND_DISPLAY is not set)", _NO_DISPLAY_TODO)
    if platform == "xcb" and not env.get("DISPLAY"):
        return StartProblem("no display (neither DISPLAY nor WAYLAND_DISPLAY is set)", _NO_DISPLAY_TODO)
    plugin = plugin_file(platform, env)
    if plugin is None:
        if platform in ("xcb", "wayland"):
            return StartProblem(f"Qt's {platform} platform plugin is missing", "Reinstall the app")
        return None  # a platform PySide6 does not ship (or a custom path): let Qt speak
    error = load_error(plugin)
    if not error:
        return None
    missing = missing_libraries(plugin, error)
    return library_problem(platform, missing, error, distro)


def library_problem(platform: str, missing: tuple[str, ...], error: str, distro: Distribution) -> StartProblem:
    if not missing:
        return StartProblem(f"Qt's {platform} platform plugin cannot be loaded ({error})", "Reinstall the app")
    names = ", ".join(missing)
    what = f"Qt's {platform} platform plugin needs {names}, which {'is' if len(missing) == 1 else 'are'} not installed"
    command = distro.install_command(distro.packages_for(list(missing)))
    if command:
        todo = f"Install {'it' if len(missing) == 1 else 'them'} with `{command}`, then start dscoder again"
    else:
        todo = f"Install the system packages that provide {names} (see the README), then start dscoder again"
    return StartProblem(what, todo, missing)


def gui_start_problem(env: Mapping[str, str] | None = None, distro: Distribution | None = None) -> StartProblem | None:
    """Why the window cannot open, or None when one of Qt's platform candidates can start."""
    env = os.environ if env is None else env
    distro = distro or read_distribution()
    problems = []
    for platform in platform_candidates(env):
        problem = check_platform(platform, env, distro)
        if problem is None:
            return None
        problems.append(problem)
    # Missing libraries are the actionable problem when there is a display at all.
    with_libraries = [p for p in problems if p.missing_libraries]
    return (with_libraries or problems)[0] if problems else None


def _default_wayland_socket(env: Mapping[str, str]) -> bool:
    runtime = env.get("XDG_RUNTIME_DIR", "")
    return bool(runtime) and Path(runtime, "wayland-0").exists()


_NO_DISPLAY_TODO = (
    "Start dscoder from a desktop session (or with `ssh -X`); the command line works without one "
    "(`dscoder --help`), and QT_QPA_PLATFORM=offscreen runs the window headless for tests"
)
