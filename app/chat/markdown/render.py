"""Chat messages as HTML for Qt's rich-text engine, and the code blocks inside them.

Qt-free. Markdown is parsed by markdown-it-py and code is highlighted by Pygments; this
module only adapts their output to the HTML4/CSS subset that QTextDocument lays out
(inline styles, simple tables, no flexbox). Every fenced or indented code block gets an
index, and the rendered HTML carries action links for it (``dscoder:copy/3``); the
widget that shows the HTML maps a clicked link back to the block through
:func:`parse_action_url` and the ``code_blocks`` of the same render.

Model output is untrusted: raw HTML is escaped (markdown-it with ``html`` off), images
are not rendered, and only http(s)/mailto links become links, so a model cannot forge
an action link or make the view load a local file.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.token import Token
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.styles import get_style_by_name

from app.chat.markdown.highlight import lexer_for

URL_SCHEME = "dscoder"
ACTION_COPY = "copy"
ACTION_INSERT = "insert"
ACTION_REPLACE = "replace"
ACTION_APPLY = "apply"
CODE_ACTIONS: tuple[tuple[str, str], ...] = (
    (ACTION_COPY, "Copy"),
    (ACTION_INSERT, "Insert at cursor"),
    (ACTION_REPLACE, "Replace selection"),
    (ACTION_APPLY, "Apply"),
)
_SAFE_LINK_PREFIXES = ("http://", "https://", "mailto:")


@dataclass(frozen=True)
class CodeBlock:
    """One code block of a message, numbered in document order from 0."""

    index: int
    language: str  # the fence's first info word, "" when none was given
    code: str  # the exact source, without the final newline markdown-it keeps
    complete: bool  # False for a fence whose closing line has not streamed in yet


@dataclass(frozen=True)
class RenderTheme:
    """Colours and fonts the HTML is styled with; the widgets own the rest of a theme."""

    name: str
    pygments_style: str
    text: str
    muted: str
    link: str
    code_background: str
    code_header: str
    code_border: str
    inline_code_background: str
    quote_border: str
    code_font_family: str = "monospace"


LIGHT_THEME = RenderTheme(
    name="light",
    pygments_style="default",
    text="#1f2328",
    muted="#656d76",
    link="#0969da",
    code_background="#f6f8fa",
    code_header="#eaeef2",
    code_border="#d0d7de",
    inline_code_background="#eff1f3",
    quote_border="#d0d7de",
)
DARK_THEME = RenderTheme(
    name="dark",
    pygments_style="github-dark",
    text="#e6edf3",
    muted="#8d96a0",
    link="#4493f8",
    code_background="#0d1117",
    code_header="#1c2128",
    code_border="#30363d",
    inline_code_background="#2d333b",
    quote_border="#3d444d",
)


def theme_for(name: str) -> RenderTheme:
    """The render theme called `name` ("light" or "dark")."""
    if name == "dark":
        return DARK_THEME
    if name == "light":
        return LIGHT_THEME
    raise ValueError(f"unknown theme {name!r}; expected 'light' or 'dark'")


@dataclass(frozen=True)
class RenderedMessage:
    text_colour: str  # the theme's text colour, which the whole message's div carries
    code_blocks: list[CodeBlock]
    # The HTML of each top-level block, in order. While an answer streams only the last
    # ones change, so a view can keep the laid-out start and replace just the tail.
    segments: list[str]
    segment_lines: list[int]  # the source line each segment starts on
    segment_first_blocks: list[int]  # the index the next code block gets at each segment
    # Per segment, the code block it consists of when it is exactly one top-level code
    # block (a view may lay those out itself, line by line), else None.
    segment_code: list[CodeBlock | None]

    @property
    def html(self) -> str:
        """The whole message: its segments in one div carrying the theme's text colour."""
        body = "\n".join(self.segments)
        return f'<div style="color: {self.text_colour};">{body}</div>'


def action_url(action: str, index: int) -> str:
    """The link a code block's action is rendered with, e.g. ``dscoder:copy/3``."""
    return f"{URL_SCHEME}:{action}/{index}"


def parse_action_url(url: str) -> tuple[str, int] | None:
    """(action, block index) for a link made by :func:`action_url`; None for any other link."""
    prefix = URL_SCHEME + ":"
    if not url.startswith(prefix):
        return None
    action, _, number = url[len(prefix) :].partition("/")
    if action not in {a for a, _ in CODE_ACTIONS} or not number.isdigit():
        return None
    return action, int(number)


def _validate_link(url: str) -> bool:
    return url.strip().lower().startswith(_SAFE_LINK_PREFIXES)


