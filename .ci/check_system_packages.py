#!/usr/bin/env python3
"""CI check: the README's run command installs every system library the app loads.

For each shared library that `ldd` reports for the binaries the app loads (PySide6's
Qt modules and platform plugins, pyside6-scintilla, lexilla, llama.cpp), it finds the
Debian package that owns the file (`dpkg -S`) and fails when that package is not
installed on a fresh machine by the README's command, that is when it is

- not in the README's `apt-get install` list,
- not of priority required or important (`dpkg-query -W -f='${Priority}'`), and
- not a dependency (Depends, Pre-Depends, recursively, from apt's package index) of the
  listed packages or of the required and important ones. Debian gives libraries priority
  optional (libc6 included): a minimal system has them because required packages depend on them.

What else is installed on this machine does not matter: a library that resolves to a package
outside that set fails the check even though it is present. A library that `ldd` cannot find
fails it too; with --install the README's packages are installed first (needs root), so that
"not found" means "the README's command does not install it".

Both of the README's set-up commands are checked: the tests load the same libraries (offscreen).

Usage: .ci/check_system_packages.py [--install] [--site-packages DIR] [--readme README.md]
Needs only Python's standard library, ldd, dpkg and apt-cache (Debian and Ubuntu).
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Qt: what the app loads, relative to site-packages (PySide6 also ships plugins for features the
# app never uses, such as printing, SQL drivers and GTK themes). Platform plugins: xcb (X11 and
# XWayland) and wayland with its client-side integrations; Qt picks one at start. Input contexts:
# compose and ibus (xcb loads them for dead keys and input methods). Image formats and icon
# engines: the SVG and ICO icons. Every other package's shared libraries are checked in full
# (pyside6-scintilla, lexilla, llama.cpp and its CPU variants, tree-sitter grammars, numpy, ...).
QT_GLOBS = (
    "shiboken6/*.so*",
    "PySide6/libpyside6.abi3.so*",
    "PySide6/Qt/plugins/platforms/libqxcb.so",
    "PySide6/Qt/plugins/platforms/libqwayland.so",
    "PySide6/Qt/plugins/xcbglintegrations/*.so",
    "PySide6/Qt/plugins/wayland-decoration-client/*.so",
    "PySide6/Qt/plugins/wayland-graphics-integration-client/*.so",
    "PySide6/Qt/plugins/wayland-shell-integration/*.so",
    "PySide6/Qt/plugins/platforminputcontexts/libcomposeplatforminputcontextplugin.so",
    "PySide6/Qt/plugins/platforminputcontexts/libibusplatforminputcontextplugin.so",
    "PySide6/Qt/plugins/imageformats/libqsvg.so",
    "PySide6/Qt/plugins/imageformats/libqico.so",
    "PySide6/Qt/plugins/iconengines/libqsvgicon.so",
)
QT_FOLDERS = ("PySide6", "shiboken6")
SHARED_LIBRARY = re.compile(r"\.so(\.\d+)*$")
# Directories whose libraries the wheels bring along; the loader finds them through RPATH or
# because the Python module that needs them already loaded them.
BUNDLED_LIB_DIRS = ("PySide6/Qt/lib", "PySide6", "shiboken6", "pyside6_scintilla", "pyside6_scintilla.libs", "llama_cpp/lib")
BASE_PRIORITIES = {"required", "important"}
LDD_LINE = re.compile(r"^\s*(\S+)\s+=>\s+(not found|\S+)", re.MULTILINE)


def run(command: list[str], check: bool = True) -> str:
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        sys.exit(f"check-system-packages: `{shlex.join(command)}` failed: {proc.stderr.strip()}")
    return proc.stdout


def readme_commands(readme: Path) -> dict[str, list[str]]:
    """The apt-get packages of the README's two set-up commands: "run" (opens the app) and "test"."""
    commands: dict[str, list[str]] = {}
    for line in readme.read_text(encoding="utf-8").splitlines():
        if "apt-get install" not in line:
            continue
        end = line.rstrip()
        kind = "run" if end.endswith(".venv/bin/dscoder") else "test" if end.endswith("-m pytest") else None
        if kind:
            words = line.split("apt-get install", 1)[1].split("&&", 1)[0].split()
            commands[kind] = [w for w in words if not w.startswith("-")]
    if set(commands) != {"run", "test"}:
        sys.exit(f"check-system-packages: {readme} lacks the run or the test command (apt-get install ...)")
    return commands


def app_qt_modules() -> set[str]:
    """PySide6 modules that app/ imports, e.g. QtCore: their extension modules are loaded."""
    names: set[str] = set()
    for path in (ROOT / "app").rglob("*.py"):
        names.update(re.findall(r"PySide6\.(Qt\w+)", path.read_text(encoding="utf-8")))
    return names


