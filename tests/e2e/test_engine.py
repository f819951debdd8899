"""The real engine process with tiny GGUF models: streaming, cancel, crashes, bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import httpx
import psutil
import pytest

from app.llm.client import OpenAIClient
from app.llm.stream import CancelToken
from app.llm.supervisor import EngineSupervisor
from app.protocol.options import LoadOptions, SamplingParams
from app.utils.errors import ClientError, EngineError, ModelFileError
from tests.helpers.engine import collect
from tests.helpers.waiting import wait_until

USER = [{"role": "user", "content": "Write a function."}]


_open_clients: list[OpenAIClient] = []


def client_for(supervisor: EngineSupervisor) -> OpenAIClient:
    assert supervisor.endpoint is not None
    client = OpenAIClient(supervisor.endpoint.base_url, supervisor.endpoint.api_key)
    _open_clients.append(client)
    return client


@pytest.fixture(autouse=True)
def _close_clients():
    yield
    while _open_clients:
        _open_clients.pop().close()


def wait_for_last_generation(client: OpenAIClient, timeout: float = 10.0) -> dict:
    """The engine's record of its last generation, once that generation was cancelled."""
    wait_until(
        lambda: client.engine_info()["last_generation"].get("finish_reason") == "cancelled",
        timeout=timeout,
        what="the engine recording the cancelled generation",
    )
    return client.engine_info()["last_generation"]


def test_chat_streams_tokens_with_usage_and_timings(tiny_engine):
    client = client_for(tiny_engine)
    deltas = []
    stats = None
    for event in client.stream_chat(USER, SamplingParams(max_tokens=24)):
        if event.text:
            deltas.append(event.text)
        stats = event.stats or stats
    assert len(deltas) >= 5  # streamed piece by piece, not in one block
    assert stats.finish_reason == "length" and stats.completion_tokens == 24
    assert stats.prompt_tokens > 50  # the DeepSeek default system prompt is in there
    assert stats.time_to_first_token_s is not None and stats.tokens_per_s > 0


def test_greedy_is_deterministic_and_models_lists_the_file(tiny_engine):
    client = client_for(tiny_engine)
    a = collect(client.stream_chat(USER, SamplingParams(max_tokens=16)))[0]
    b = collect(client.stream_chat(USER, SamplingParams(max_tokens=16)))[0]
    assert a == b and a
    models = client.models()
    assert models[0]["id"] == "tiny-v1"
    info = client.engine_info()
    assert info["has_fim"] is True and info["chat_format"] == "gguf"
    assert set(info["stop_tokens"]) == {"<|EOT|>", "<｜end▁of▁sentence｜>"}
    assert info["special_tokens"]["fim_pre"] == "<｜fim▁begin｜>"


def test_every_request_needs_the_api_key(tiny_engine):
    base = tiny_engine.endpoint.base_url
    assert httpx.get(base + "/models").status_code == 401
    assert httpx.get(base + "/models", headers={"Authorization": "Bearer wrong"}).status_code == 401
    wrong = OpenAIClient(base, "wrong")
    _open_clients.append(wrong)
    with pytest.raises(ClientError, match="refused the API key"):
        wrong.models()
    assert httpx.get(base.removesuffix("/v1") + "/health").json() == {"status": "ok"}


