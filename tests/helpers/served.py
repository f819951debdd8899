"""`dscoder serve` as a user runs it, in a child process, for the tests of real clients."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

_URL = re.compile(r"OpenAI:\s+http://127\.0\.0\.1:(\d+)/v1")
_KEY = re.compile(r"API key: (\S+)")


@dataclass
class Served:
    base: str  # http://127.0.0.1:PORT
    api_key: str
    process: subprocess.Popen[str]
    output: list[str]

    def info(self) -> dict:
        return httpx.get(f"{self.base}/dscoder/info", timeout=10).json()


@contextmanager
def serving(model: str | Path, *args: str, timeout: float = 120.0) -> Iterator[Served]:
    """Run `dscoder serve --model MODEL --port 0 ARGS` until the block ends."""
    command = [sys.executable, "-m", "app", "serve", "--model", str(model), "--port", "0", *args]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, start_new_session=True
    )
    output: list[str] = []
    port = key = None
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    try:
        while (port is None or key is None) and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                raise AssertionError(f"dscoder serve ended before it served: {''.join(output)}")
            output.append(line)
            port = port or (m.group(1) if (m := _URL.search(line)) else None)
            key = key or (m.group(1) if (m := _KEY.search(line)) else None)
        assert port and key, f"dscoder serve did not say where it serves: {''.join(output)}"
        yield Served(f"http://127.0.0.1:{port}", key, process, output)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        process.stdout.close()


def sse_data(lines: Sequence[str]) -> list[str]:
    """The data of server-sent events, comments (pings) left out."""
    return [line[len("data: ") :] for line in lines if line.startswith("data: ")]
