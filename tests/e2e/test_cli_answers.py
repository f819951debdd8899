"""`dscoder ask --json` and `dscoder complete --json` against the tiny model's real engine:
the text first, then one JSON line whose figures describe that very answer."""

from __future__ import annotations

import json

from app.cli import main


def _endpoint_args(tiny_engine) -> list[str]:  # type: ignore[no-untyped-def]
    endpoint = tiny_engine.endpoint
    return ["--endpoint", endpoint.base_url, "--api-key", endpoint.api_key]


def test_ask_json_line_counts_the_streamed_answer(tiny_engine, capsys):  # type: ignore[no-untyped-def]
    args = ["ask", "write a function", "--max-tokens", "6", "--temperature", "0", "--json"]
    assert main(args + _endpoint_args(tiny_engine)) == 0
    streamed, figures_line = capsys.readouterr().out.rstrip("\n").rsplit("\n", 1)
    figures = json.loads(figures_line)
    assert figures["text"] == streamed
    assert 1 <= figures["completion_tokens"] <= 6
    assert figures["prompt_tokens"] > 0
    assert figures["finish_reason"] in {"length", "stop"}


def test_complete_json_is_one_line_with_the_middle(tiny_engine, tmp_path, capsys):  # type: ignore[no-untyped-def]
    (tmp_path / "prefix.py").write_text("def add(a, b):\n    return ")
    (tmp_path / "suffix.py").write_text("\n")
    args = ["complete", "--prefix-file", str(tmp_path / "prefix.py"), "--suffix-file", str(tmp_path / "suffix.py")]
    assert main(args + ["--max-tokens", "4", "--json"] + _endpoint_args(tiny_engine)) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    figures = json.loads(out)
    assert set(figures) == {
        "text",
        "prompt_tokens",
        "completion_tokens",
        "time_to_first_token_s",
        "tokens_per_s",
        "finish_reason",
    }
    assert figures["prompt_tokens"] > 0