def test_openai_sse_format_on_the_wire(tiny_engine):
    ep = tiny_engine.endpoint
    body = {"messages": USER, "stream": True, "max_tokens": 4}
    with httpx.stream(
        "POST", ep.base_url + "/chat/completions", json=body, headers={"Authorization": f"Bearer {ep.api_key}"}
    ) as response:
        lines = [line for line in response.iter_lines() if line.startswith("data:")]
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(line[5:]) for line in lines[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"
    assert chunks[-1]["usage"]["completion_tokens"] == 4


def test_stop_strings_never_reach_the_output(tiny_engine):
    client = client_for(tiny_engine)
    full = collect(client.stream_chat(USER, SamplingParams(max_tokens=40)))[0]
    stop = full[10:13]
    text, _, stats = collect(client.stream_chat(USER, SamplingParams(max_tokens=40, stop=(stop,))))
    assert text == full[: full.index(stop)]
    assert stats.finish_reason == "stop"


def test_cancel_while_decoding_stops_fast_and_engine_serves_next(tiny_engine):
    client = client_for(tiny_engine)
    token = CancelToken()
    got = []
    cancelled_at = None
    for event in client.stream_chat(USER, SamplingParams(max_tokens=100000 // 50), token):
        if event.text:
            got.append(event.text)
            if len(got) == 5:
                cancelled_at = time.perf_counter()
                token.cancel()
        if event.stats:
            assert event.stats.finish_reason == "cancelled"
    assert time.perf_counter() - cancelled_at < 2.0  # generous: the figure itself is in the benchmark
    # The engine itself stopped generating, not only the client reading.
    last = wait_for_last_generation(client)
    assert last["finish_reason"] == "cancelled" and last["completion_tokens"] < 1000
    text = collect(client.stream_chat(USER, SamplingParams(max_tokens=8)))[0]
    assert text  # the engine serves the next request normally


def test_cancel_during_long_prompt_processing(slow_prompt_model, tmp_path):
    options = LoadOptions(model_path=str(slow_prompt_model), n_ctx=4096, n_batch=512)
    with EngineSupervisor(options, log_path=tmp_path / "engine.log") as supervisor:
        supervisor.start()
        client = client_for(supervisor)
        long_prompt = [{"role": "user", "content": "def f(x): return x + 1\n" * 150}]
        token = CancelToken()
        timer = threading.Timer(0.5, token.cancel)
        timer.start()
        started = time.perf_counter()
        _, _, stats = collect(client.stream_chat(long_prompt, SamplingParams(max_tokens=4), token))
        waited = time.perf_counter() - started
        assert stats.finish_reason == "cancelled"
        assert waited < 2.0
        last = wait_for_last_generation(client)
        assert last["finish_reason"] == "cancelled" and last["completion_tokens"] == 0
        # The engine stopped evaluating: a short request right after is served promptly.
        started = time.perf_counter()
        text, _, stats = collect(client.stream_chat(USER, SamplingParams(max_tokens=4)))
        assert stats.finish_reason == "length" and stats.completion_tokens == 4
        assert "Traceback" not in supervisor.log_tail(400)


def test_engine_death_mid_stream_is_a_clear_error(tiny_models, tmp_path):
    options = LoadOptions(model_path=str(tiny_models["v1"]), n_ctx=1024)
    with EngineSupervisor(options, log_path=tmp_path / "engine.log") as supervisor:
        ep = supervisor.start()
        client = client_for(supervisor)
        with pytest.raises(ClientError, match="lost in the middle of the answer"):
            for event in client.stream_chat(USER, SamplingParams(max_tokens=5000)):
                if event.text:
                    os.kill(ep.pid, signal.SIGKILL)
        supervisor.process.wait(5)
        death = supervisor.death()
        assert isinstance(death, EngineError) and "SIGKILL" in str(death)
        # It can be started again.
        supervisor.restart()
        assert collect(client_for(supervisor).stream_chat(USER, SamplingParams(max_tokens=3)))[0]


def test_a_file_that_is_not_gguf_is_refused(tiny_models, tmp_path):
    with pytest.raises(ModelFileError, match="not a GGUF model file"):
        EngineSupervisor(LoadOptions(model_path=str(tiny_models["not_gguf"])), log_path=tmp_path / "e.log").start()


def test_a_truncated_file_says_so_with_both_sizes(tiny_models, tmp_path):
    path = tiny_models["truncated"]
    on_disk = path.stat().st_size
    full = tiny_models["v1"].stat().st_size
    with pytest.raises(ModelFileError) as caught:
        EngineSupervisor(LoadOptions(model_path=str(path)), log_path=tmp_path / "e.log").start()
    message = str(caught.value)
    assert "is truncated" in message
    assert f"describes {full:,} bytes" in message and f"on disk has {on_disk:,} bytes" in message
    assert "Download it again, or verify it" in message


def test_a_file_cut_inside_its_header_says_so(tiny_models, tmp_path):
    path = tmp_path / "cut.gguf"
    path.write_bytes(tiny_models["v1"].read_bytes()[:600])
    with pytest.raises(ModelFileError, match="truncated or damaged: it ends after 600 bytes, inside its header"):
        EngineSupervisor(LoadOptions(model_path=str(path)), log_path=tmp_path / "e.log").start()


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("max_tokens", 0, "'max_tokens' must be at least 1"),
        ("max_tokens", -5, "'max_tokens' must be at least 1"),
        ("max_completion_tokens", 0, "'max_completion_tokens' must be at least 1"),
        ("n", -1, "'n' must be 1"),
        ("n", 3, "'n' must be 1"),
        ("stop", [f"s{i}" for i in range(1000)], "'stop' has 1000 strings; the engine takes at most 16"),
        ("stop", 7, "'stop' must be a string or a list of strings"),
        ("temperature", "hot", "'temperature' must be a number"),
        ("temperature", -1, "'temperature' must be from 0 to 2"),
        ("top_p", 3, "'top_p' must be from 0 to 1"),
        ("seed", 1.5, "'seed' must be a whole number"),
    ],
)
def test_bad_fields_get_a_400_that_names_them(tiny_engine, field, value, message):
    ep = tiny_engine.endpoint
    headers = {"Authorization": f"Bearer {ep.api_key}"}
    for path, body in (
        ("/chat/completions", {"messages": USER}),
        ("/completions", {"prompt": "def f(", "suffix": ")"}),
    ):
        for stream in (True, False):
            response = httpx.post(ep.base_url + path, json={**body, field: value, "stream": stream}, headers=headers)
            assert response.status_code == 400, (path, response.text)
            assert message in response.json()["error"]["message"]


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ModelFileError, match="No model file"):
        EngineSupervisor(LoadOptions(model_path=str(tmp_path / "nope.gguf"))).start()
    with pytest.raises(ModelFileError, match="folder"):
        EngineSupervisor(LoadOptions(model_path=str(tmp_path))).start()


