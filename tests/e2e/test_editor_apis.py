"""`dscoder serve` with the tiny model, spoken to in the editors' own APIs over HTTP.

llama.vim itself can't be fetched here (it is not on a package registry), so
`test_llama_vim_request_pattern` replays the requests it builds, field for field as its
source (autoload/llama.vim) and llama.cpp's server README describe them: the ring
buffer's warm-up (`n_predict: 0`, `response_fields: [""]`), then the completion request
with `input_extra`, `prompt` (the line before the cursor), `n_indent`, the samplers and
`response_fields` with flattened keys, then the same after a one-character edit.
"""

from __future__ import annotations

import json
import threading

import httpx
import pytest

from tests.helpers.served import Served, serving, sse_data
from tests.helpers.waiting import wait_until

PREFIX = "import os\n\n\ndef add(a, b):\n"
SUFFIX = "\n\nprint(add(1, 2))\n"
RING = [
    {"filename": "utils/math.py", "text": "def mul(a, b):\n    return a * b\n" * 4, "time": 1},
    {"filename": "main.py", "text": "from utils.math import mul\n\nprint(mul(2, 3))\n", "time": 2},
]
LLAMA_VIM_FIELDS = [
    "content",
    "timings/prompt_n",
    "timings/prompt_ms",
    "timings/prompt_per_token_ms",
    "timings/prompt_per_second",
    "timings/predicted_n",
    "timings/predicted_ms",
    "timings/predicted_per_token_ms",
    "timings/predicted_per_second",
    "truncated",
    "tokens_cached",
]


@pytest.fixture(scope="module")
def served(tiny_models):
    with serving(tiny_models["v1"], "--ctx", "2048", "--completion-ctx", "1024") as server:
        yield server


def llama_vim_fim(prefix: str, middle: str, suffix: str, extra: list[dict]) -> dict:
    """The body of llama.vim's FIM request (llama#fim), with its defaults."""
    return {
        "input_prefix": prefix,
        "input_suffix": suffix,
        "input_extra": extra,
        "prompt": middle,
        "n_predict": 128,
        "stop": [],
        "n_indent": 4,
        "top_k": 40,
        "top_p": 0.90,
        "stream": False,
        "samplers": ["top_k", "top_p", "infill"],
        "cache_prompt": True,
        "t_max_prompt_ms": 500,
        "t_max_predict_ms": 250,
        "response_fields": LLAMA_VIM_FIELDS,
    }


def llama_vim_warm_up(extra: list[dict]) -> dict:
    """The body of llama.vim's ring-buffer update (s:ring_update): evaluate, answer nothing."""
    return {
        "input_prefix": "",
        "input_suffix": "",
        "input_extra": extra,
        "prompt": "",
        "n_predict": 0,
        "temperature": 0.0,
        "stream": False,
        "samplers": [],
        "cache_prompt": True,
        "t_max_prompt_ms": 1,
        "t_max_predict_ms": 1,
        "response_fields": [""],
    }


def test_llama_vim_request_pattern(served: Served):
    url = f"{served.base}/infill"  # llama.vim sends no key when none is configured
    warm = httpx.post(url, json=llama_vim_warm_up(RING), timeout=30)
    assert warm.status_code == 200 and warm.json() == {}

    first = httpx.post(url, json=llama_vim_fim(PREFIX, "    ret", SUFFIX, RING), timeout=30)
    assert first.status_code == 200
    reply = first.json()
    assert sorted(reply) == sorted(LLAMA_VIM_FIELDS)  # exactly the flattened fields it asked for
    assert isinstance(reply["content"], str) and reply["truncated"] is False
    assert reply["timings/predicted_n"] >= 1 and reply["tokens_cached"] > reply["timings/prompt_n"]
    # The warm-up left the ring's chunks in the completion context: only the file is new.
    assert reply["timings/prompt_n"] < reply["tokens_cached"] - 20

    # One character typed on the line: the context reuses all but the end.
    second = httpx.post(url, json=llama_vim_fim(PREFIX, "    retu", SUFFIX, RING), timeout=30).json()
    assert second["timings/prompt_n"] <= 4


