"""Every process a run started, found and killed: its process group, its descendants
(also one that called `setsid` and so left the group), and any process that still
carries the run's token in its environment (a daemon whose parent already exited).

How descendants are found, honestly:
- the process group: `killpg` reaches everything that stayed in it;
- `psutil`'s `children(recursive=True)` is polled while the run lives, so a child that
  moved to its own session is remembered by pid and start time (a reused pid is not killed);
- each run puts a unique `DSCODER_RUN_TOKEN` in its environment; at the end the user's
  processes are scanned for it, which finds a double-forked daemon that was reparented
  before a poll saw it. A process that clears its environment and escapes between two
  polls is the one case this misses; the sandbox (sandbox.py) closes it with a PID
  namespace, where the kernel kills everything when the run's first process dies.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time

import psutil

RUN_TOKEN_VAR = "DSCODER_RUN_TOKEN"

_KILL_ROUNDS = 50


class ProcessTree:
    """The processes of one run, rooted at `root_pid` (a process-group and session leader)."""

    def __init__(self, root_pid: int, token: str) -> None:
        self.root_pid = root_pid
        self.token = token
        self._known: dict[int, float] = {}  # pid -> create time
        self._killing = threading.Lock()  # the run's thread and app quit may kill at once
        with contextlib.suppress(psutil.Error):
            self._known[root_pid] = psutil.Process(root_pid).create_time()

    def poll(self) -> None:
        """Remember the descendants alive now (called while the run lives)."""
        try:
            children = psutil.Process(self.root_pid).children(recursive=True)
        except psutil.Error:
            return
        for child in children:
            with contextlib.suppress(psutil.Error):
                self._known.setdefault(child.pid, child.create_time())

    def _alive_known(self) -> list[psutil.Process]:
        alive = []
        for pid, created in list(self._known.items()):
            try:
                process = psutil.Process(pid)
                if process.create_time() == created and process.status() != psutil.STATUS_ZOMBIE:
                    alive.append(process)
                    continue
            except psutil.Error:
                pass
            self._known.pop(pid, None)
        return alive

    def _carrying_token(self) -> list[psutil.Process]:
        found = []
        me = os.getpid()
        for process in psutil.process_iter():
            if process.pid == me:
                continue
            try:
                if process.environ().get(RUN_TOKEN_VAR) == self.token:
                    found.append(process)
            except psutil.Error:  # another user's process, or gone
                continue
        return found

    def living(self) -> list[psutil.Process]:
        """Every process of the run still alive (polls first)."""
        self.poll()
        by_pid = {p.pid: p for p in self._alive_known()}
        for process in self._carrying_token():
            with contextlib.suppress(psutil.Error):
                if process.status() != psutil.STATUS_ZOMBIE:
                    by_pid.setdefault(process.pid, process)
                    self._known.setdefault(process.pid, process.create_time())
        return list(by_pid.values())

    def _signal_all(self, sig: int) -> list[psutil.Process]:
        if hasattr(os, "killpg"):
            with contextlib.suppress(OSError):
                os.killpg(self.root_pid, sig)
        targets = self.living()
        for process in targets:
            with contextlib.suppress(psutil.Error):
                process.send_signal(sig)
        return targets

    def kill(self, grace: float = 0.5) -> None:
        """SIGTERM to all, `grace` seconds to exit, then SIGKILL until none is left.

        A fork bomb keeps forking while it is being killed: SIGSTOP first freezes each
        process so the kill rounds catch up with it.
        """
        with self._killing:
            self._kill(grace)

    def _kill(self, grace: float) -> None:
        if grace > 0 and self._signal_all(signal.SIGTERM):
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and self._alive_known():
                time.sleep(0.02)
        stop = getattr(signal, "SIGSTOP", None)
        kill = getattr(signal, "SIGKILL", signal.SIGTERM)
        for _ in range(_KILL_ROUNDS):
            if stop is not None:
                self._signal_all(stop)
            if not self._signal_all(kill):
                return
            time.sleep(0.01)