def binaries(site: Path) -> list[Path]:
    found = [site / "PySide6" / f"{name}.abi3.so" for name in sorted(app_qt_modules())]
    for pattern in QT_GLOBS:
        found += sorted(p for p in site.glob(pattern) if p.is_file())
    missing = [p for p in found if not p.is_file()]
    if missing or len(found) <= len(app_qt_modules()):
        sys.exit(f"check-system-packages: not installed in {site}: {', '.join(map(str, missing)) or 'Qt plugins'}")
    others = (p for p in site.rglob("*.so*") if p.relative_to(site).parts[0] not in QT_FOLDERS)
    return found + sorted(p for p in others if SHARED_LIBRARY.search(p.name) and p.is_file() and not p.is_symlink())


def system_libraries(files: Iterable[Path], site: Path) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(resolved system library path -> binaries needing it, missing soname -> binaries)."""
    env = dict(os.environ, LD_LIBRARY_PATH=os.pathsep.join(str(site / d) for d in BUNDLED_LIB_DIRS))
    resolved: dict[str, set[str]] = {}
    missing: dict[str, set[str]] = {}
    for binary in files:
        proc = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, env=env, check=False)
        who = str(binary.relative_to(site))
        for name, target in LDD_LINE.findall(proc.stdout):
            if target == "not found":
                missing.setdefault(name, set()).add(who)
            elif not target.startswith(str(site)):
                resolved.setdefault(target, set()).add(who)
    return resolved, missing


def owner(path: str) -> str | None:
    """The Debian package that installed `path` (tries the usrmerge aliases and the link target)."""
    real = os.path.realpath(path)
    candidates = [path, real]
    for p in (path, real):
        candidates.append(p[4:] if p.startswith("/usr/") else "/usr" + p)
    for candidate in dict.fromkeys(candidates):
        proc = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True, check=False)
        if proc.returncode == 0 and ":" in proc.stdout:
            return proc.stdout.split(":", 1)[0].split(",")[0].strip()
    return None


def priority(package: str) -> str:
    return run(["dpkg-query", "-W", "-f=${Priority}", package], check=False).strip()


def base_packages() -> set[str]:
    """Packages of priority required or important in apt's index (a minimal system has them)."""
    found: set[str] = set()
    name = ""
    for line in run(["apt-cache", "dumpavail"]).splitlines():
        if line.startswith("Package: "):
            name = line.split(None, 1)[1]
        elif line.startswith("Priority: ") and line.split(None, 1)[1] in BASE_PRIORITIES:
            found.add(name)
    return found


def dependency_closure(packages: Iterable[str]) -> set[str]:
    """The packages and everything they depend on (Depends, Pre-Depends), from apt's index."""
    command = ["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts"]
    command += ["--no-breaks", "--no-replaces", "--no-enhances", *sorted(packages)]
    names = set()
    for line in run(command).splitlines():
        word = line.strip().lstrip("|").split(":", 1)[-1].strip() if line.startswith(" ") else line.strip()
        if word and not word.startswith("<"):
            names.add(word.split(":", 1)[0])  # drop an architecture qualifier (libc6:i386)
    return names


def _some(binaries: set[str]) -> str:
    names = sorted(binaries)
    return ", ".join(names[:2]) + (f" and {len(names) - 2} more" if len(names) > 2 else "")


def problems_for(listed: list[str], libraries: dict[str, str], base: set[str]) -> list[str]:
    """Why the packages `listed` do not provide every library (library -> owning package)."""
    allowed = dependency_closure(set(listed) | base)
    packages: dict[str, set[str]] = {}
    for path, package in libraries.items():
        packages.setdefault(package, set()).add(os.path.basename(path))
    return [
        f"{package} (provides {', '.join(sorted(libs))}): not in the apt-get install list, "
        "not required or important, and no listed package depends on it"
        for package, libs in sorted(packages.items())
        if package not in listed and priority(package) not in BASE_PRIORITIES and package not in allowed
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site-packages", type=Path, default=None, help="default: .venv's")
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    parser.add_argument("--install", action="store_true", help="apt-get install the README's packages first")
    args = parser.parse_args()
    site = args.site_packages or next((ROOT / ".venv" / "lib").glob("python3*/site-packages"))
    commands = readme_commands(args.readme)
    if args.install:
        run(["apt-get", "install", "-y", "-q", *sorted(set(commands["run"]) | set(commands["test"]))])
    resolved, missing = system_libraries(binaries(site), site)
    problems = [f"{name} (needed by {_some(who)}): not found on this system" for name, who in sorted(missing.items())]
    owners: dict[str, str] = {}
    for path, who in sorted(resolved.items()):
        package = owner(path)
        if package is None:
            problems.append(f"{path} (needed by {_some(who)}): no Debian package owns it")
        else:
            owners[path] = package
    base = base_packages()
    for kind, listed in sorted(commands.items()):
        problems += [f"{kind} command: {problem}" for problem in problems_for(listed, owners, base)]
    print(
        f"check-system-packages: {len(resolved)} system libraries from {len(set(owners.values()))} packages; "
        f"the README's run command lists {len(commands['run'])} packages, its test command {len(commands['test'])}"
    )
    for problem in problems:
        print(f"check-system-packages: {problem}", file=sys.stderr)
    if problems:
        print("check-system-packages: add the packages above to the README's set-up commands", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
