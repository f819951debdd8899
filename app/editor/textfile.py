"""Reading and writing the editor's files byte for byte, and knowing their language.

A file is decoded as UTF-8 (with or without a byte-order mark) and its text keeps the
original line endings, mixed ones included: the editor holds that text unchanged, so
saving it back gives the same bytes. Only the BOM lives outside the text, in the
`TextFile` record. Anything that is not UTF-8 is refused with a message that says how
to convert it, rather than opened with a guessed encoding and silently rewritten.

Language detection maps a file name (extension, a few well-known names, a shebang
line) to one of `LANGUAGES`, which also knows each language's comment syntax and the
name a Markdown fence uses for it.
"""

from __future__ import annotations

import codecs
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from app.utils.atomic import atomic_write_bytes
from app.utils.errors import DscoderError

UTF8_BOM = b"\xef\xbb\xbf"
# Scintilla's text API is C-string based, so a NUL would cut the text short on its
# way in and the rest of the file would be lost on save.
_NUL = b"\x00"
_DECODE_PIECE = 1 << 20

LF, CRLF, CR = "\n", "\r\n", "\r"
_EOL_NAMES = {LF: "LF", CRLF: "CRLF", CR: "CR"}


@dataclass(frozen=True)
class TextFile:
    """A decoded file and what is needed to write it back unchanged.

    `text` carries the file's own line endings. `eol` is the most common line ending
    (the one to use for new lines); `mixed_eol` says the file has more than one kind.
    """

    text: str
    has_bom: bool = False
    eol: str = LF
    mixed_eol: bool = False
    encoding: str = "utf-8"

    @property
    def eol_name(self) -> str:
        return "Mixed" if self.mixed_eol else _EOL_NAMES[self.eol]


def detect_line_endings(text: str) -> tuple[str, bool]:
    """The most common line ending in `text` and whether there is more than one kind.

    Text without line breaks reports LF, the line ending new files get.
    """
    crlf = text.count(CRLF)
    counts = {LF: text.count(LF) - crlf, CRLF: crlf, CR: text.count(CR) - crlf}
    used = [eol for eol, count in counts.items() if count]
    if not used:
        return LF, False
    dominant = max(used, key=lambda eol: counts[eol])
    return dominant, len(used) > 1


def decode_text(data: bytes, name: str = "the file") -> TextFile:
    """Decode a file's bytes; raises DscoderError for anything that is not UTF-8 text."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DscoderError(
            f"{name} is UTF-16 text, and this editor opens only UTF-8",
            "Convert it to UTF-8 (for example: iconv -f UTF-16 -t UTF-8) and open it again",
        )
    has_bom = data.startswith(UTF8_BOM)
    body = data[len(UTF8_BOM) :] if has_bom else data
    if _NUL in body:
        raise DscoderError(
            f"{name} looks like a binary file (it contains NUL bytes), not text",
            "Open it with a tool made for that kind of file",
        )
    try:
        text = _decode_utf8(body)
    except UnicodeDecodeError:
        _raise_not_utf8(body, name, has_bom)
    eol, mixed = detect_line_endings(text)
    return TextFile(text=text, has_bom=has_bom, eol=eol, mixed_eol=mixed)


def _decode_utf8(body: bytes) -> str:
    """Decode in pieces: one decode call holds the GIL for its whole length, and a big
    file read on a worker thread would otherwise freeze the GUI thread meanwhile."""
    if len(body) <= _DECODE_PIECE:
        return body.decode("utf-8")
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    view = memoryview(body)
    parts = [decoder.decode(view[i : i + _DECODE_PIECE]) for i in range(0, len(body), _DECODE_PIECE)]
    parts.append(decoder.decode(b"", final=True))
    return "".join(parts)


def _raise_not_utf8(body: bytes, name: str, has_bom: bool) -> NoReturn:
    try:
        body.decode("utf-8")  # again in one piece, for the offset of the first bad byte
    except UnicodeDecodeError as exc:
        raise DscoderError(
            f"{name} is not UTF-8 text (byte 0x{body[exc.start]:02x} at offset "
            f"{exc.start + (3 if has_bom else 0)} is not valid UTF-8), and this editor "
            "opens only UTF-8 so that saving never changes bytes it did not understand",
            "Convert it to UTF-8 (for example: iconv -f LATIN1 -t UTF-8 FILE > FILE.utf8) and open the converted file",
        ) from None
    raise AssertionError("unreachable: the piecewise decode failed but the whole one did not")


def encode_text(text: str, has_bom: bool = False) -> bytes:
    """The bytes `decode_text` would turn back into `text` (the inverse, byte for byte)."""
    data = text.encode("utf-8")
    return UTF8_BOM + data if has_bom else data


def read_text_file(path: str | os.PathLike[str]) -> TextFile:
    """Read and decode a file; every failure is a DscoderError that names the file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DscoderError(f"{path} does not exist", "Check the path, or choose another file") from None
    except IsADirectoryError:
        raise DscoderError(f"{path} is a folder, not a file", "Open a file inside it") from None
    except PermissionError:
        raise DscoderError(f"You may not read {path}", "Check the file's permissions, or open a copy") from None
    except OSError as exc:
        raise DscoderError(f"{path} could not be read ({exc.strerror or exc})", "Try again") from None
    return decode_text(data, name=path.name)


