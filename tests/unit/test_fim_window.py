"""Prompt assembly for inline completion: windows, budgets, repository context, model support."""

from __future__ import annotations

from app.completion.debounce import MAX_DELAY_MS, MIN_DELAY_MS, AdaptiveDebounce
from app.completion.fim import filter_middle
from app.completion.fim_window import (
    SNAP_LINES,
    OpenFile,
    approx_tokens,
    build_completion_prompt,
    imported_names,
    is_end_of_line,
    max_tokens_for,
    path_comment,
)
from app.completion.support import completion_support

NUMBERED = "".join(f"line_{n:04d} = {n}\n" for n in range(2000))  # 17 characters a line


def test_small_file_goes_whole_around_the_cursor():
    text = "def f(x):\n    return x\n\nprint(f(2))\n"
    cursor = text.index("x\n") + 1
    prompt = build_completion_prompt(text, cursor, path="/p/a.py", language="python")
    assert prompt.prefix == text[:cursor] and prompt.suffix == text[cursor:]
    assert prompt.other_files_shown == ()
    assert prompt.multiline


def test_windows_fit_the_budget_and_split_about_75_25():
    cursor = len(NUMBERED) // 2
    prompt = build_completion_prompt(NUMBERED, cursor, budget_tokens=1500)
    assert prompt.total_tokens <= 1500
    assert NUMBERED[:cursor].endswith(prompt.prefix) and NUMBERED[cursor:].startswith(prompt.suffix)
    share = prompt.prefix_tokens / (prompt.prefix_tokens + prompt.suffix_tokens)
    assert 0.65 <= share <= 0.85
    # Cut at line boundaries, so the model sees whole lines.
    assert prompt.prefix.startswith("line_") and prompt.suffix.endswith("\n")


def test_a_short_side_lends_its_budget_to_the_other():
    at_end = build_completion_prompt(NUMBERED, len(NUMBERED), budget_tokens=1000)
    assert at_end.suffix == "" and at_end.prefix_tokens > 900
    at_start = build_completion_prompt(NUMBERED, 0, budget_tokens=1000)
    assert at_start.prefix == "" and at_start.suffix_tokens > 900


def test_prompt_start_stays_put_while_typing_so_the_engine_reuses_its_cache():
    text = NUMBERED
    cursor = len(text) - 500
    first = build_completion_prompt(text, cursor, budget_tokens=1500)
    starts = set()
    for typed in range(1, 60):  # type 59 characters at the cursor
        edited = text[:cursor] + "x" * typed + text[cursor:]
        prompt = build_completion_prompt(edited, cursor + typed, budget_tokens=1500)
        starts.add(prompt.prefix[:40])
        assert prompt.prefix.startswith(first.prefix[:-1] if first.prefix else "")
    assert len(starts) == 1


def test_window_edges_move_in_steps_of_whole_line_blocks():
    cursor = len(NUMBERED) - 300
    prompt = build_completion_prompt(NUMBERED, cursor, budget_tokens=800)
    first_line = int(prompt.prefix[5:9])
    assert first_line % SNAP_LINES == 0


def test_a_custom_token_counter_is_used():
    words = lambda text: len(text.split())  # noqa: E731 - a stand-in tokenizer
    prompt = build_completion_prompt(NUMBERED, len(NUMBERED), budget_tokens=300, count_tokens=words)
    assert words(prompt.prefix) <= 300


def test_mid_line_is_single_line_and_end_of_line_multiline():
    text = "x = foo(1, 2)\ny = 3\n"
    assert not build_completion_prompt(text, text.index("1")).multiline
    assert build_completion_prompt(text, text.index("\n")).multiline
    assert is_end_of_line("a = 1   \r\nb", 5)
    assert max_tokens_for(build_completion_prompt(text, text.index("1"))) < max_tokens_for(
        build_completion_prompt(text, text.index("\n"))
    )


