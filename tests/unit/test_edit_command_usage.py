"""`dscoder edit`'s bad usage exits 2 with a line that says what is wrong, before any
model or process starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["edit"], "give the instruction once"),
        (["edit", "fix it", "--instruction-file", "x.txt"], "give the instruction once"),
        (["edit", "fix it", "--model", "m.gguf", "--endpoint", "http://h/v1"], "either --model or --endpoint"),
        (["edit", "fix it", "--api-key", "k"], "--api-key goes with --endpoint"),
        (["edit", "fix it", "--rounds", "-1"], "--rounds must be 0 or more"),
        (["edit", "fix it", "--timeout", "0"], "--timeout must be more than 0"),
        (["edit", "fix it", "--dir", "/nonexistent/folder"], "is not a folder"),
        (["edit", "   "], "the instruction is empty"),
    ],
)
def test_bad_usage_exits_2(args: list[str], said: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == 2
    assert said in capsys.readouterr().err


def test_an_unreadable_instruction_file_is_bad_usage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["edit", "--instruction-file", str(tmp_path / "missing.txt")]) == 2
    assert "cannot read the instruction file" in capsys.readouterr().err


def test_argparse_errors_exit_2() -> None:
    with pytest.raises(SystemExit) as exited:
        main(["edit", "fix it", "--rounds", "two"])
    assert exited.value.code == 2
