"""The Qt-free parts of the editor APIs: the stop rules an /infill gets, llama-server's
flattened response fields, what clients may see of the engine's info, the error shapes,
the raw FIM formats, and the status bar's serving text."""

from __future__ import annotations

import pytest

from app.engine.access import ClientCounter, api_of, error_body, public_info
from app.engine.api_llama_server import pick_fields
from app.engine.editor_rules import EditorRules
from app.llm.fim_formats import fim_format, formats_for
from app.mainwindow.serving import serving_text
from app.protocol.fim_rules import FimFilter


def feed_all(rules: EditorRules, pieces: list[str]) -> str:
    out = []
    for piece in pieces:
        text, done = rules.feed(piece)
        out.append(text)
        if done:
            return "".join(out)
    return "".join(out) + rules.finish()


def test_n_indent_ends_the_middle_at_a_line_that_leaves_the_block():
    rules = EditorRules(FimFilter("def f():\n    ", "\n"), n_indent=4)
    text = feed_all(rules, ["x = 1\n", "    y = 2\n", "def g():\n", "    pass\n"])
    assert text == "x = 1\n    y = 2" and rules.stop_type == "indent"


def test_the_fim_rules_end_a_mid_line_completion_at_the_end_of_the_line():
    rules = EditorRules(FimFilter("total = sum(", ")\n"))
    assert feed_all(rules, ["values", ")\nprint(total)\n"]) == "values" and rules.stop_type == "fim"


def test_t_max_predict_ms_ends_the_middle_at_a_line_end_once_past_the_time():
    rules = EditorRules(FimFilter("def f():\n", "\n"), t_max_predict_ms=0.001)
    text, done = rules.feed("    a = 1\n")
    assert text == "    a = 1" and not done  # one line, but no line end has passed yet
    text, done = rules.feed("    b = 2\n")
    assert done and rules.stop_type == "time" and rules.text == "    a = 1\n    b = 2"


def test_response_fields_are_flattened_as_llama_server_does():
    reply = {"content": "x", "timings": {"prompt_n": 3, "predicted_n": 2}, "truncated": False}
    assert pick_fields(reply, ["content", "timings/prompt_n", "timings/missing", "nope"]) == {
        "content": "x",
        "timings/prompt_n": 3,
    }
    assert pick_fields(reply, [""]) == {}  # llama.vim's warm-up asks for nothing
    assert pick_fields(reply, None) is reply


def test_clients_see_file_names_never_paths():
    info = {"model_path": "/home/ann/models/m.gguf", "load_options": {"model_path": "/home/ann/m.gguf", "n_ctx": 9}}
    shown = public_info(info)
    assert "model_path" not in shown and shown["model_file"] == "m.gguf"
    assert shown["load_options"] == {"model_path": "m.gguf", "n_ctx": 9}
    assert "/home/ann" not in repr(shown)


@pytest.mark.parametrize(
    ("path", "api", "shape"),
    [
        ("/api/chat", "ollama", {"error": "bad"}),
        ("/infill", "llama_server", {"error": {"code": 400, "message": "bad", "type": "invalid_request_error"}}),
        ("/v1/completions", "openai", {"error": {"message": "bad", "type": "invalid_request_error", "code": None}}),
        ("/chat/completions", "openai", {"error": {"message": "bad", "type": "invalid_request_error", "code": None}}),
    ],
)
def test_errors_take_the_shape_of_the_api_asked(path, api, shape):
    assert api_of(path) == api and error_body(path, 400, "bad") == shape
    assert api_of("/dscoder/info") is None and api_of("/health") is None


def test_client_counter_counts_open_and_served_requests_and_recent_programs():
    counter = ClientCounter()
    counter.enter("ollama", ("127.0.0.1", "Continue"))
    counter.enter("llama_server", ("127.0.0.1", "curl"))
    status = counter.status()
    assert status["open_requests"] == 2 and status["recent_clients"] == 2
    counter.leave("ollama", ("127.0.0.1", "Continue"))
    assert counter.status()["open"]["ollama"] == 0 and counter.status()["served"]["ollama"] == 1


def test_raw_fim_formats_per_family():
    assert fim_format("qwen").prompt("a", "b") == "<|fim_prefix|>a<|fim_suffix|>b<|fim_middle|>"
    assert fim_format("deepseek").prompt("a", "b") == "<｜fim▁begin｜>a<｜fim▁hole｜>b<｜fim▁end｜>"
    assert fim_format("unknown").key == "deepseek"
    assert formats_for("Qwen2.5-Coder-7B")[0].key == "qwen"
    assert {f.key for f in formats_for("")} == {"deepseek", "qwen", "starcoder", "codellama"}


def test_serving_text_says_how_many_programs_are_served():
    text, tooltip = serving_text({"recent_clients": 2, "open": {"ollama": 1, "llama_server": 0}}, "http://h:1/v1")
    assert text == "Serving 2 clients" and "Ollama: 1" in tooltip and "http://h:1" in tooltip
    assert serving_text({"recent_clients": 1}, "u")[0] == "Serving 1 client"
    assert serving_text({}, "u")[0] == "Serving: no clients"