def test_repository_context_in_path_comment_format_imported_first(tmp_path):
    main = "from utils import helper\nimport models\n\nresult = "
    files = [
        OpenFile(str(tmp_path / "notes.py"), "NOTE = 1\n", "python", last_edit=50.0),
        OpenFile(str(tmp_path / "pkg" / "models.py"), "class Model:\n    pass\n", "python", last_edit=5.0),
        OpenFile(str(tmp_path / "recent.py"), "RECENT = 2\n", "python", last_edit=90.0),
        OpenFile(str(tmp_path / "utils.py"), "def helper():\n    return 1\n", "python", last_edit=1.0),
    ]
    prompt = build_completion_prompt(
        main, len(main), path=str(tmp_path / "main.py"), language="python", other_files=files
    )
    # Imported files first (in open order among them), then by most recent edit.
    assert prompt.other_files_shown == ("pkg/models.py", "utils.py", "recent.py", "notes.py")
    expected_head = "# pkg/models.py\nclass Model:\n    pass\n\n# utils.py\ndef helper():\n"
    assert prompt.prefix.startswith(expected_head)
    assert prompt.prefix.endswith("# main.py\n" + main)  # the file being completed comes last
    assert prompt.prefix.index("# recent.py") < prompt.prefix.index("# notes.py")


def test_other_files_share_the_budget_and_never_push_out_the_cursor_window(tmp_path):
    big = OpenFile(str(tmp_path / "big.js"), "const a = 1;\n" * 3000, "javascript", last_edit=3.0)
    prompt = build_completion_prompt(
        NUMBERED, len(NUMBERED), path=str(tmp_path / "cur.py"), language="python", other_files=[big], budget_tokens=1500
    )
    assert prompt.total_tokens <= 1500
    assert prompt.other_files_shown == ("big.js",)
    assert prompt.prefix.startswith("// big.js\nconst a = 1;\n")
    assert prompt.prefix_tokens >= 0.6 * 1500 * 0.7  # the current file keeps most of it
    assert prompt.prefix.endswith(NUMBERED[-200:])


def test_the_current_file_and_empty_files_are_not_context(tmp_path):
    path = str(tmp_path / "a.py")
    prompt = build_completion_prompt(
        "x = ",
        4,
        path=path,
        language="python",
        other_files=[OpenFile(path, "old text\n", "python"), OpenFile(str(tmp_path / "b.py"), "  \n", "python")],
    )
    assert prompt.other_files_shown == () and prompt.prefix == "x = "


def test_path_comments_follow_the_language():
    assert path_comment("src/main.rs", "rust") == "// src/main.rs"
    assert path_comment("q.sql", "sql") == "-- q.sql"
    assert path_comment("index.html", "html") == "<!-- index.html -->"
    assert path_comment("data.json", "json") == "# data.json"


def test_imports_of_several_languages():
    assert {"utils", "pkg/models", "pkg/models/Model"} <= imported_names("import utils\nfrom pkg.models import Model\n")
    assert "pkg/sub" in imported_names("from .pkg.sub import x\n")
    assert "lib/api" in imported_names("import { get } from './lib/api.js';\nconst x = require('./lib/api')\n")
    assert "util" in imported_names('#include "util.h"\n#include <stdio.h>\n')
    assert "parser" in imported_names("mod parser;\nuse crate::lexer::Token;\n")
    assert "lexer/Token" in imported_names("use crate::lexer::Token;\n")


def test_approx_tokens_rounds_up():
    assert approx_tokens("") == 0 and approx_tokens("abc") == 1 and approx_tokens("a" * 35) == 10


# --- which models may complete ------------------------------------------------------

DEEPSEEK_V1_SPECIALS = {
    "bos": "<｜begin▁of▁sentence｜>",
    "eos": "<｜end▁of▁sentence｜>",
    "fim_pre": "<｜fim▁begin｜>",
    "fim_suf": "<｜fim▁hole｜>",
    "fim_mid": "<｜fim▁end｜>",
}


def test_model_without_fim_is_disabled_with_the_reason():
    support = completion_support({"has_fim": False, "model_name": "deepseek-coder-7b-instruct-v1.5"})
    assert not support.enabled
    assert "fill-in-the-middle" in support.reason and "deepseek-coder-7b-instruct-v1.5" in support.reason
    assert "base" in support.reason  # says what to load instead


