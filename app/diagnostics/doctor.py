"""`dscoder doctor`'s checks: what the app finds on this machine, with a fix for each problem.

Qt-free, like the rest of the GUI process's logic: Qt and the platform plugin are tried in a
child process (`dscoder doctor --qt-child`), so a Qt abort is a finding, not a crash, and
llama.cpp is asked through the GPU discovery child (the GUI side never imports llama_cpp).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app import __version__
from app.config.settings import Settings, load_settings, settings_path
from app.config.validation import sanitized
from app.diagnostics.ui.display import gui_start_problem, read_distribution
from app.hardware.gpus import discover_gpus_isolated
from app.models.catalog import load_catalog
from app.models.library import scan_models
from app.utils import paths
from app.utils.errors import DscoderError
from app.utils.resources import resource
from app.utils.units import file_size

OK, WARN, FAIL = "ok", "warn", "FAIL"
QT_CHILD_TIMEOUT_S = 60.0
LOW_DISK_BYTES = 5 * 1000**3  # less than the smallest useful chat model and its download


@dataclass(frozen=True)
class Finding:
    name: str  # what was checked, e.g. "Qt platform"
    status: str  # OK, WARN or FAIL
    detail: str  # what the app found
    fix: str = ""  # what to do, when status is not OK


def run_checks() -> list[Finding]:
    settings = load_settings()
    findings = [check_python(), check_app_files(), check_qt(), check_window()]
    findings += check_llama_and_gpus()
    findings += [check_models_dir(settings), check_settings(), check_logs()]
    return findings


def check_python() -> Finding:
    where = "bundle" if getattr(sys, "frozen", False) else sys.executable
    detail = f"Python {platform.python_version()} ({where}); dscoder {__version__}; {_system()}"
    return Finding("Python", OK, detail)


def _system() -> str:
    distro = read_distribution().name if sys.platform == "linux" else ""
    return distro or f"{platform.system()} {platform.release()}"


def check_app_files() -> Finding:
    try:
        catalog = load_catalog()
        templates = [t.name for t in resource("templates").iterdir() if t.name.endswith(".jinja")]
    except (DscoderError, OSError) as exc:
        return Finding("App files", FAIL, str(exc), "Reinstall the app")
    where = resource("catalog.json")
    return Finding("App files", OK, f"catalog of {len(catalog.entries)} models, {len(templates)} templates ({where})")


def qt_child_command() -> list[str]:
    if getattr(sys, "frozen", False):
        return [sys.executable, "doctor", "--qt-child"]
    return [sys.executable, "-m", "app", "doctor", "--qt-child"]


def run_qt_child(env: dict[str, str]) -> tuple[dict[str, str] | None, str]:
    """(what the Qt child printed, or None; the error when it failed)."""
    try:
        proc = subprocess.run(
            qt_child_command(), capture_output=True, text=True, timeout=QT_CHILD_TIMEOUT_S, env=env, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, str(exc)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode == 0 and lines:
        return json.loads(lines[-1]), ""
    tail = [line for line in proc.stderr.strip().splitlines() if line.strip()][-3:]
    return None, f"exit status {proc.returncode}: " + " / ".join(tail)


def check_qt() -> Finding:
    """Qt's libraries and the editor component load (offscreen, so without a display)."""
    info, error = run_qt_child(dict(os.environ, QT_QPA_PLATFORM="offscreen"))
    if info is None:
        fix = "Reinstall the app (pip install --force-reinstall deepseek-coder-desktop, or the bundle)"
        return Finding("Qt", FAIL, f"Qt does not start offscreen: {error}", fix)
    return Finding("Qt", OK, f"Qt {info['qt']} (Qt for Python {info['pyside']}), Scintilla editor loads")


def check_window() -> Finding:
    """The platform plugin the window would use starts here (display and system libraries)."""
    problem = gui_start_problem()
    if problem is not None:
        return Finding("Window (Qt platform)", FAIL, problem.what, problem.todo)
    info, error = run_qt_child(dict(os.environ))
    if info is None:
        return Finding("Window (Qt platform)", FAIL, f"Qt cannot open a window here: {error}", _display_fix())
    display = os.environ.get("WAYLAND_DISPLAY") or os.environ.get("DISPLAY") or "no display server needed"
    return Finding("Window (Qt platform)", OK, f"platform plugin {info['platform']} ({display})")


