"""Fill-in-the-middle: the stop rules that turn a model's raw stream into the middle.

Models (instruct ones above all) run past the hole: they repeat the suffix, start
the next function, or keep writing. The filter below cuts the stream where the
middle ends, so that prefix + middle + suffix is the code the user wants:

- any special-token text ends the middle and never reaches the output;
- a cursor mid-line completes only to the end of that line (and drops a repeat of
  the rest of the line);
- a line that repeats the suffix's first line is where the middle ends;
- indentation-based languages end when a line dedents out of the hole's block;
- brace languages end when braces close past the hole's level.

It works on streamed deltas: `feed()` returns the text that is safe to show now,
holding back an incomplete line until it can be judged.

Shared by both processes: the window's completion applies it in its client
(app.completion.fim.complete_middle), the engine applies it to editors' /infill and
Ollama's FIM requests (app.engine.editor_rules).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from app import languages
from app.languages import FimClass

# Special-token texts of the code models we know: DeepSeek (fullwidth bars), ChatML and
# Qwen/StarCoder (<|...|>), CodeLlama (<PRE> <SUF> <MID> <EOT>), StarCoder (<fim_prefix>).
SPECIAL_TOKEN_RE = re.compile(
    r"<｜[^｜<>\n]{1,40}｜>|<\|[A-Za-z0-9_▁]{1,40}\|>|<(?:PRE|SUF|MID|EOT)>|<fim[_-](?:prefix|suffix|middle|pad)>|</?s>"
)
_OPEN = "([{"
_CLOSE = ")]}"


def _indent_width(line: str) -> int:
    width = 0
    for char in line:
        if char == " ":
            width += 1
        elif char == "\t":
            width += 4
        else:
            break
    return width


_STRING_RE = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`')


def fim_class(language: str | None) -> FimClass | None:
    """Which block rule ends a middle in this language (app.languages); None for neither."""
    known = languages.LANGUAGES.get(language or "")
    return known.fim_class if known else None


def _comment_marker(language: str | None) -> str | None:
    """The line-comment marker a mid-line completion is cut at: "#", or "//" for brace
    languages (JSONC and CSS preprocessors write "//" comments too); other markers
    (SQL's "--") are left alone."""
    known = languages.LANGUAGES.get(language or "")
    if known is None:
        return None
    return "#" if known.line_comment == "#" else "//" if known.fim_class == "brace" else None


def _cut_line_comment(line: str, language: str | None) -> str:
    """`line` without a trailing line comment (string literals are respected)."""
    marker = _comment_marker(language)
    if marker is None:
        return line
    pos = 0
    while True:
        found = line.find(marker, pos)
        if found < 0:
            return line
        string = _STRING_RE.search(line, pos)
        if string is None or string.start() > found:
            return line[:found].rstrip()
        pos = string.end()


def _strip_strings(line: str) -> str:
    # Good enough for brace counting: drop string literals and line comments.
    line = re.sub(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`', '""', line)
    return re.split(r"//|#(?!include)", line, maxsplit=1)[0]


@dataclass
class FimFilter:
    """Applies the stop rules to a streamed middle.

    `feed(delta)` returns (text to emit, done). After `done`, stop the stream (which
    cancels the request in the engine); `finish()` flushes whatever is still held when
    the stream ends by itself. Lines are judged whole, so an unfinished line is held
    back; blank lines are held until code follows them, so the middle never ends in
    blank lines and what was emitted is always exactly `text`.
    """

    prefix: str
    suffix: str
    language: str | None = None
    emitted: str = ""
    done: bool = False
    _pending: str = field(default="", repr=False)
    _depth: int = field(default=0, repr=False)
    _block_indent: int | None = field(default=None, repr=False)
    _lines: int = field(default=0, repr=False)
    _held_blank: int = field(default=0, repr=False)

    def __post_init__(self) -> None:
        self._line_prefix = self.prefix.rsplit("\n", 1)[-1]
        rest_of_line = self.suffix.split("\n", 1)[0]
        # Mid-line: there is code after the cursor on its line.
        self.mid_line = bool(rest_of_line.strip())
        self._rest_of_line = rest_of_line.strip()
        self._suffix_anchor = next((line.strip() for line in self.suffix.split("\n") if line.strip()), "")
        self._suffix_closes = self.suffix.lstrip()[:1] in _CLOSE if self.suffix.strip() else False

    @property
    def text(self) -> str:
        return self.emitted

    def feed(self, delta: str) -> tuple[str, bool]:
        if self.done:
            return "", True
        self._pending += delta
        special = SPECIAL_TOKEN_RE.search(self._pending)
        if special:
            self._pending = self._pending[: special.start()]
            return self._drain(final=True), True
        return self._drain(final=False), self.done

    def finish(self) -> str:
        return "" if self.done else self._drain(final=True)

    def _drain(self, final: bool) -> str:
        out: list[str] = []
        while not self.done and "\n" in self._pending:
            line, self._pending = self._pending.split("\n", 1)
            out.append(self._accept(line))
        if final:
            if not self.done and self._pending:
                out.append(self._accept(self._pending))
            self._pending = ""
            self.done = True
        text = "".join(out)
        self.emitted += text
        return text

    def _accept(self, line: str) -> str:
        kept = self._judge(line)
        if kept is None:
            self.done = True
            return ""
        if not kept.strip() and not self.done:
            self._held_blank += 1
            return ""
        # One newline per held blank line, plus the one that ends the previous line.
        sep = "\n" * (self._held_blank + (1 if self._lines else 0))
        self._held_blank = 0
        self._lines += 1
        return sep + kept

    def _judge(self, line: str) -> str | None:
        """The part of `line` to keep, or None when the middle ends before it."""
        first = self._lines == 0 and self._held_blank == 0
        if self.mid_line:
            # Complete to the end of the cursor's line only. A comment would swallow the rest
            # of the line after the cursor, so it goes; so does a repeat of that rest.
            line = _cut_line_comment(line, self.language)
            if self._rest_of_line and line.rstrip().endswith(self._rest_of_line):
                line = line.rstrip()[: -len(self._rest_of_line)]
            self.done = True
            return line
        full_line = self._line_prefix + line if first else line
        stripped = full_line.strip()
        if not stripped:
            return line
        if not first and self._suffix_anchor and stripped == self._suffix_anchor:
            return None
        block_rule = fim_class(self.language)
        if block_rule == "indent":
            width = _indent_width(full_line)
            if self._block_indent is None:
                self._block_indent = width
            elif width < self._block_indent:
                return None
        if block_rule == "brace":
            depth_before = self._depth
            for char in _strip_strings(line):
                if char in _OPEN:
                    self._depth += 1
                elif char in _CLOSE:
                    self._depth -= 1
            if self._depth < 0:
                if self._suffix_closes or depth_before < 0:
                    return None  # the suffix already closes this block
                self.done = True  # this line closes the hole's block: keep it, end there
        return line


def strip_special_tokens(text: str) -> str:
    """Remove any special-token text (for engines that print them)."""
    return SPECIAL_TOKEN_RE.sub("", text)


def filter_middle(prefix: str, suffix: str, raw: str, language: str | None = None) -> str:
    """Apply the stop rules to a whole raw middle at once."""
    fim = FimFilter(prefix, suffix, language)
    out, done = fim.feed(raw)
    if not done:
        out += fim.finish()
    return fim.emitted