def test_v1_instruct_is_unofficial_and_base_is_plain():
    instruct = completion_support(
        {
            "has_fim": True,
            "model_name": "deepseek-ai_deepseek-coder-1.3b-instruct",
            "architecture": "llama",
            "n_ctx_train": 16384,
            "special_tokens": {**DEEPSEEK_V1_SPECIALS, "eot": "<|EOT|>"},
        }
    )
    assert instruct.enabled and instruct.label == "unofficial" and "end-of-sentence" in instruct.reason
    base = completion_support(
        {
            "has_fim": True,
            "model_name": "deepseek-ai_deepseek-coder-6.7b-base",
            "architecture": "llama",
            "n_ctx_train": 16384,
            "special_tokens": DEEPSEEK_V1_SPECIALS,
        }
    )
    assert base.enabled and base.label == ""
    v2 = completion_support(
        {
            "has_fim": True,
            "model_name": "DeepSeek-Coder-V2-Lite-Instruct",
            "architecture": "deepseek2",
            "n_ctx_train": 163840,
            "special_tokens": {},
        }
    )
    assert v2.enabled and v2.label == ""


def test_remote_server_without_details_is_tried():
    support = completion_support(None)
    assert support.enabled and support.label == "remote"


# --- stop rules on recorded model outputs --------------------------------------------
# Raw middles as models wrote them (the suffix repeated, a next function, a token leak);
# the stop rules of app.completion.fim make them what the ghost text shows.


def test_recorded_outputs_are_cut_where_the_middle_ends():
    prefix, suffix = "def area(r):\n    return ", "\n\nprint(area(2))\n"
    raw = "3.14159 * r * r\n\nprint(area(2))\n<|endoftext|>"
    assert filter_middle(prefix, suffix, raw, "python") == "3.14159 * r * r"
    prefix, suffix = "x = compute(", ")\nprint(x)\n"
    assert filter_middle(prefix, suffix, "a, b)\nprint(x)\n", "python") == "a, b"
    prefix, suffix = "function add(a, b) {\n", "\n}\n"
    raw = "  return a + b;\n}\n\nfunction sub(a, b) {\n"
    assert filter_middle(prefix, suffix, raw, "javascript") == "  return a + b;"
    raw = "    total = 0\n    for x in xs:\n        total += x\n    return total\ndef other():\n"
    assert filter_middle("def total(xs):\n", "", raw, "python") == (
        "    total = 0\n    for x in xs:\n        total += x\n    return total"
    )


# --- debounce ---------------------------------------------------------------------------


def test_debounce_follows_the_typists_rhythm_within_bounds():
    assert AdaptiveDebounce(250).delay_ms() == 250
    assert AdaptiveDebounce(50).delay_ms() == MIN_DELAY_MS
    fast = AdaptiveDebounce(250)
    for n in range(10):
        fast.note_keystroke(n * 0.06)
    assert fast.delay_ms() == MIN_DELAY_MS  # 2.5 x 60 ms
    steady = AdaptiveDebounce(250)
    for n in range(10):
        steady.note_keystroke(n * 0.12)
    assert steady.delay_ms() == 300
    slow = AdaptiveDebounce(250)
    for n in range(10):
        slow.note_keystroke(n * 0.5)
    assert slow.delay_ms() == MAX_DELAY_MS
    paused = AdaptiveDebounce(250)
    for t in (0, 5, 10, 15):  # gaps over a second are pauses, not rhythm
        paused.note_keystroke(t)
    assert paused.delay_ms() == 250


def test_debounce_waits_longer_when_the_engine_is_slow():
    debounce = AdaptiveDebounce(150)
    for n in range(10):
        debounce.note_keystroke(n * 0.06)
    debounce.note_latency(1.2)
    assert debounce.delay_ms() == 300
    debounce.note_latency(5.0)
    debounce.note_latency(5.0)
    assert debounce.delay_ms() == MAX_DELAY_MS
