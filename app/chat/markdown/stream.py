"""Rendering a message that grows token by token, at a cost that does not grow with it.

A streamed answer only changes at its end, and top-level Markdown blocks that another
block has followed are final. So each render re-parses the text from the line where the
last top-level block starts, and reuses the HTML of the blocks before it. Finishing
renders only that last block again, so it costs no more than a paint; only a message
with a link reference definition (which can reach backwards to an earlier use) is
rendered whole.
"""

from __future__ import annotations

import re

from app.chat.markdown.render import (
    LIGHT_THEME,
    CodeBlock,
    RenderedMessage,
    RenderTheme,
    render_markdown,
)

# "[label]: destination" at the start of a line, as CommonMark defines it (roughly: a
# false positive only costs a whole render).
_LINK_REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:", re.MULTILINE)


def _line_offset(text: str, line: int) -> int:
    """Character offset where `line` (0-based) of `text` starts."""
    offset = 0
    for _ in range(line):
        next_break = text.find("\n", offset)
        if next_break < 0:
            return len(text)
        offset = next_break + 1
    return offset


class StreamingRenderer:
    """Renders successive versions of one message, each usually the last one plus text."""

    def __init__(
        self,
        theme: RenderTheme = LIGHT_THEME,
        *,
        code_actions: bool = True,
        hard_breaks: bool = False,
        highlight_top_level: bool = True,
    ) -> None:
        self._theme = theme
        self._code_actions = code_actions
        self._hard_breaks = hard_breaks
        self._highlight_top_level = highlight_top_level
        # What is final of the message so far: its source and what it rendered to.
        self._stable_source = ""
        self._stable_segments: list[str] = []
        self._stable_lines: list[int] = []
        self._stable_first_blocks: list[int] = []
        self._stable_blocks: list[CodeBlock] = []
        self._stable_code: list[CodeBlock | None] = []

    def set_theme(self, theme: RenderTheme) -> None:
        self._theme = theme
        self._reset()

    def render(self, markdown: str, *, streaming: bool) -> RenderedMessage:
        if not markdown.startswith(self._stable_source) or (not streaming and _LINK_REFERENCE.search(markdown)):
            self._reset()
        offset = len(self._stable_source)
        tail = self._render(markdown[offset:], streaming=streaming, first_block_index=len(self._stable_blocks))
        segments = self._stable_segments + tail.segments
        blocks = self._stable_blocks + tail.code_blocks
        lines_before = self._stable_source.count("\n")
        segment_lines = self._stable_lines + [lines_before + n for n in tail.segment_lines]
        first_blocks = self._stable_first_blocks + tail.segment_first_blocks
        segment_code = self._stable_code + tail.segment_code
        if not streaming:
            self._reset()  # a finished message is rendered afresh next time (a theme change)
        elif len(segments) > 1:
            # Everything before the last top-level block is final from here on.
            last_start = _line_offset(markdown, segment_lines[-1])
            self._stable_source = markdown[:last_start]
            self._stable_segments = segments[:-1]
            self._stable_lines = segment_lines[:-1]
            self._stable_first_blocks = first_blocks[:-1]
            self._stable_code = segment_code[:-1]
            self._stable_blocks = [b for b in blocks if b.index < first_blocks[-1]]
        return RenderedMessage(
            text_colour=self._theme.text,
            code_blocks=blocks,
            segments=segments,
            segment_lines=segment_lines,
            segment_first_blocks=first_blocks,
            segment_code=segment_code,
        )

    def _render(self, markdown: str, *, streaming: bool, first_block_index: int = 0) -> RenderedMessage:
        return render_markdown(
            markdown,
            self._theme,
            streaming=streaming,
            code_actions=self._code_actions,
            hard_breaks=self._hard_breaks,
            first_block_index=first_block_index,
            highlight_top_level=self._highlight_top_level,
        )

    def _reset(self) -> None:
        self._stable_source = ""
        self._stable_segments = []
        self._stable_lines = []
        self._stable_first_blocks = []
        self._stable_blocks = []
        self._stable_code = []
