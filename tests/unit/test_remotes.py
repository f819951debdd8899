"""Remote engines: a second `dscoder serve` as the remote, a loopback fake for failures,
FIM detection, and where API keys are kept."""

from __future__ import annotations

import json
import os
import socket
import stat
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import keyring
import keyring.backend
import pytest
from keyring.backends import fail

from app.config.remotes import RemoteEngine, api_key_for, normalize_base_url, save_api_key, validate_remote
from app.llm.client import OpenAIClient
from app.llm.remote_probe import FIM_OFF, FIM_RAW, FIM_SUFFIX, client_for, deepseek_fim_prompt, probe_remote
from app.llm.stream import CancelToken
from app.protocol.options import SamplingParams
from app.utils import paths
from app.utils.errors import ClientError
from app.utils.secrets import SecretStore, default_secret_store, system_keyring
from tests.helpers.served import serving
from tests.helpers.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
REMOTE_KEY = "remote-secret-key"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- a second local `dscoder serve`: the remote --------------------------------------------
@pytest.fixture(scope="module")
def remote_url(tiny_models):
    # --require-key: as a remote on another machine would, it checks the key.
    with serving(tiny_models["v1"], "--api-key", REMOTE_KEY, "--require-key", "--ctx", "1024") as server:
        yield server.base  # no /v1: the app adds it, as a user may leave it off


@pytest.mark.slow
def test_chat_streams_from_the_remote_like_the_local_engine(remote_url):
    remote = RemoteEngine("Second machine", remote_url, kind="llama-server")
    save_api_key(remote, REMOTE_KEY)
    client = client_for(remote, api_key_for(remote))
    try:
        events = list(
            client.stream_chat([{"role": "user", "content": "Write hello world in C"}], SamplingParams(max_tokens=8))
        )
    finally:
        client.close()
    assert "".join(e.text for e in events)
    stats = events[-1].stats
    assert stats is not None and stats.finish_reason in ("stop", "length") and stats.completion_tokens >= 1


@pytest.mark.slow
def test_probe_lists_models_and_finds_fim_with_suffix(remote_url):
    result = probe_remote(RemoteEngine("Second machine", remote_url), REMOTE_KEY)
    assert result.ok, result.message
    assert "tiny-v1" in result.models and "chat works" in result.message
    assert result.fim is not None and result.fim.mode == FIM_SUFFIX and result.fim.enabled


@pytest.mark.slow
def test_probe_with_a_wrong_key_says_so(remote_url):
    result = probe_remote(RemoteEngine("Second machine", remote_url), "wrong-key")
    assert not result.ok
    assert "refused the API key" in result.message and "Check the API key" in result.message


@pytest.mark.slow
def test_probe_names_a_missing_model(remote_url):
    result = probe_remote(RemoteEngine("Second machine", remote_url, model="deepseek-coder-33b"), REMOTE_KEY)
    assert not result.ok
    assert "does not list the model 'deepseek-coder-33b'" in result.message and "tiny-v1" in result.message


def test_probe_of_a_server_that_is_not_running():
    result = probe_remote(RemoteEngine("Nobody", f"http://127.0.0.1:{free_port()}/v1"), None)
    assert not result.ok and "Could not connect" in result.message and "server is running" in result.message