def write_text_file(path: str | os.PathLike[str], text: str, has_bom: bool = False) -> None:
    """Write atomically: a crash mid-save leaves the old file whole, never half a file.

    The new file keeps the old one's permission bits, so saving a script keeps it
    executable.
    """
    path = Path(path)
    data = encode_text(text, has_bom)
    try:
        mode = path.stat().st_mode & 0o7777
    except OSError:  # a new file: the permissions a new file gets under the user's umask
        umask = os.umask(0o022)
        os.umask(umask)
        mode = 0o666 & ~umask
    if not path.parent.is_dir():
        raise DscoderError(f"The folder {path.parent} does not exist", "Save to another folder")
    try:
        atomic_write_bytes(path, data, mode)
    except PermissionError:
        raise DscoderError(
            f"You may not write in {path.parent}", "Save to another folder, or check its permissions"
        ) from None
    except OSError as exc:
        raise DscoderError(
            f"{path} could not be saved ({exc.strerror or exc}); the file on disk is unchanged",
            "Free some disk space or save to another place",
        ) from None


# --- languages --------------------------------------------------------------------


@dataclass(frozen=True)
class Language:
    """A language the editor highlights.

    `fence` is the Markdown code-fence info string for it; `line_comment` is the
    prefix that comments out one line ("" when the language has none, for which
    `block_comment` is used instead).
    """

    id: str
    name: str
    extensions: tuple[str, ...]
    fence: str
    line_comment: str = ""
    block_comment: tuple[str, str] | None = None


PLAIN_TEXT = "text"

LANGUAGES: dict[str, Language] = {
    lang.id: lang
    for lang in (
        Language("python", "Python", (".py", ".pyw", ".pyi"), "python", "#"),
        Language("c", "C", (".c", ".h"), "c", "//", ("/*", "*/")),
        Language(
            "cpp",
            "C++",
            (".cpp", ".cc", ".cxx", ".c++", ".hpp", ".hh", ".hxx", ".h++", ".ipp", ".inl"),
            "cpp",
            "//",
            ("/*", "*/"),
        ),
        Language("java", "Java", (".java",), "java", "//", ("/*", "*/")),
        Language("javascript", "JavaScript", (".js", ".mjs", ".cjs", ".jsx"), "javascript", "//", ("/*", "*/")),
        Language("typescript", "TypeScript", (".ts", ".mts", ".cts", ".tsx"), "typescript", "//", ("/*", "*/")),
        Language("go", "Go", (".go",), "go", "//", ("/*", "*/")),
        Language("rust", "Rust", (".rs",), "rust", "//", ("/*", "*/")),
        Language("csharp", "C#", (".cs", ".csx"), "csharp", "//", ("/*", "*/")),
        Language("php", "PHP", (".php", ".phtml", ".php3", ".php4", ".php5", ".phps"), "php", "//", ("/*", "*/")),
        Language("ruby", "Ruby", (".rb", ".rake", ".gemspec", ".ru"), "ruby", "#"),
        Language("bash", "Bash", (".sh", ".bash", ".zsh", ".ksh"), "bash", "#"),
        Language("sql", "SQL", (".sql",), "sql", "--", ("/*", "*/")),
        Language("html", "HTML", (".html", ".htm", ".xhtml"), "html", "", ("<!--", "-->")),
        Language("css", "CSS", (".css",), "css", "", ("/*", "*/")),
        Language("json", "JSON", (".json", ".jsonc", ".json5"), "json", ""),
        Language("yaml", "YAML", (".yaml", ".yml"), "yaml", "#"),
        Language("markdown", "Markdown", (".md", ".markdown", ".mdown", ".mkd"), "markdown", "", ("<!--", "-->")),
        Language(PLAIN_TEXT, "Plain text", (".txt",), "text"),
    )
}

_BY_EXTENSION: dict[str, str] = {ext: lang.id for lang in LANGUAGES.values() for ext in lang.extensions}
_BY_FILENAME: dict[str, str] = {
    "gemfile": "ruby",
    "rakefile": "ruby",
    ".bashrc": "bash",
    ".bash_profile": "bash",
    ".profile": "bash",
    ".zshrc": "bash",
}
_SHEBANG_INTERPRETERS: dict[str, str] = {
    "python": "python",
    "ruby": "ruby",
    "node": "javascript",
    "php": "php",
    "sh": "bash",
    "bash": "bash",
    "zsh": "bash",
    "ksh": "bash",
    "dash": "bash",
}


def language_for_path(path: str | os.PathLike[str] | None, first_line: str = "") -> str:
    """The language id for a file: by extension, then well-known name, then shebang.

    Unknown files (and a new, unnamed one) are plain text.
    """
    if path:
        name = Path(path).name.lower()
        suffix = Path(name).suffix
        if suffix in _BY_EXTENSION:
            return _BY_EXTENSION[suffix]
        if name in _BY_FILENAME:
            return _BY_FILENAME[name]
    if first_line.startswith("#!"):
        words = first_line[2:].split()
        if words:
            program = Path(words[0]).name
            if program == "env" and len(words) > 1:
                program = words[1]
            program = re.sub(r"[\d.]+$", "", program)  # python3.11 -> python
            if program in _SHEBANG_INTERPRETERS:
                return _SHEBANG_INTERPRETERS[program]
    return PLAIN_TEXT


def language(language_id: str) -> Language:
    """The Language record for an id; unknown ids give plain text."""
    return LANGUAGES.get(language_id, LANGUAGES[PLAIN_TEXT])
