"""Reading and writing the editor's files byte for byte, and knowing their language.

A file is decoded as UTF-8 (with or without a byte-order mark) and its text keeps the
original line endings, mixed ones included: the editor holds that text unchanged, so
saving it back gives the same bytes. Only the BOM lives outside the text, in the
`TextFile` record. Anything that is not UTF-8 is refused with a message that says how
to convert it, rather than opened with a guessed encoding and silently rewritten.

A file's language comes from the registry in app.languages (by extension, well-known
name or shebang line); `language_id_for_path` here gives its id.
"""

from __future__ import annotations

import codecs
import os
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from app import languages
from app.languages import LANGUAGES as LANGUAGES  # re-exported: the editor's callers ask this module
from app.languages import PLAIN_TEXT as PLAIN_TEXT
from app.languages import Language as Language
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
# The registry is app.languages; these names stay here because the editor's callers
# ask this module for a file's language id.

language = languages.language


language_id_for_path = languages.language_id_for_path
