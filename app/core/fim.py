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
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Special-token texts of the code models we know: DeepSeek (fullwidth bars), ChatML and
# Qwen/StarCoder (<|...|>), CodeLlama (<PRE> <SUF> <MID> <EOT>), StarCoder (<fim_prefix>).
SPECIAL_TOKEN_RE = re.compile(
    r"<｜[^｜<>\n]{1,40}｜>|<\|[A-Za-z0-9_▁]{1,40}\|>|<(?:PRE|SUF|MID|EOT)>|<fim[_-](?:prefix|suffix|middle|pad)>|</?s>"
)
# The longest a special token's text can be; a tail this long may be an unfinished one.
_MAX_SPECIAL_LEN = 48

INDENT_LANGUAGES = frozenset({"python", "yaml", "coffeescript", "nim", "haskell", "fsharp"})
BRACE_LANGUAGES = frozenset(
    {"c", "cpp", "java", "javascript", "typescript", "go", "rust", "csharp", "php", "kotlin",
     "swift", "scala", "dart", "json", "css", "bash", "zig"}
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


def _strip_strings(line: str) -> str:
    # Good enough for brace counting: drop string literals and line comments.
    line = re.sub(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`', '""', line)
    return re.split(r"//|#(?!include)", line, maxsplit=1)[0]


@dataclass
class FimFilter:
    """Applies the stop rules to a streamed middle.

    `feed(delta)` returns (text to emit, done). After `done`, stop the stream (which
    cancels the request in the engine); `finish()` flushes whatever is still held when
    the stream ends by itself.
    """

    prefix: str
    suffix: str
    language: str | None = None
    emitted: str = ""
    done: bool = False
    _pending: str = field(default="", repr=False)
    _depth: int = field(default=0, repr=False)
    _block_indent: int | None = field(default=None, repr=False)
    _lines_done: int = field(default=0, repr=False)

    def __post_init__(self) -> None:
        self._line_prefix = self.prefix.rsplit("\n", 1)[-1]
        suffix_first_line = self.suffix.split("\n", 1)[0]
        # Mid-line: there is code after the cursor on its line.
        self.mid_line = bool(suffix_first_line.strip())
        self._rest_of_line = suffix_first_line.strip()
        self._suffix_anchor = next((l.strip() for l in self.suffix.split("\n") if l.strip()), "")
        self._suffix_starts_with_closer = self.suffix.lstrip()[:1] in _CLOSE if self.suffix.strip() else False

    # -- streaming -----------------------------------------------------------------
    def feed(self, delta: str) -> tuple[str, bool]:
        if self.done:
            return "", True
        self._pending += delta
        special = SPECIAL_TOKEN_RE.search(self._pending)
        if special:
            self._pending = self._pending[: special.start()]
            return self._flush(final=True), True
        out = self._flush(final=False)
        return out, self.done

    def finish(self) -> str:
        if self.done:
            return ""
        text = self._flush(final=True)
        self.done = True
        return text

    @property
    def text(self) -> str:
        return self.emitted

    # -- rules -----------------------------------------------------------------
    def _flush(self, final: bool) -> str:
        out: list[str] = []
        while not self.done and "\n" in self._pending:
            line, self._pending = self._pending.split("\n", 1)
            out.append(self._judge_line(line, complete=True))
        if not self.done:
            if final:
                out.append(self._judge_line(self._pending, complete=False, last=True))
                self._pending = ""
            else:
                # An unfinished line is held back until it is complete or the stream ends,
                # except a mid-line completion's text, which can't be cut by a later line;
                # keep a tail that might be the start of a special token.
                pass
        if final:
            self.done = True
        text = "".join(out)
        if final:
            text = self._trim_end(self.emitted + text)[len(self.emitted):] if text else text
        self.emitted += text
        return text

    def _trim_end(self, middle: str) -> str:
        # Don't leave a blank line where the suffix already starts on a new line.
        while middle.endswith("\n\n"):
            middle = middle[:-1]
        if middle.endswith("\n") and self.suffix.startswith("\n"):
            middle = middle[:-1]
        return middle

    def _judge_line(self, line: str, complete: bool, last: bool = False) -> str:
        """Return the text for this line ('' and done when the middle ends before it)."""
        first = self._lines_done == 0
        full_line = (self._line_prefix + line) if first else line
        newline = "\n" if complete else ""
        if self.mid_line:
            # Complete to the end of the cursor's line only; drop a repeat of the rest of it.
            if self._rest_of_line and line.rstrip().endswith(self._rest_of_line):
                line = line.rstrip()[: -len(self._rest_of_line)]
            self.done = True
            return line
        stripped = full_line.strip()
        if not first and self._suffix_anchor and stripped == self._suffix_anchor:
            self.done = True
            return ""
        if self.language in INDENT_LANGUAGES and stripped:
            width = _indent_width(full_line)
            if self._block_indent is None:
                self._block_indent = width
            elif width < self._block_indent:
                self.done = True
                return ""
        if self.language in BRACE_LANGUAGES and stripped:
            depth_before = self._depth
            for char in _strip_strings(line):
                if char in _OPEN:
                    self._depth += 1
                elif char in _CLOSE:
                    self._depth -= 1
            if self._depth < 0:
                self.done = True
                if self._suffix_starts_with_closer or depth_before < 0:
                    return ""  # the suffix already closes this block
                # The line closes the hole's block: keep it, end the middle there.
                return line
        self._lines_done += 1
        return line + newline


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