def test_context_larger_than_the_model_supports(tiny_models, tmp_path):
    with pytest.raises(EngineError, match="larger than this model supports"):
        EngineSupervisor(
            LoadOptions(model_path=str(tiny_models["v1"]), n_ctx=8192), log_path=tmp_path / "e.log"
        ).start()


def test_hostile_template_is_refused_without_running(tiny_models, tmp_path):
    with EngineSupervisor(
        LoadOptions(model_path=str(tiny_models["hostile"]), n_ctx=512), log_path=tmp_path / "e.log"
    ) as sup:
        sup.start()
        with pytest.raises(ClientError, match="Python internals"):
            collect(client_for(sup).stream_chat(USER, SamplingParams(max_tokens=3)))
        assert sup.is_running()


def test_v2_and_templateless_files_chat(tiny_models, tmp_path):
    for variant, family in (("v2", "gguf"), ("no_template", "deepseek-v1")):
        with EngineSupervisor(
            LoadOptions(model_path=str(tiny_models[variant]), n_ctx=512), log_path=tmp_path / "e.log"
        ) as sup:
            sup.start()
            client = client_for(sup)
            assert client.engine_info()["chat_format"] == family
            assert collect(client.stream_chat(USER, SamplingParams(max_tokens=3)))[2].completion_tokens == 3


def test_overflowing_chat_drops_old_turns_with_a_note(tiny_models, tmp_path):
    with EngineSupervisor(
        LoadOptions(model_path=str(tiny_models["v1"]), n_ctx=512), log_path=tmp_path / "e.log"
    ) as sup:
        sup.start()
        history = []
        for i in range(6):
            history += [
                {"role": "user", "content": f"question {i} " * 10},
                {"role": "assistant", "content": "answer " * 10},
            ]
        history.append({"role": "user", "content": "last question"})
        text, notes, stats = collect(client_for(sup).stream_chat(history, SamplingParams(max_tokens=64)))
        assert notes and "oldest turn" in notes[0]
        assert stats.prompt_tokens + 64 <= 512


def test_fim_uses_vocabulary_tokens_and_refuses_without_them(tiny_engine, tiny_models, tmp_path):
    client = client_for(tiny_engine)
    text, _, stats = collect(client.stream_completion("def f(", "):\n    pass\n", SamplingParams(max_tokens=6)))
    assert stats.completion_tokens == 6
    # Code that contains special-token text stays text: it is not parsed as a FIM token.
    collect(client.stream_completion("s = '<｜fim▁hole｜>'\n", "\n", SamplingParams(max_tokens=2)))
    with EngineSupervisor(
        LoadOptions(model_path=str(tiny_models["no_fim"]), n_ctx=512), log_path=tmp_path / "e.log"
    ) as sup:
        sup.start()
        with pytest.raises(ClientError, match="no fill-in-the-middle tokens"):
            collect(client_for(sup).stream_completion("a", "b", SamplingParams(max_tokens=2)))


def test_no_orphan_engine_when_the_parent_is_killed(tiny_models, tmp_path):
    script = (
        "import sys, time\n"
        "from app.protocol.options import LoadOptions\n"
        "from app.llm.supervisor import EngineSupervisor\n"
        f"s = EngineSupervisor(LoadOptions(model_path={str(tiny_models['v1'])!r}, n_ctx=512))\n"
        "ep = s.start()\n"
        "print(ep.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, DSCODER_HOME=str(tmp_path)),
    )
    engine_pid = int(parent.stdout.readline())
    assert psutil.pid_exists(engine_pid)
    parent.kill()
    parent.wait()
    parent.stdout.close()

    def engine_gone() -> bool:
        try:
            return psutil.Process(engine_pid).status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True

    wait_until(engine_gone, timeout=10, what="the engine ending with its parent")


def test_complete_middle_reports_a_cancel_by_the_caller(tiny_engine):
    from app.completion.fim import complete_middle

    client = client_for(tiny_engine)
    token = CancelToken()
    token.cancel()
    middle, stats = complete_middle(client, "def f(", "):\n", "python", SamplingParams(max_tokens=8), token)
    assert stats.finish_reason == "cancelled" and middle == ""
    middle, stats = complete_middle(client, "x = f(", ")\n", "python", SamplingParams(max_tokens=200))
    assert stats.finish_reason in ("stop", "length")
