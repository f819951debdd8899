"""Limits for code a model wrote (the quality check runs it): what this machine allows.

The runner (process.py) applies them; this module says what each limit is and how it is
enforced, and finds out once which of the strong means work here.

- **CPU seconds, memory (address space), file size:** `setrlimit` in the child before it
  runs the code; enforced by the kernel everywhere POSIX.
- **Processes:** `RLIMIT_NPROC` counts all processes of the user, so it is set inside a
  new user namespace (counted there only) with `prlimit`. Without namespaces it is set to
  the user's current count plus the budget. The kernel never applies it to root (also not
  to root mapped into a user namespace), so a run as root gets a `pids` cgroup with
  `pids.max` instead, where the cgroup file system is writable; otherwise only the
  timeout and the kill at the end stop a fork bomb.
- **Writes:** the code's folder is its working directory, HOME and TMPDIR. With a mount
  namespace every mount is remounted read-only and only that folder is bound writable.
  Without one, writes elsewhere are limited only by the user's own file permissions.
- **Network:** a new network namespace (only a loopback that is down); without one the
  code can reach the network, and the result says `network_isolated=False`.
- **Every process killed at the end:** a PID namespace; when its first process dies the
  kernel kills the rest. Without one, the process group and descendant tracking (reaper.py).

The namespaces come from util-linux's `unshare` (an unprivileged user namespace, so no
root is needed); `sandbox_support()` tries it once and remembers what worked.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

import psutil

try:
    import resource
except ImportError:  # Windows: no rlimits
    resource = None  # type: ignore[assignment]

_PROBE_TIMEOUT = 10.0

# Run inside the namespaces, before the code: every mount read-only, the sandbox folder
# writable, the process budget set where it counts only this sandbox's processes.
_PRELUDE = r"""
root="$1"; nproc="$2"; shift 2
mount --make-rprivate / 2>/dev/null
mount --rbind / / 2>/dev/null
for m in $(awk '{print $5}' /proc/self/mountinfo | sort -u); do
  mount -o remount,bind,ro "$m" 2>/dev/null
