"""Files round-trip byte for byte; non-UTF-8 is refused clearly; languages by name."""

from __future__ import annotations

import os
import stat

import pytest

from app.editor.textfile import (
    CR,
    CRLF,
    LANGUAGES,
    LF,
    PLAIN_TEXT,
    decode_text,
    encode_text,
    language,
    language_id_for_path,
    read_text_file,
    write_text_file,
)
from app.utils.errors import DscoderError

SAMPLES = {
    "lf": b"def f():\n    return 1\n",
    "crlf": b"def f():\r\n    return 1\r\n",
    "cr": b"line one\rline two\r",
    "mixed": b"a = 1\r\nb = 2\nc = 3\rd = 4\r\n",
    "bom_crlf": b"\xef\xbb\xbfx = '\xc3\xa9'\r\ny = 2\r\n",
    "no_trailing_newline": b"print('hi')\nprint('bye')",
    "empty": b"",
    "bom_only": b"\xef\xbb\xbf",
    "unicode": "π = 3.14  # 日本語 🙂\n".encode(),
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_round_trip_through_disk_is_byte_exact(tmp_path, name):
    original = SAMPLES[name]
    path = tmp_path / f"{name}.py"
    path.write_bytes(original)
    loaded = read_text_file(path)
    out = tmp_path / f"{name}.out.py"
    write_text_file(out, loaded.text, loaded.has_bom)
    assert out.read_bytes() == original


def test_decoded_text_keeps_each_line_ending():
    loaded = decode_text(SAMPLES["mixed"])
    assert loaded.text == "a = 1\r\nb = 2\nc = 3\rd = 4\r\n"
    assert loaded.mixed_eol
    assert loaded.eol == CRLF  # the most common one: new lines get it
    assert loaded.eol_name == "Mixed"


@pytest.mark.parametrize(
    ("data", "eol", "name"),
    [(SAMPLES["lf"], LF, "LF"), (SAMPLES["crlf"], CRLF, "CRLF"), (SAMPLES["cr"], CR, "CR"), (b"one line", LF, "LF")],
)
def test_line_ending_style_is_detected(data, eol, name):
    loaded = decode_text(data)
    assert loaded.eol == eol
    assert not loaded.mixed_eol
    assert loaded.eol_name == name


def test_bom_is_kept_outside_the_text():
    loaded = decode_text(SAMPLES["bom_crlf"])
    assert loaded.has_bom
    assert loaded.text.startswith("x = 'é'")
    assert encode_text(loaded.text, loaded.has_bom) == SAMPLES["bom_crlf"]


def test_latin1_file_gives_a_clear_error(tmp_path):
    path = tmp_path / "legacy.c"
    path.write_bytes("/* caf\u00e9 */\n".encode("latin-1"))
    with pytest.raises(DscoderError) as caught:
        read_text_file(path)
    message = str(caught.value)
    assert "legacy.c is not UTF-8" in message
    assert "0xe9" in message
    assert "Convert it to UTF-8" in message


def test_utf16_file_is_named_as_such():
    with pytest.raises(DscoderError, match="UTF-16"):
        decode_text("hello".encode("utf-16"), name="notes.txt")


def test_binary_file_is_refused():
    with pytest.raises(DscoderError, match="binary"):
        decode_text(b"\x7fELF\x00\x00\x01", name="a.out")


def test_missing_file_gives_a_clear_error(tmp_path):
    with pytest.raises(DscoderError, match="does not exist"):
        read_text_file(tmp_path / "nope.py")


def test_save_is_atomic_and_keeps_permissions(tmp_path):
    path = tmp_path / "run.sh"
    path.write_bytes(b"#!/bin/sh\necho old\n")
    os.chmod(path, 0o755)
    write_text_file(path, "#!/bin/sh\necho new\n")
    assert path.read_bytes() == b"#!/bin/sh\necho new\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o755
    assert [p.name for p in tmp_path.iterdir()] == ["run.sh"]  # no temp file left behind


def test_save_into_a_missing_folder_gives_a_clear_error(tmp_path):
    with pytest.raises(DscoderError, match="does not exist"):
        write_text_file(tmp_path / "no" / "such" / "dir.py", "x")


EXPECTED_LANGUAGES = {
    "main.py": "python",
    "lib.c": "c",
    "lib.h": "c",
    "app.cpp": "cpp",
    "app.hpp": "cpp",
    "App.java": "java",
    "index.js": "javascript",
    "Button.jsx": "javascript",
    "index.ts": "typescript",
    "View.tsx": "typescript",
    "main.go": "go",
    "lib.rs": "rust",
    "Program.cs": "csharp",
    "index.php": "php",
    "app.rb": "ruby",
    "build.sh": "bash",
    "query.sql": "sql",
    "page.html": "html",
    "style.css": "css",
    "package.json": "json",
    "config.yaml": "yaml",
    "ci.yml": "yaml",
    "README.md": "markdown",
    "notes.txt": PLAIN_TEXT,
    "UPPER.PY": "python",
    "Gemfile": "ruby",
    "unknown.xyz": PLAIN_TEXT,
}


@pytest.mark.parametrize(("filename", "expected"), sorted(EXPECTED_LANGUAGES.items()))
def test_language_by_extension(filename, expected):
    assert language_id_for_path(filename) == expected


def test_every_language_is_reachable_by_an_extension():
    for lang in LANGUAGES.values():
        assert lang.extensions, lang.id
        assert language_id_for_path("file" + lang.extensions[0]) == lang.id


@pytest.mark.parametrize(
    ("first_line", "expected"),
    [
        ("#!/usr/bin/env python3", "python"),
        ("#!/usr/bin/python3.11 -u", "python"),
        ("#!/bin/bash", "bash"),
        ("#!/usr/bin/env node", "javascript"),
        ("#!/usr/bin/weird", PLAIN_TEXT),
        ("no shebang", PLAIN_TEXT),
    ],
)
def test_language_by_shebang_when_the_name_says_nothing(first_line, expected):
    assert language_id_for_path("script", first_line) == expected


def test_an_extension_beats_a_shebang():
    assert language_id_for_path("tool.rb", "#!/usr/bin/env python") == "ruby"


def test_comment_syntax_and_fence_names():
    assert language("python").line_comment == "#"
    assert language("cpp").line_comment == "//"
    assert language("sql").line_comment == "--"
    assert language("html").block_comment == ("<!--", "-->")
    assert language("css").block_comment == ("/*", "*/")
    assert language("csharp").fence == "csharp"
    assert language("no-such-language").id == PLAIN_TEXT


def test_large_file_decodes_across_piece_boundaries(tmp_path):
    # 3-byte characters, so piece boundaries (every MiB) fall inside characters.
    text = "x€\r\n" * 400_000
    path = tmp_path / "big.txt"
    path.write_bytes(text.encode())
    loaded = read_text_file(path)
    assert loaded.text == text
    assert (loaded.eol, loaded.mixed_eol) == (CRLF, False)


def test_bad_byte_late_in_a_large_file_is_located():
    data = b"a" * 3_000_000 + b"\xff" + b"b" * 10
    with pytest.raises(DscoderError, match="offset 3000000"):
        decode_text(data, name="big.log")


def test_a_new_file_gets_ordinary_permissions(tmp_path):
    import os
    import stat

    from app.editor.textfile import write_text_file

    umask = os.umask(0o022)
    os.umask(umask)
    path = tmp_path / "new.py"
    write_text_file(path, "x = 1\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
