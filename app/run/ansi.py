"""ANSI escape sequences in a run's output: SGR (colours, bold, ...) becomes styled spans;
every other escape (cursor moves, window titles) is dropped. Fed in chunks as the output
streams: a sequence cut between two chunks is held until the rest arrives.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TypedDict

# CSI (ESC [ params final), OSC (ESC ] ... BEL or ST), and two-character escapes.
_ESCAPE = re.compile(r"\x1b(?:\[(?P<params>[0-?]*)[ -/]*(?P<final>[@-~])|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
_INCOMPLETE_TAIL = re.compile(r"\x1b(?:\[[0-?]*[ -/]*|\][^\x07\x1b]*|\x1b?)?$")
_STRAY = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f]")

# The 16 standard colours (xterm's defaults), by index 0-15.
PALETTE = (
    "#000000", "#cd0000", "#00cd00", "#cdcd00", "#0000ee", "#cd00cd", "#00cdcd", "#e5e5e5",
    "#7f7f7f", "#ff0000", "#00ff00", "#ffff00", "#5c5cff", "#ff00ff", "#00ffff", "#ffffff",
)  # fmt: skip


@dataclass(frozen=True)
class TextStyle:
    foreground: str | None = None  # "#rrggbb", None for the view's default
    background: str | None = None
    bold: bool = False
    italic: bool = False
    underline: bool = False


PLAIN = TextStyle()


class _StyleChange(TypedDict, total=False):
    """Some of `TextStyle`'s fields, for `replace` (so mypy checks the table below)."""

    foreground: str | None
    background: str | None
    bold: bool
    italic: bool
    underline: bool


# The SGR codes that set or reset one attribute (39 and 49: the default colours).
_SETS_ONE_ATTRIBUTE: dict[int, _StyleChange] = {
    1: {"bold": True},
    3: {"italic": True},
    4: {"underline": True},
    22: {"bold": False},
    23: {"italic": False},
    24: {"underline": False},
    39: {"foreground": None},
    49: {"background": None},
}


def _color_256(index: int) -> str:
    if index < 16:
        return PALETTE[index]
    if index < 232:
        index -= 16
        levels = [0, 95, 135, 175, 215, 255]
        r, g, b = levels[index // 36], levels[(index // 6) % 6], levels[index % 6]
        return f"#{r:02x}{g:02x}{b:02x}"
    gray = 8 + (index - 232) * 10
    return f"#{gray:02x}{gray:02x}{gray:02x}"


def apply_sgr(style: TextStyle, params: str) -> TextStyle:
    """The style after one SGR sequence (`ESC [ params m`)."""
    codes = [int(p) if p.isdigit() else 0 for p in params.replace(":", ";").split(";")] if params else [0]
    i = 0
    while i < len(codes):
        code = codes[i]
        if code == 0:
            style = PLAIN
        elif code in _SETS_ONE_ATTRIBUTE:
            style = replace(style, **_SETS_ONE_ATTRIBUTE[code])
        elif 30 <= code <= 37 or 90 <= code <= 97:
            style = replace(style, foreground=PALETTE[code - 30 if code < 90 else code - 82])
        elif 40 <= code <= 47 or 100 <= code <= 107:
            style = replace(style, background=PALETTE[code - 40 if code < 100 else code - 92])
        elif code in (38, 48) and i + 1 < len(codes):
            color = None
            if codes[i + 1] == 5 and i + 2 < len(codes):
                color, i = _color_256(codes[i + 2] % 256), i + 2
            elif codes[i + 1] == 2 and i + 4 < len(codes):
                r, g, b = (min(255, c) for c in codes[i + 2 : i + 5])
                color, i = f"#{r:02x}{g:02x}{b:02x}", i + 4
            style = replace(style, foreground=color) if code == 38 else replace(style, background=color)
        i += 1
    return style


class AnsiParser:
    """Turns streamed text with escapes into (text, style) pieces; keeps the style across chunks."""

    def __init__(self) -> None:
        self.style = PLAIN
        self._pending = ""

    def feed(self, chunk: str, final: bool = False) -> list[tuple[str, TextStyle]]:
        text = self._pending + chunk
        self._pending = ""
        if not final:
            cut = _INCOMPLETE_TAIL.search(text)
            if cut is not None and cut.group():
                self._pending = text[cut.start() :]
                text = text[: cut.start()]
        pieces: list[tuple[str, TextStyle]] = []
        position = 0
        for match in _ESCAPE.finditer(text):
            if match.start() > position:
                pieces.append((_STRAY.sub("", text[position : match.start()]), self.style))
            if match.group("final") == "m":
                self.style = apply_sgr(self.style, match.group("params") or "")
            position = match.end()
        if position < len(text):
            pieces.append((_STRAY.sub("", text[position:]), self.style))
        return [(piece, style) for piece, style in pieces if piece]


def strip_ansi(text: str) -> str:
    """The text without escape sequences (what the location and summary parsers read)."""
    return _STRAY.sub("", _ESCAPE.sub("", text))