def test_infill_applies_the_fim_rules_and_the_clients_limits(served: Served):
    body = {**llama_vim_fim(PREFIX, "    return a", SUFFIX, []), "response_fields": None, "n_predict": 64}
    body.pop("response_fields")
    reply = httpx.post(f"{served.base}/infill", json=body, timeout=30).json()
    # Mid-line rules end the middle at the end of the line, and n_indent keeps it in the block.
    assert "\n" not in reply["content"].rstrip("\n")
    assert reply["stop"] is True and set(reply["timings"]) >= {"prompt_n", "predicted_n", "predicted_ms"}
    assert reply["model"] == "tiny-v1"


def test_infill_streams_llama_server_events(served: Served):
    body = {"input_prefix": PREFIX, "input_suffix": SUFFIX, "prompt": "    ", "n_predict": 6, "stream": True}
    with httpx.stream("POST", f"{served.base}/infill", json=body, timeout=30) as response:
        data = sse_data(list(response.iter_lines()))
    events = [json.loads(d) for d in data]
    assert "[DONE]" not in data  # llama-server ends its streams without OpenAI's marker
    assert events[-1]["stop"] is True and "timings" in events[-1]
    assert all(e["stop"] is False for e in events[:-1])


def test_input_extra_is_trimmed_to_fit_and_only_an_impossible_prompt_fails(served: Served):
    big_ring = [{"filename": f"f{i}.py", "text": f"value_{i} = {i}\n" * 40} for i in range(12)]
    reply = httpx.post(f"{served.base}/infill", json=llama_vim_fim(PREFIX, "    ", SUFFIX, big_ring), timeout=30)
    assert reply.status_code == 200 and reply.json()["truncated"] is True
    too_long = llama_vim_fim(PREFIX, "x" * 6000, SUFFIX, [])
    refused = httpx.post(f"{served.base}/infill", json=too_long, timeout=30)
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == 400 and "completion context" in error["message"]


def test_completion_and_props_as_llama_server_clients_use_them(served: Served):
    props = httpx.get(f"{served.base}/props", timeout=10).json()
    assert props["default_generation_settings"]["n_ctx"] == 1024 and props["total_slots"] == 2
    reply = httpx.post(f"{served.base}/completion", json={"prompt": "def f():", "n_predict": 5}, timeout=30).json()
    assert reply["tokens_predicted"] == 5 and reply["stop"] is True and reply["stop_type"] == "limit"
    assert httpx.get(f"{served.base}/health", timeout=10).json() == {"status": "ok"}


@pytest.mark.parametrize(
    ("path", "body", "shape"),
    [
        ("/v1/chat/completions", {"messages": "hi"}, "openai"),
        ("/v1/completions", {"prompt": 5}, "openai"),
        ("/infill", {"input_prefix": 3}, "llama_server"),
        ("/completion", {"prompt": {"x": 1}}, "llama_server"),
        ("/api/chat", {"model": "dscoder", "messages": [{"role": "wizard"}]}, "ollama"),
        ("/api/generate", {"model": "dscoder", "prompt": "x", "options": {"num_predict": "many"}}, "ollama"),
        ("/api/show", {}, "ollama"),
    ],
)
def test_bad_requests_get_a_400_in_their_apis_shape(served: Served, path, body, shape):
    reply = httpx.post(f"{served.base}{path}", json=body, headers={"Authorization": f"Bearer {served.api_key}"})
    assert reply.status_code == 400
    error = reply.json()["error"]
    if shape == "ollama":
        assert isinstance(error, str) and error
    elif shape == "llama_server":
        assert error["code"] == 400 and error["message"]
    else:
        assert error["type"] == "invalid_request_error" and error["message"]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/completions", {"prompt": "x = 1\n" * 3000, "stream": True}),
        ("/api/generate", {"model": "dscoder", "prompt": "x = 1\n" * 3000, "raw": True}),
        ("/completion", {"prompt": "x = 1\n" * 3000, "stream": True}),
    ],
)
def test_a_request_larger_than_the_context_is_a_400_that_says_so(served: Served, path, body):
    reply = httpx.post(f"{served.base}{path}", json=body, timeout=30)
    assert reply.status_code == 400
    assert "context holds" in json.dumps(reply.json())


