"""The app as a client of llama-cpp-python's own server (`python -m llama_cpp.server`), tried
as a new user would: that server accepts `suffix` but builds a wrong FIM prompt from it
(token 0 where the FIM tokens go), so the probe must notice from its answers and write the
model family's FIM tokens itself, and say so."""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import time

import httpx
import pytest

from app.config.remotes import RemoteEngine
from app.llm.remote_probe import FIM_RAW, probe_remote
from app.llm.targets import endpoint_completion_client

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp.server") is None or importlib.util.find_spec("pydantic_settings") is None,
    reason="llama-cpp-python's server extra is not installed (pip install 'llama-cpp-python[server]')",
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def llama_cpp_server(tiny_models, tmp_path_factory):
    port = _free_port()
    log = (tmp_path_factory.mktemp("llama-cpp-server") / "server.log").open("wb")
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(tiny_models["v1"]), "--port", str(port)]
    process = subprocess.Popen([*command, "--n_ctx", "1024"], stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            pytest.fail("llama_cpp.server did not start")
        yield base
    finally:
        process.terminate()
        process.wait(10)
        log.close()


def test_the_probe_picks_raw_fim_tokens_by_what_the_server_answers(llama_cpp_server):
    result = probe_remote(RemoteEngine("llama-cpp-python", llama_cpp_server), None)
    assert result.ok and result.fim is not None
    # Its `suffix` answer is not what the model's own FIM prompt gives, so raw tokens win: DeepSeek's
    # (this server reports no token counts in streams and names no family, so the first format).
    assert result.fim.mode == FIM_RAW and result.fim.format == "deepseek"
    assert "DeepSeek-Coder FIM tokens as raw text" in result.message


def test_dscoder_complete_endpoint_uses_the_mode_the_probe_found(llama_cpp_server):
    client, fim = endpoint_completion_client(llama_cpp_server, None)
    try:
        assert fim.mode == FIM_RAW and fim.format == "deepseek"
        events = list(client.stream_completion("def add(a, b):\n    return ", "\n\nprint(add(1, 2))\n"))
    finally:
        client.close()
    assert events[-1].stats is not None and events[-1].stats.finish_reason in ("stop", "length")