def _make_parser(*, hard_breaks: bool) -> MarkdownIt:
    parser = MarkdownIt("commonmark", {"html": False, "breaks": hard_breaks})
    parser.enable(["table", "strikethrough"])
    parser.disable("image")
    parser.validateLink = _validate_link  # type: ignore[method-assign]
    return parser


@dataclass
class _RenderEnv:
    """What the code-block render rule needs, passed per call through markdown-it's env."""

    theme: RenderTheme
    blocks: list[CodeBlock]
    with_actions: bool
    highlight_top_level: bool
    next_block: int = 0


_ENV_KEY = "dscoder_render"


def _render_code_block(renderer: object, tokens: list[Token], idx: int, options: object, env: dict[str, object]) -> str:
    state = env[_ENV_KEY]
    assert isinstance(state, _RenderEnv)
    block = state.blocks[state.next_block]
    state.next_block += 1
    highlight = state.highlight_top_level or tokens[idx].level > 0
    return _code_block_html(block, state.theme, with_actions=state.with_actions, highlight=highlight)


_PARSER = _make_parser(hard_breaks=False)
# A person's own messages keep their line breaks; model output follows Markdown's rules.
_HARD_BREAK_PARSER = _make_parser(hard_breaks=True)
for _parser in (_PARSER, _HARD_BREAK_PARSER):
    _parser.add_render_rule("fence", _render_code_block)
    _parser.add_render_rule("code_block", _render_code_block)


def _is_closed_fence(token: Token, source_lines: list[str]) -> bool:
    """Whether the fence's closing marker is in the source (it is not while streaming)."""
    if token.map is None:
        return True
    start, end = token.map
    last = end - 1
    if last <= start or last >= len(source_lines):
        return False
    line = source_lines[last]
    stripped = line.strip()
    fence_char = token.markup[0]
    indent = len(line) - len(line.lstrip(" "))
    return indent < 4 and len(stripped) >= len(token.markup) and stripped == fence_char * len(stripped)


def _code_blocks(tokens: list[Token], source: str, first_index: int = 0) -> list[CodeBlock]:
    source_lines = source.splitlines()
    blocks: list[CodeBlock] = []
    for token in tokens:
        if token.type == "fence":
            language = token.info.strip().split(maxsplit=1)[0] if token.info.strip() else ""
            complete = _is_closed_fence(token, source_lines)
        elif token.type == "code_block":
            language, complete = "", True
        else:
            continue
        code = token.content[:-1] if token.content.endswith("\n") else token.content
        blocks.append(CodeBlock(first_index + len(blocks), language, code, complete))
    return blocks


def extract_code_blocks(markdown: str) -> list[CodeBlock]:
    """The fenced and indented code blocks of a message, in order, with exact sources."""
    return _code_blocks(_PARSER.parse(markdown), markdown)


@lru_cache(maxsize=256)
def _highlighted(code: str, language: str, style: str) -> str:
    """Pygments spans with inline colours; cached because a streaming answer re-renders
    its finished blocks on every paint."""
    lexer = lexer_for(language)
    formatter = HtmlFormatter(noclasses=True, nowrap=True, style=style)
    return highlight(code, lexer, formatter).rstrip("\n")


@lru_cache(maxsize=8)
def style_background(style: str) -> str:
    """The background colour of a Pygments style, "" when it has none."""
    return str(get_style_by_name(style).background_color or "")


def _code_block_html(block: CodeBlock, theme: RenderTheme, *, with_actions: bool, highlight: bool = True) -> str:
    background = style_background(theme.pygments_style) or theme.code_background
    label = html.escape(block.language) if block.language else "code"
    # A block still streaming is shown plain: it is laid out again on every paint, and
    # spans per token make that several times slower. Colours come when it closes.
    body = (
        _highlighted(block.code, block.language, theme.pygments_style)
        if block.complete and highlight
        else html.escape(block.code, quote=False)
    )
    cell = f"padding: 4px 10px; background-color: {theme.code_header};"
    header = f'<tr><td style="{cell} color: {theme.muted}; font-size: small;">{label}</td></tr>'
    code_row = (
        f'<tr><td style="padding: 8px 10px; background-color: {background};">'
        f'<pre style="margin: 0; white-space: pre-wrap; font-family: {theme.code_font_family};">'
        f"{body}</pre></td></tr>"
    )
    if not block.complete:
        footer_content = f'<span style="color: {theme.muted};">writing…</span>'
    elif with_actions:
        links = [
            f'<a href="{action_url(action, block.index)}" '
            f'style="color: {theme.link}; text-decoration: none;">{title}</a>'
            for action, title in CODE_ACTIONS
        ]
        footer_content = "&nbsp;&nbsp;&nbsp;".join(links)
    else:
        footer_content = ""
    footer = f'<tr><td style="{cell} font-size: small;">{footer_content}</td></tr>' if footer_content else ""
    return (
        f'<table width="100%" cellspacing="0" cellpadding="0" '
        f'style="margin-top: 4px; margin-bottom: 10px; border-collapse: collapse; '
        f'border: 1px solid {theme.code_border};">{header}{code_row}{footer}</table>\n'
    )