def test_not_json_is_a_400_and_keys_are_optional_only_where_serving_on_loopback(served: Served, tiny_engine):
    reply = httpx.post(f"{served.base}/api/chat", content=b"{nope", timeout=10)
    assert reply.status_code == 400 and "not valid JSON" in reply.json()["error"]
    # Serving on 127.0.0.1: Ollama's clients send no key, Continue's a placeholder.
    assert httpx.get(f"{served.base}/v1/models", timeout=10).status_code == 200
    placeholder = httpx.get(f"{served.base}/api/tags", headers={"Authorization": "Bearer x"}, timeout=10)
    assert placeholder.status_code == 200
    # The window's private engine (not serving) wants its key, and says so in each API's words.
    root = tiny_engine.endpoint.base_url.removesuffix("/v1")
    assert httpx.get(f"{root}/api/tags", timeout=10).json() == {"error": "Missing or wrong API key"}
    refused = httpx.post(f"{root}/infill", json={}, timeout=10)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == 401


def test_nothing_served_names_the_users_folders(served: Served, tiny_models):
    folder = str(tiny_models["v1"].parent)
    for path in ("/v1/models", "/dscoder/info", "/props", "/api/tags", "/api/ps"):
        text = httpx.get(f"{served.base}{path}", timeout=10).text
        assert folder not in text, path
    info = served.info()
    assert info["model_file"] == "tiny-v1.gguf" and info["load_options"]["model_path"] == "tiny-v1.gguf"


def test_a_client_that_leaves_stops_its_generation(served: Served):
    body = {"model": "dscoder", "prompt": "def f():", "raw": True, "options": {"num_predict": -1}}
    with httpx.stream("POST", f"{served.base}/api/generate", json=body, timeout=30) as response:
        for _line in response.iter_lines():
            break  # the first piece is here: leave
    wait_until(lambda: served.info()["last_generation"].get("finish_reason") == "cancelled", timeout=10)
    assert served.info()["last_generation"]["completion_tokens"] < 1000


def test_clients_are_counted_per_api_while_served(served: Served):
    before = served.info()["clients"]["served"]
    httpx.get(f"{served.base}/api/tags", timeout=10)
    httpx.post(f"{served.base}/infill", json=llama_vim_warm_up([]), timeout=10)
    after = served.info()["clients"]
    assert after["served"]["ollama"] == before["ollama"] + 1
    assert after["served"]["llama_server"] == before["llama_server"] + 1
    assert after["recent_clients"] >= 1 and after["open_requests"] == 0


def test_editor_and_window_requests_share_one_queue(slow_prompt_model):
    """An /infill from an editor and the window's own completion (/v1/completions with a
    suffix) wait for the same completion context, in arrival order."""
    with serving(slow_prompt_model, "--ctx", "4096") as server:
        long_prefix = "def f(x):\n    return x + 1\n" * 120
        editor_done = threading.Event()

        def editor() -> None:
            body = {"input_prefix": long_prefix, "input_suffix": "\n", "n_predict": 2}
            httpx.post(f"{server.base}/infill", json=body, timeout=60)
            editor_done.set()

        threading.Thread(target=editor, daemon=True).start()
        wait_until(lambda: server.info()["queues"]["completion"].get("busy") is True, timeout=20)
        window = {"prompt": "def g():\n", "suffix": "\n", "max_tokens": 2, "stream": True}
        headers = {"Authorization": f"Bearer {server.api_key}", "User-Agent": "dscoder/test"}
        with httpx.stream("POST", f"{server.base}/v1/completions", json=window, headers=headers, timeout=60) as reply:
            first = json.loads(sse_data(list(reply.iter_lines()))[0])
        assert first["dscoder"] == {"waiting": 1}  # behind the editor's request
        assert editor_done.wait(30)  # the editor's request finished first, then this one ran