def _display_fix() -> str:
    return "Check that the display is reachable (DISPLAY, WAYLAND_DISPLAY) and see the messages above"


def check_llama_and_gpus() -> list[Finding]:
    discovery = discover_gpus_isolated()
    backends = discovery.backends
    version = _version("llama-cpp-python")
    if backends.error:
        fix = "Reinstall llama-cpp-python (see the README's set-up command), then run `dscoder doctor` again"
        llama = Finding("llama.cpp", FAIL, f"llama-cpp-python {version}: {backends.error}", fix)
    else:
        registry = ", ".join(backends.registry) or "CPU"
        offload = "GPU offload available" if backends.gpu_offload else "CPU only build"
        llama = Finding("llama.cpp", OK, f"llama-cpp-python {version}; backends {registry}; {offload}")
    return [llama, _gpu_finding(discovery.gpus, backends.gpu_offload, discovery.notes)]


def _gpu_finding(gpus: tuple, gpu_offload: bool, notes: tuple[str, ...]) -> Finding:
    if not gpus:
        detail = "none found: models run on the CPU" + (f" ({'; '.join(notes)})" if notes else "")
        return Finding("GPU", OK, detail)
    names = ", ".join(f"{g.name} ({file_size(g.vram_total_bytes)})" for g in gpus)
    unusable = [g.name for g in gpus if not g.backend_usable]
    if unusable and not gpu_offload:
        fix = (
            "This llama.cpp build has no GPU backend: reinstall llama-cpp-python with "
            'CMAKE_ARGS="-DGGML_CUDA=on" (NVIDIA), "-DGGML_VULKAN=on" (AMD, Intel) or "-DGGML_METAL=on" (Apple)'
        )
        return Finding("GPU", WARN, f"{names}; llama.cpp cannot use {', '.join(unusable)}", fix)
    return Finding("GPU", OK, names)


def check_models_dir(settings: Settings) -> Finding:
    folder = settings.resolved_models_dir()
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        return Finding("Models folder", FAIL, f"{folder} is not a writable folder", _models_dir_fix())
    free = shutil.disk_usage(folder).free
    models = scan_models(folder, read_metadata=False)
    detail = f"{folder}: {len(models)} model(s), {file_size(free)} free"
    if free < LOW_DISK_BYTES:
        return Finding("Models folder", WARN, detail, "Free disk space, or " + _models_dir_fix())
    if not models:
        fix = "Download one: Model > Model Manager, or `dscoder models download deepseek-coder-1.3b-instruct:Q4_K_M`"
        return Finding("Models folder", WARN, detail, fix)
    chosen = settings.chat_model_path
    if chosen and not Path(chosen).is_file():
        return Finding("Models folder", WARN, f"{detail}; the chosen chat model {chosen} is gone", "Choose another")
    return Finding("Models folder", OK, detail)


def _models_dir_fix() -> str:
    return "choose another folder in Settings > Models, or set DSCODER_MODELS_DIR"


def check_settings() -> Finding:
    path = settings_path()
    if path.exists():
        try:
            json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            fix = f"Fix or delete {path}; until then the defaults apply"
            return Finding("Settings", FAIL, f"{path} is unreadable ({exc})", fix)
    _, problems = sanitized(load_settings())
    if problems:
        detail = f"{path}: " + "; ".join(str(p) for p in problems)
        return Finding("Settings", WARN, detail, "Correct them in Settings; the app uses safe values meanwhile")
    return Finding("Settings", OK, f"{path}" + ("" if path.exists() else " (not saved yet: defaults)"))


def check_logs() -> Finding:
    try:
        folder = paths.log_dir()
    except OSError as exc:
        return Finding(
            "Log folder", FAIL, f"cannot create the log folder ({exc})", "Check your home folder's permissions"
        )
    if not os.access(folder, os.W_OK):
        return Finding("Log folder", FAIL, f"{folder} is not writable", f"Make {folder} writable")
    return Finding("Log folder", OK, f"{folder} (the engine writes engine.log there)")


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "(version unknown)"


def format_findings(findings: list[Finding], write: Callable[[str], None]) -> None:
    width = max(len(f.name) for f in findings)
    for finding in findings:
        write(f"[{finding.status:<4}] {finding.name:<{width}}  {finding.detail}")
        if finding.fix and finding.status != OK:
            write(f"{'':>7} {'':<{width}}  fix: {finding.fix}")
