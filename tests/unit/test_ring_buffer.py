"""The completion ring buffer: chunks of recently used files before the current file,
in an order that keeps the prompt's start stable; and `dscoder complete --context-file`
giving exactly the prompt the editor would."""

from __future__ import annotations

from app.cli import main
from app.completion.fim_window import build_completion_prompt
from app.completion.ring import RingBuffer, RingChunk, ring_prefix

HELPERS = "def clamp(value, low, high):\n    return max(low, min(high, value))\n"
CONFIG = "MAX_RETRIES = 5\nTIMEOUT_S = 2.5\n"


def test_chunks_join_the_ring_only_when_committed_and_render_in_repository_format(tmp_path):
    ring = RingBuffer(commit_interval_s=3.0)
    ring.add_file(str(tmp_path / "util" / "helpers.py"), HELPERS, "python")
    assert ring.chunks() == () and len(ring.pending()) == 1
    assert ring.commit_if_due(100.0)
    assert not ring.commit_if_due(101.0)  # nothing queued
    ring.add_file(str(tmp_path / "config.py"), CONFIG, "python")
    assert not ring.commit_if_due(101.0)  # too soon: the prompt's start stays as it is
    assert ring.commit_if_due(103.5)
    ring_part = ring_prefix(ring.chunks(), str(tmp_path / "main.py"))
    assert ring_part.text == f"# util/helpers.py\n{HELPERS}\n# config.py\n{CONFIG}\n"


def test_new_chunks_go_at_the_end_so_the_start_stays_the_same():
    ring = RingBuffer()
    ring.add_file("/p/a.py", "A = 1\n", "python")
    ring.commit()
    before = ring_prefix(ring.chunks(), "/p/main.py").text
    ring.add_file("/p/b.py", "B = 2\n", "python")
    ring.add_file("/p/a.py", "A = 1\n", "python")  # already there: keeps its place
    ring.commit()
    after = ring_prefix(ring.chunks(), "/p/main.py").text
    assert after.startswith(before) and after.endswith("# b.py\nB = 2\n\n")


def test_an_edited_chunk_replaces_its_older_self_and_the_oldest_leave_first():
    ring = RingBuffer(capacity_tokens=200)
    body = "".join(f"line_{i} = {i}\n" for i in range(20))
    ring.add_around("/p/a.py", body, 3, "python")
    ring.add_file("/p/b.py", "B = 2\n", "python")
    ring.commit()
    ring.add_around("/p/a.py", body.replace("line_5 = 5", "line_5 = 50"), 4, "python")
    ring.commit()
    assert [c.path for c in ring.chunks()] == ["/p/b.py", "/p/a.py"]
    assert "line_5 = 50" in ring.chunks()[-1].text and sum("line_5" in c.text for c in ring.chunks()) == 1
    small = RingBuffer(capacity_tokens=30)
    for name in "abcdef":
        small.add_chunk(RingChunk(f"/p/{name}.py", f"{name.upper()} = '{name * 10}'\n", "python"))
    small.commit()
    assert [c.path for c in small.chunks()] == ["/p/e.py", "/p/f.py"]


def test_the_current_file_is_left_out_and_the_budget_keeps_the_newest():
    chunks = [RingChunk(f"/p/{n}.py", f"{n} = 1\n" * 10, "python") for n in ("old", "mid", "new")]
    ring_part = ring_prefix([*chunks, RingChunk("/p/main.py", "x = 1\n", "python")], "/p/main.py", 70)
    assert ring_part.paths == ("/p/mid.py", "/p/new.py")


def test_the_prompt_puts_the_chunks_before_the_current_file():
    ring = RingBuffer()
    ring.add_file("/p/helpers.py", HELPERS, "python")
    ring.commit()
    ring_part = ring_prefix(ring.chunks(), "/p/main.py")
    text = "from helpers import clamp\n\nx = clamp("
    prompt = build_completion_prompt(
        text,
        len(text),
        path="/p/main.py",
        language="python",
        repository_prefix=ring_part.text,
        repository_paths=ring_part.paths,
    )
    assert prompt.prefix == f"# helpers.py\n{HELPERS}\n# main.py\n{text}"


def test_complete_context_file_gives_the_editors_prompt(tmp_path, capsys):
    (tmp_path / "helpers.py").write_text(HELPERS)
    (tmp_path / "config.py").write_text(CONFIG)
    prefix, suffix = "from helpers import clamp\n\ny = clamp(", ")\n"
    (tmp_path / "prefix.py").write_text(prefix)
    (tmp_path / "suffix.py").write_text(suffix)
    args = ["complete", "--prefix-file", str(tmp_path / "prefix.py"), "--suffix-file", str(tmp_path / "suffix.py")]
    args += ["--context-file", str(tmp_path / "helpers.py"), "--context-file", str(tmp_path / "config.py")]
    args += ["--path", str(tmp_path / "main.py"), "--show-prompt"]
    assert main(args) == 0
    shown = capsys.readouterr().out
    ring = RingBuffer()
    ring.add_file(str(tmp_path / "helpers.py"), HELPERS, "python")
    ring.add_file(str(tmp_path / "config.py"), CONFIG, "python")
    ring.commit()
    ring_part = ring_prefix(ring.chunks(), str(tmp_path / "main.py"))
    editor = build_completion_prompt(
        prefix + suffix,
        len(prefix),
        path=str(tmp_path / "main.py"),
        language="python",
        repository_prefix=ring_part.text,
        repository_paths=ring_part.paths,
    )
    assert shown == editor.prefix == f"# helpers.py\n{HELPERS}\n# config.py\n{CONFIG}\n# main.py\n{prefix}"
