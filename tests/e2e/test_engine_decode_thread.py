"""Every decode of the real engine process runs on one thread, so no path that decodes
leaves threads behind.

llama.cpp's CPU backend (OpenMP, libgomp here) keeps a team of worker threads for every
thread that ever decoded, while that thread lives; with more of them than CPUs, every
decode slows down (app/engine/decode_thread.py). With n_threads 2 each team has one
worker, so a long-lived thread that decoded on its own shows as one more OS thread of the
process. Built without OpenMP the counts stay flat as well: the test asserts no growth."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import psutil
import pytest

from app.llm.client import OpenAIClient
from app.llm.supervisor import EngineSupervisor
from app.protocol.options import LoadOptions, SamplingParams
from tests.helpers.engine import collect
from tests.helpers.waiting import wait_until

FILE = "".join(f"def f_{i}(x):\n    return x * {i}\n\n" for i in range(30))
SETTLE_S = 0.6  # how long a count is watched: a request's own thread (and its team) takes a moment to end


@pytest.fixture(scope="module")
def engine(tiny_models, tmp_path_factory):
    options = LoadOptions(model_path=str(tiny_models["v1"]), n_ctx=2048, n_threads=2, n_threads_batch=2)
    supervisor = EngineSupervisor(options, log_path=tmp_path_factory.mktemp("engine-log") / "engine.log")
    supervisor.start()
    yield supervisor
    supervisor.stop()


def settled_threads(supervisor: EngineSupervisor, client: OpenAIClient) -> int:
    """The engine process's OS threads once nothing runs: the fewest seen over SETTLE_S."""
    wait_until(
        lambda: not any(queue["busy"] for queue in client.engine_info()["queues"].values()),
        what="the engine to be idle",
    )
    assert supervisor.process is not None
    process = psutil.Process(supervisor.process.pid)
    fewest = process.num_threads()
    deadline = time.monotonic() + SETTLE_S
    while time.monotonic() < deadline:
        time.sleep(0.05)
        fewest = min(fewest, process.num_threads())
    return fewest


def fill_the_executor(supervisor: EngineSupervisor, client: OpenAIClient) -> None:
    """asyncio's default executor starts a thread when it finds none idle (up to its cap), and
    back-to-back calls sometimes race it into one more; start them all now, so that only
    what decoding adds can change the count later."""
    cap = min(32, (os.cpu_count() or 1) + 4)  # ThreadPoolExecutor's default max_workers
    assert supervisor.process is not None
    process = psutil.Process(supervisor.process.pid)
    counts = [process.num_threads()]
    with ThreadPoolExecutor(cap * 2) as pool:
        while len(counts) < 3 or counts[-1] != counts[-3]:  # until two bursts add nothing
            list(pool.map(lambda _: client.engine_info(), range(cap * 4)))
            counts.append(process.num_threads())
            assert len(counts) < 30, counts


def post(supervisor: EngineSupervisor, path: str, body: dict) -> dict:
    assert supervisor.endpoint is not None
    root = supervisor.endpoint.base_url.removesuffix("/v1")
    headers = {"Authorization": f"Bearer {supervisor.endpoint.api_key}"}
    response = httpx.post(f"{root}{path}", json=body, headers=headers, timeout=60)
    assert response.status_code < 300, response.text
    return dict(response.json())


def test_no_path_that_decodes_adds_threads(engine):
    assert engine.endpoint is not None
    client = OpenAIClient(engine.endpoint.base_url, engine.endpoint.api_key)
    user = [{"role": "user", "content": "Write a function."}]
    assert collect(client.stream_chat(user, SamplingParams(max_tokens=8)))[0]
    fill_the_executor(engine, client)
    after_first_decode = settled_threads(engine, client)

    def non_streamed_chat() -> None:
        body = {"messages": user, "max_tokens": 8, "stream": False}
        assert post(engine, "/v1/chat/completions", body)["choices"][0]["message"]["content"]

    def streamed_fim() -> None:
        collect(client.stream_completion("def add(a, b):\n    ", "\n", SamplingParams(max_tokens=8)))

    def non_streamed_fim() -> None:
        body = {"prompt": "def add(a, b):\n    ", "suffix": "\n", "max_tokens": 8, "stream": False}
        post(engine, "/v1/completions", body)

    def llama_server_infill() -> None:
        post(engine, "/infill", {"input_prefix": "def add(a, b):\n    ", "input_suffix": "\n", "n_predict": 8})

    def idle_prefill() -> None:
        opening = f"Here is the file `f.py` (Python):\n\n```python\n{FILE}```\n\n"
        done = client.engine_info()["prefill"]["completed"]
        assert client.prefill_chat([{"role": "user", "content": opening}]) > 0
        wait_until(lambda: client.engine_info()["prefill"]["completed"] > done, what="idle prefill")

    counts = {}
    for path in (non_streamed_chat, streamed_fim, non_streamed_fim, llama_server_infill, idle_prefill):
        path()
        counts[path.__name__] = settled_threads(engine, client)
    client.close()
    assert all(count <= after_first_decode for count in counts.values()), (after_first_decode, counts)
