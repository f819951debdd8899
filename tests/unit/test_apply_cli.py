"""`dscoder apply FILE BLOCK_FILE [--line N] [--diff]`: the Apply plan on the command line."""

from __future__ import annotations

import pytest

from app.cli import main

FILE = "import json\n\n\ndef load(path):\n    return json.load(open(path))\n\n\ndef average(xs):\n    pass\n"
BLOCK = "def average(xs):\n    return sum(xs) / len(xs) if xs else 0.0\n"


@pytest.fixture
def files(tmp_path):
    target, block = tmp_path / "stats.py", tmp_path / "answer.txt"
    target.write_text(FILE)
    block.write_text(BLOCK)
    return target, block


def test_prints_the_new_text_and_never_writes_the_file(files, capsys):
    target, block = files
    assert main(["apply", str(target), str(block)]) == 0
    out = capsys.readouterr()
    assert out.out == FILE.replace("    pass\n", "    return sum(xs) / len(xs) if xs else 0.0\n")
    assert out.err == ""
    assert target.read_text() == FILE


def test_diff_prints_a_unified_diff(files, capsys):
    target, block = files
    assert main(["apply", str(target), str(block), "--diff"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("--- a/stats.py\n+++ b/stats.py\n@@ -6,4 +6,4 @@")
    assert "-    pass\n+    return sum(xs) / len(xs) if xs else 0.0\n" in out


def test_a_fallback_exits_1_with_the_reason_and_line_is_the_cursor(files, capsys, tmp_path):
    target, _ = files
    fragment = tmp_path / "fragment.txt"
    fragment.write_text("print('loaded')\n")
    assert main(["apply", str(target), str(fragment), "--line", "2"]) == 1
    out = capsys.readouterr()
    assert out.out.split("\n")[:3] == ["import json", "print('loaded')", ""]
    assert "not a whole definition" in out.err and "the cursor" in out.err


def test_bad_usage_exits_2(files, capsys):
    target, block = files
    assert main(["apply", str(target), str(block), "--line", "0"]) == 2
    with pytest.raises(SystemExit) as exit_info:
        main(["apply", str(target)])
    assert exit_info.value.code == 2
    capsys.readouterr()


def test_a_missing_file_is_a_clear_error(tmp_path, capsys):
    assert main(["apply", str(tmp_path / "nope.py"), str(tmp_path / "nope.txt")]) == 1
    assert "does not exist" in capsys.readouterr().err