# -- a loopback fake for failures ----------------------------------------------------------
class FakeServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), FakeHandler)
        self.release = threading.Event()  # ends stalls at teardown
        self.client_gone = threading.Event()  # the client closed a stream we were sending
        self.bodies: list[dict] = []

    def url(self, mode: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/{mode}/v1"


class FakeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def _json(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _chunk(self, text: str) -> None:
        data = text.encode()
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _event(self, chat: bool, text: str, finish: str | None = None) -> None:
        choice = {"index": 0, "finish_reason": finish}
        choice.update({"delta": {"content": text}} if chat else {"text": text})
        self._chunk(f"data: {json.dumps({'choices': [choice]})}\n\n")

    def _route(self) -> None:
        _, mode, _v1, *rest = self.path.split("/")
        endpoint = "/".join(rest)
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else {}
        self.server.bodies.append(body)
        statuses = {"401": 401, "429": 429, "500": 500}
        if mode in statuses:
            self._json(statuses[mode], {"error": {"message": f"fake {mode}", "type": "error"}})
            return
        if mode == "stall":
            self.server.release.wait(30)
            return
        if endpoint == "models":
            self._json(200, {"object": "list", "data": [{"id": "deepseek-coder-33b-instruct"}, {"id": "qwen"}]})
            return
        chat = endpoint == "chat/completions"
        if mode == "vllm" and body.get("suffix") is not None:  # what vLLM answers
            self._json(400, {"error": {"message": "suffix is not currently supported", "type": "BadRequestError"}})
            return
        if mode == "chatonly" and not chat:  # a chat-only API: no completions at all
            self._json(404, {"error": {"message": "completions are not supported", "type": "NotFound"}})
            return
        self._start_stream()
        self._event(chat, "Hello")
        if mode == "drop":
            self._event(chat, ", wor")
            self.close_connection = True  # gone without the last chunk: a crashed server
            return
        if mode == "slow":
            try:
                while not self.server.release.is_set():
                    self._chunk(": ping\n\n")
                    time.sleep(0.02)
            except OSError:
                self.server.client_gone.set()
            return
        self._event(chat, "", finish="length")
        self._chunk("data: [DONE]\n\n")
        self._chunk("")

    do_GET = _route
    do_POST = _route


@pytest.fixture(scope="module")
def fake():
    server = FakeServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()
    thread.join(5)


def chat_error(url: str, **client_args: float) -> ClientError:
    client = OpenAIClient(url, "key", "m", **client_args)
    try:
        with pytest.raises(ClientError) as info:
            list(client.stream_chat([{"role": "user", "content": "hi"}]))
    finally:
        client.close()
    return info.value


@pytest.mark.parametrize(
    ("mode", "status", "words"),
    [
        ("401", 401, "refused the API key"),
        ("429", 429, "rate-limiting"),
        ("500", 500, "The server failed (HTTP 500): fake 500"),
    ],
)
def test_http_failures_give_clear_messages(fake, mode, status, words):
    error = chat_error(fake.url(mode))
    assert error.status == status and words in str(error) and error.todo


def test_a_stalled_server_times_out_with_a_clear_message(fake):
    error = chat_error(fake.url("stall"), read_timeout=0.3)
    assert "did not answer in time" in str(error) and "Try again" in str(error)
    result = probe_remote(RemoteEngine("Stuck", fake.url("stall")), None, timeout=0.3)
    assert not result.ok and "did not answer in time" in result.message


def test_a_stream_dropped_mid_answer_says_so(fake):
    error = chat_error(fake.url("drop"))
    assert "lost in the middle of the answer" in str(error)


def test_cancel_closes_the_stream(fake):
    fake.client_gone.clear()
    client = OpenAIClient(fake.url("slow"), "key", "m")
    cancel = CancelToken()
    texts: list[str] = []
    finished: list[object] = []

    def consume() -> None:
        for event in client.stream_chat([{"role": "user", "content": "hi"}], cancel=cancel):
            if event.text:
                texts.append(event.text)
            if event.stats:
                finished.append(event.stats.finish_reason)

    worker = threading.Thread(target=consume)
    worker.start()
    try:
        wait_until(lambda: texts == ["Hello"])
        cancel.cancel()
        worker.join(10)
        assert not worker.is_alive() and finished == ["cancelled"]
        assert fake.client_gone.wait(10)  # the server saw the connection close
    finally:
        client.close()


def test_a_vllm_like_server_gets_raw_deepseek_fim_prompts(fake):
    result = probe_remote(RemoteEngine("vLLM box", fake.url("vllm"), "deepseek-coder-33b-instruct", "vllm"), "k")
    assert result.ok and result.fim is not None
    assert result.fim.mode == FIM_RAW and result.fim.enabled and result.fim.format == "deepseek"
    assert "DeepSeek-Coder FIM tokens" in result.message and "does not take 'suffix'" in result.message
    raw = [b for b in fake.bodies if "prompt" in b and "suffix" not in b]
    assert any(b["prompt"].startswith("<｜fim▁begin｜>") and b["temperature"] == 0.0 for b in raw)


def test_raw_fim_is_written_for_the_models_family_not_only_deepseek(fake):
    result = probe_remote(RemoteEngine("vLLM box", fake.url("vllm"), "qwen", "vllm"), "k")
    assert result.ok and result.fim is not None
    assert result.fim.mode == FIM_RAW and result.fim.format == "qwen" and "Qwen2.5-Coder" in result.fim.reason


def test_completion_is_unavailable_with_the_reason_when_nothing_works(fake):
    result = probe_remote(RemoteEngine("Chat API", fake.url("chatonly"), "qwen", "other"), "k")
    assert result.ok  # chat still works
    assert result.fim is not None and result.fim.mode == FIM_OFF and not result.fim.enabled
    assert "Completion is unavailable on this server" in result.fim.reason
    assert "no /completions endpoint" in result.fim.reason


def test_deepseek_fim_prompt_order():
    assert deepseek_fim_prompt("a", "b") == "<｜fim▁begin｜>a<｜fim▁hole｜>b<｜fim▁end｜>"


def test_remote_fields_are_checked():
    assert normalize_base_url(" http://box:8000/ ") == "http://box:8000/v1"
    assert normalize_base_url("https://api.deepseek.com/beta/") == "https://api.deepseek.com/beta"
    assert validate_remote(RemoteEngine("Box", "http://box:8000/v1", "m", "vllm")) == []
    assert any("needs a name" in p for p in validate_remote(RemoteEngine(" ", "http://box/v1")))
    assert any("http:// or https://" in p for p in validate_remote(RemoteEngine("Box", "box:8000")))
    assert any(
        "enter the model name" in p for p in validate_remote(RemoteEngine("O", "http://h:11434/v1", "", "ollama"))
    )
    assert any("Unknown kind" in p for p in validate_remote(RemoteEngine("X", "http://h/v1", "m", "tgi")))
    assert RemoteEngine.from_dict(RemoteEngine("A", "http://a/v1", id="x1").to_dict()).id == "x1"
    with pytest.raises(ValueError):
        RemoteEngine.from_dict({"name": "no url"})


# -- API keys ----------------------------------------------------------------------------
class MemoryKeyring(keyring.backend.KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self, broken: bool = False) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}
        self.broken = broken

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        if self.broken:
            raise keyring.errors.PasswordSetError("the keyring is locked")
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.items.pop((service, username), None)


@pytest.fixture
def keyring_backend(monkeypatch):
    # Restores keyring's chosen backend without asking for it: choosing one imports every
    # backend, and the macOS one runs `ld` to look for a library (a process, on first use).
    monkeypatch.setattr(keyring.core, "_keyring_backend", keyring.core._keyring_backend)
    return keyring.set_keyring


def test_keys_fall_back_to_a_private_file_when_keyring_has_no_backend(keyring_backend, monkeypatch):
    keyring_backend(fail.Keyring())
    home = os.environ["DSCODER_HOME"]
    monkeypatch.delenv("DSCODER_HOME")
    assert system_keyring() is None  # the fail backend is not a keyring
    monkeypatch.setenv("DSCODER_HOME", home)
    store = default_secret_store()
    assert store.backend is None
    remote = RemoteEngine("Box", "http://box:8000/v1", "m", "vllm")
    save_api_key(remote, "  sk-123  ", store)
    assert api_key_for(remote, store) == "sk-123"
    assert store.file_path.parent == paths.config_dir()
    assert stat.S_IMODE(os.stat(store.file_path).st_mode) == 0o600
    os.chmod(store.file_path, 0o644)  # loosened by hand: tightened on the next read
    assert store.get(remote.secret_name) == "sk-123"
    assert stat.S_IMODE(os.stat(store.file_path).st_mode) == 0o600
    save_api_key(remote, None, store)
    assert api_key_for(remote, store) is None
    assert "(readable only by you)" in store.where


def test_keys_go_to_the_keyring_when_one_works(keyring_backend, monkeypatch, tmp_path):
    memory = MemoryKeyring()
    keyring_backend(memory)
    monkeypatch.delenv("DSCODER_HOME")
    assert system_keyring() is memory
    store = SecretStore(memory, tmp_path / "secrets.json")
    store.set("hub-token", "hf_abc")
    assert memory.items == {("dscoder", "hub-token"): "hf_abc"}
    assert store.get("hub-token") == "hf_abc" and not store.file_path.exists()
    store.delete("hub-token")
    assert memory.items == {}


def test_a_locked_keyring_falls_back_to_the_file(tmp_path):
    store = SecretStore(MemoryKeyring(broken=True), tmp_path / "secrets.json")
    store.set("remote-engine:x", "sk-9")
    assert store.get("remote-engine:x") == "sk-9"
    assert json.loads(store.file_path.read_text()) == {"remote-engine:x": "sk-9"}


def test_dscoder_home_keeps_tests_out_of_the_real_keyring():
    assert system_keyring() is None


def test_an_unnamed_llama_server_model_is_judged_by_the_name_it_lists(fake):
    # The fake lists two models; a one-model server's single name is used when the field is empty.
    result = probe_remote(RemoteEngine("llama", fake.url("vllm"), "", "llama-server"), "k")
    # Two names: no guess from a name, but the answers still pick a raw format.
    assert result.ok and result.fim is not None and result.fim.mode == FIM_RAW