done
mount --bind "$root" "$root" && mount -o remount,bind,rw "$root" && cd "$root" || exit 125
if [ "$nproc" != "-" ]; then prlimit --pid $$ --nproc="$nproc:$nproc" || exit 125; fi
"$@"
"""  # not exec: this shell stays the namespace's first process, and a signal's death becomes 128 + N
_UNSHARE_FLAGS = ("--user", "--map-root-user", "--net", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc")


@dataclass(frozen=True)
class SandboxLimits:
    cpu_seconds: int = 30
    memory_bytes: int = 1024 * 1024 * 1024
    processes: int = 64
    file_size_bytes: int = 16 * 1024 * 1024


@dataclass(frozen=True)
class SandboxSupport:
    """What this machine lets the sandbox do; `reason` says why namespaces are missing."""

    namespaces: bool  # network cut, writes confined, processes counted and killed by the kernel
    reason: str = ""

    @classmethod
    def without_namespaces(cls, reason: str = "namespaces turned off") -> SandboxSupport:
        return cls(namespaces=False, reason=reason)


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


@functools.cache
def sandbox_support() -> SandboxSupport:
    """Tries the namespaces once (a few milliseconds) and remembers the answer."""
    if resource is None or not hasattr(os, "fork"):
        return SandboxSupport(False, "this system has no POSIX process limits")
    unshare, prlimit = shutil.which("unshare"), shutil.which("prlimit")
    if not unshare or not prlimit:
        return SandboxSupport(False, "util-linux's unshare and prlimit are not installed")
    with tempfile.TemporaryDirectory(prefix="dscoder-probe-") as folder:
        outside = tempfile.gettempdir()
        probe = namespace_argv(folder, 8) + ["sh", "-c", f"touch {folder}/ok && ! touch {outside}/.dscoder-probe-$$"]
        try:
            done = subprocess.run(probe, capture_output=True, timeout=_PROBE_TIMEOUT, cwd=folder)
        except (OSError, subprocess.SubprocessError) as error:
            return SandboxSupport(False, f"unshare failed: {error}")
        if done.returncode != 0 or not os.path.exists(os.path.join(folder, "ok")):
            detail = done.stderr.decode(errors="replace").strip().splitlines()
            why = detail[-1] if detail else f"exit code {done.returncode}"
            return SandboxSupport(False, f"user namespaces are not allowed here ({why})")
    return SandboxSupport(True)


def namespace_argv(folder: str, processes: int | None) -> list[str]:
    """The command prefix that runs what follows in fresh namespaces, writable only in `folder`."""
    return ["unshare", *_UNSHARE_FLAGS, "sh", "-c", _PRELUDE, "sandbox", folder, str(processes or "-")]


def _user_process_count() -> int:
    uid = os.getuid()
    count = 0
    for process in psutil.process_iter(["uids"]):
        uids = process.info.get("uids")
        if uids is not None and uids.real == uid:
            count += 1
    return count


def _pids_cgroup_base() -> str | None:
    """A `pids` cgroup hierarchy we may create groups in (as root): v1's, or v2's with pids enabled."""
    v1 = "/sys/fs/cgroup/pids"
    if os.path.isfile(os.path.join(v1, "cgroup.procs")) and os.access(v1, os.W_OK):
        return v1
    v2 = "/sys/fs/cgroup"
    try:
        with open(os.path.join(v2, "cgroup.subtree_control")) as handle:
            enabled = "pids" in handle.read().split()
    except OSError:
        return None
    return v2 if enabled and os.access(v2, os.W_OK) else None


def process_limit_enforced() -> bool:
    """Whether the process budget holds here: always for a user; for root only with a pids cgroup."""
    return resource is not None and (not _is_root() or _pids_cgroup_base() is not None)


class SandboxChild:
    """The limits of one sandboxed run: `setup` runs in the child between fork and exec
    (the rlimits, joining the pids cgroup); `close` removes the cgroup after the run."""

    def __init__(self, limits: SandboxLimits, support: SandboxSupport) -> None:
        assert resource is not None
        self.cgroup: str | None = None
        self.nproc: int | None = None  # RLIMIT_NPROC, when it is set here and not inside the namespace
        if _is_root():
            base = _pids_cgroup_base()
            if base is not None:
                self.cgroup = tempfile.mkdtemp(prefix="dscoder-sandbox-", dir=base)
                try:
                    with open(os.path.join(self.cgroup, "pids.max"), "w") as handle:
                        handle.write(str(limits.processes))
                except OSError:
                    self.close()
        elif not support.namespaces:
            self.nproc = _user_process_count() + limits.processes  # RLIMIT_NPROC counts all the user's processes
        self.rlimits = [
            (resource.RLIMIT_CPU, limits.cpu_seconds),
            (resource.RLIMIT_AS, limits.memory_bytes),
            (resource.RLIMIT_FSIZE, limits.file_size_bytes),
            (resource.RLIMIT_CORE, 0),
        ]
        if self.nproc is not None:
            self.rlimits.append((resource.RLIMIT_NPROC, self.nproc))
        self._procs = os.path.join(self.cgroup, "cgroup.procs").encode() if self.cgroup else None

    @property
    def processes_limited(self) -> bool:
        return self.cgroup is not None or not _is_root()

    def setup(self) -> None:
        """In the child: only system calls, every value computed before the fork."""
        assert resource is not None
        if self._procs is not None:
            fd = os.open(self._procs, os.O_WRONLY)
            os.write(fd, b"0")
            os.close(fd)
        for which, value in self.rlimits:
            # CPU: SIGXCPU at the soft limit says why; SIGKILL a second later if it is ignored
            resource.setrlimit(which, (value, value + 1 if which == resource.RLIMIT_CPU else value))

    def close(self) -> None:
        if self.cgroup is not None:
            with contextlib.suppress(OSError):
                os.rmdir(self.cgroup)
            self.cgroup = None


@contextlib.contextmanager
def sandbox_folder(prefix: str = "dscoder-sandbox-") -> Iterator[str]:
    """A fresh temporary folder for one sandboxed run, removed after."""
    folder = tempfile.mkdtemp(prefix=prefix)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