def _add_style(token: Token, style: str) -> None:
    existing = token.attrGet("style")
    token.attrSet("style", f"{existing}; {style}" if existing else style)


def _style_tokens(tokens: list[Token], theme: RenderTheme) -> None:
    """Inline styles on the elements Qt would otherwise space or size oddly."""
    heading_sizes = {"h1": "x-large", "h2": "large", "h3": "medium"}
    for token in tokens:
        kind = token.type
        if kind == "paragraph_open" and not token.hidden:
            _add_style(token, "margin-top: 0px; margin-bottom: 8px;")
        elif kind == "heading_open":
            size = heading_sizes.get(token.tag, "medium")
            _add_style(token, f"margin-top: 10px; margin-bottom: 6px; font-size: {size};")
        elif kind in ("bullet_list_open", "ordered_list_open"):
            _add_style(token, "margin-top: 0px; margin-bottom: 8px;")
        elif kind == "list_item_open":
            _add_style(token, "margin-bottom: 2px;")
        elif kind == "code_inline":
            _add_style(
                token,
                f"font-family: {theme.code_font_family}; background-color: {theme.inline_code_background};",
            )
        elif kind == "link_open":
            _add_style(token, f"color: {theme.link}; text-decoration: none;")
        elif kind == "blockquote_open":
            _add_style(token, f"margin-left: 8px; color: {theme.muted}; font-style: italic;")
        elif kind == "table_open":
            token.attrSet("cellspacing", "0")
            token.attrSet("cellpadding", "4")
            _add_style(
                token,
                f"margin-bottom: 8px; border-collapse: collapse; border: 1px solid {theme.code_border};",
            )
        elif kind in ("th_open", "td_open"):
            _add_style(token, f"border: 1px solid {theme.code_border}; padding: 4px 8px;")
        elif kind == "s_open":
            _add_style(token, "text-decoration: line-through;")
        if token.children:
            _style_tokens(token.children, theme)


def render_markdown(
    markdown: str,
    theme: RenderTheme = LIGHT_THEME,
    *,
    streaming: bool = False,
    code_actions: bool = True,
    hard_breaks: bool = False,
    first_block_index: int = 0,
    highlight_top_level: bool = True,
) -> RenderedMessage:
    """HTML for one chat message, plus its code blocks (index i is linked as ``.../i``).

    While `streaming`, an unclosed fence is shown as code with "writing…" in place of
    its action links; once the message is finished every block gets its links (an
    answer that ended inside a fence is still code the user may want). `code_actions`
    off leaves the links out; `hard_breaks` keeps every newline (for what a person typed).
    `first_block_index` numbers the code blocks from there (for rendering the tail of a
    message whose start was rendered before, see app.chat.markdown.stream).
    `highlight_top_level` off leaves top-level code blocks uncoloured in the HTML, for a
    view that lays them out itself and colours them (app.chat.markdown.highlight).
    """
    parser = _HARD_BREAK_PARSER if hard_breaks else _PARSER
    tokens = parser.parse(markdown)
    blocks = _code_blocks(tokens, markdown, first_block_index)
    if not streaming:
        blocks = [CodeBlock(b.index, b.language, b.code, True) for b in blocks]
    _style_tokens(tokens, theme)
    state = _RenderEnv(
        theme=theme,
        blocks=blocks,
        with_actions=code_actions,
        highlight_top_level=highlight_top_level,
    )
    env: dict[str, object] = {_ENV_KEY: state}
    segments: list[str] = []
    segment_lines: list[int] = []
    segment_first_blocks: list[int] = []
    segment_code: list[CodeBlock | None] = []

    def add_segment(run: list[Token]) -> None:
        first_block = state.next_block
        segment_first_blocks.append(first_block_index + first_block)
        is_code = len(run) == 1 and run[0].type in ("fence", "code_block")
        segment_code.append(blocks[first_block] if is_code else None)
        segments.append(parser.renderer.render(run, parser.options, env).strip())
        segment_lines.append(run[0].map[0] if run[0].map else 0)

    run: list[Token] = []
    for token in tokens:
        run.append(token)
        if token.level == 0 and token.nesting <= 0:  # a top-level block just ended
            add_segment(run)
            run = []
    if run:
        add_segment(run)
    return RenderedMessage(
        text_colour=theme.text,
        code_blocks=blocks,
        segments=segments,
        segment_lines=segment_lines,
        segment_first_blocks=segment_first_blocks,
        segment_code=segment_code,
    )
