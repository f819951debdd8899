"""Chat Markdown to Qt-ready HTML: code blocks, streaming fences, escaping, action links."""

from __future__ import annotations

import re

import pytest

from app.chat.markdown.highlight import highlight_runs, iter_highlight_runs
from app.chat.markdown.render import (
    CODE_ACTIONS,
    DARK_THEME,
    LIGHT_THEME,
    CodeBlock,
    action_url,
    extract_code_blocks,
    parse_action_url,
    render_markdown,
    theme_for,
)

PYTHON_SOURCE = 'def greet(name):\n\tprint(f"hi {name}")  \n\n    return None'
ANSWER = f"""Here is the fix:

```python
{PYTHON_SOURCE}
```

And a shell line:

~~~bash title="run"
echo "<done>" && ls
~~~

Indented:

    x = 1
    y = 2
"""


def test_code_blocks_come_out_in_order_with_language_and_exact_source() -> None:
    blocks = extract_code_blocks(ANSWER)
    assert blocks == [
        CodeBlock(0, "python", PYTHON_SOURCE, True),
        CodeBlock(1, "bash", 'echo "<done>" && ls', True),
        CodeBlock(2, "", "x = 1\ny = 2", True),
    ]


def test_render_reports_the_same_blocks_that_extract_finds() -> None:
    assert render_markdown(ANSWER).code_blocks == extract_code_blocks(ANSWER)


def test_a_fence_without_language_and_an_empty_fence() -> None:
    blocks = extract_code_blocks("```\nplain\n```\n\n```js\n```\n")
    assert [(b.language, b.code) for b in blocks] == [("", "plain"), ("js", "")]


def test_each_block_gets_copy_insert_and_replace_links_after_its_code() -> None:
    html = render_markdown(ANSWER).html
    for index, marker in [(0, "greet"), (1, "echo"), (2, "y = 2")]:
        code_at = html.index(marker)
        for action, title in CODE_ACTIONS:
            link = f'href="{action_url(action, index)}"'
            assert html.count(link) == 1
            assert html.index(link) > code_at, f"{action} link of block {index} is above it"
            assert title in html
    # Block 0's links sit before block 1's code, so each block's links are its own.
    assert html.index(f'href="{action_url("replace", 0)}"') < html.index("echo")


def test_action_urls_round_trip_and_other_urls_are_not_actions() -> None:
    for action, _title in CODE_ACTIONS:
        assert parse_action_url(action_url(action, 7)) == (action, 7)
    for url in ["https://example.com", "dscoder:delete/1", "dscoder:copy/x", "copy/1", ""]:
        assert parse_action_url(url) is None


def test_unclosed_fence_while_streaming_is_shown_as_code_without_actions() -> None:
    partial = "Sure:\n\n```python\ndef add(a, b):\n    return a +"
    rendered = render_markdown(partial, streaming=True)
    assert rendered.code_blocks == [CodeBlock(0, "python", "def add(a, b):\n    return a +", False)]
    assert "<pre" in rendered.html and "add" in rendered.html
    assert "writing…" in rendered.html
    assert "dscoder:" not in rendered.html
    # Shown plain until it closes: it is re-laid out on every paint while it grows.
    assert "<span" not in rendered.html.split("<pre", 1)[1].split("</pre>", 1)[0]
    # The text before the fence is an ordinary paragraph, not code.
    assert re.search(r"<p[^>]*>Sure:</p>", rendered.html)


def test_closed_fences_keep_their_links_while_a_later_one_streams() -> None:
    text = "```py\na = 1\n```\n\nnext:\n\n```py\nb = "
    rendered = render_markdown(text, streaming=True)
    assert [b.complete for b in rendered.code_blocks] == [True, False]
    assert action_url("copy", 0) in rendered.html
    assert action_url("copy", 1) not in rendered.html


def test_a_finished_answer_that_ended_inside_a_fence_still_gets_links() -> None:
    rendered = render_markdown("```py\nprint(1)", streaming=False)
    assert rendered.code_blocks[0].complete
    assert action_url("insert", 0) in rendered.html


@pytest.mark.parametrize(
    ("cut", "open_block"),
    [
        ("```", ("", "")),
        ("```py", ("py", "")),
        ("```python\n", ("python", "")),
        ("text\n``", None),  # not a fence yet: plain text
        ("text\n```python\nx\n``", ("python", "x")),  # the closing fence is still arriving
    ],
)
def test_a_partial_fence_while_streaming_is_an_open_block_without_links(
    cut: str, open_block: tuple[str, str] | None
) -> None:
    rendered = render_markdown(cut, streaming=True)
    if open_block is None:
        assert rendered.code_blocks == []
        assert "text" in rendered.html
    else:
        [block] = rendered.code_blocks
        assert (block.language, block.complete) == (open_block[0], False)
        assert block.code.startswith(open_block[1])
    assert action_url("copy", 0) not in rendered.html  # no actions on an unfinished block


def test_html_in_model_output_is_escaped_as_text() -> None:
    text = (
        "<script>alert(1)</script> <b>bold?</b> <img src=x onerror=alert(1)>\n\n"
        '```html\n<div onclick="steal()">x</div>\n```\n'
    )
    html = render_markdown(text).html
    assert "<script" not in html and "<b>" not in html and "<img" not in html
    assert "<div onclick" not in html
    assert "&lt;script&gt;" in html
    assert extract_code_blocks(text)[0].code == '<div onclick="steal()">x</div>'


def test_the_model_cannot_forge_action_links_or_load_files() -> None:
    text = "[run](dscoder:replace/0) [f](file:///etc/passwd) ![i](file:///etc/hosts) [ok](https://example.com)"
    html = render_markdown(text).html
    assert 'href="dscoder:' not in html
    assert 'href="file:' not in html and 'src="file:' not in html and "<img" not in html
    assert 'href="https://example.com"' in html


def test_code_is_highlighted_with_inline_styles_in_the_theme_colours() -> None:
    light = render_markdown("```python\nimport os\n```", LIGHT_THEME).html
    dark = render_markdown("```python\nimport os\n```", DARK_THEME).html
    assert 'class="' not in light  # Qt would ignore classes: every colour is inline
    assert re.search(r'<span style="[^"]*color: #[0-9a-fA-F]{3,6}[^"]*">import</span>', light)
    assert light != dark
    assert DARK_THEME.code_header in dark and LIGHT_THEME.code_header in light


def test_user_text_can_keep_its_line_breaks() -> None:
    assert "<br" in render_markdown("one\ntwo", hard_breaks=True).html
    assert "<br" not in render_markdown("one\ntwo").html


def test_code_actions_can_be_left_out() -> None:
    rendered = render_markdown("```py\nx\n```", code_actions=False)
    assert "dscoder:" not in rendered.html
    assert rendered.code_blocks[0].code == "x"


def test_theme_names() -> None:
    assert theme_for("light") is LIGHT_THEME and theme_for("dark") is DARK_THEME
    with pytest.raises(ValueError):
        theme_for("sepia")


def test_segments_are_the_top_level_blocks_of_the_body() -> None:
    rendered = render_markdown("# T\n\npara\n\n- a\n- b\n\n```py\nx\n```\n\n> q\n\n---\n\nend")
    assert [segment[:4] for segment in rendered.segments] == ["<h1 ", "<p s", "<ul ", "<tab", "<blo", "<hr ", "<p s"]
    assert "\n".join(rendered.segments) in rendered.html


def test_streaming_changes_only_the_last_segments() -> None:
    text = "intro\n\n```py\nprint(1)\n```\n\nmore text that"
    earlier = render_markdown(text[:-5], streaming=True).segments
    later = render_markdown(text, streaming=True).segments
    assert earlier[:-1] == later[:-1] and earlier[-1] != later[-1]


def test_apply_is_the_fourth_action_and_cannot_be_forged() -> None:
    assert [action for action, _title in CODE_ACTIONS] == ["copy", "insert", "replace", "apply"]
    rendered = render_markdown("[Apply](dscoder:apply/0)\n\n```py\nx = 1\n```\n")
    assert rendered.html.count('href="dscoder:apply/0"') == 1  # the real block's link only
    assert parse_action_url("dscoder:apply/0") == ("apply", 0)


def test_highlight_runs_cover_the_code_at_exact_offsets() -> None:
    code = "\n\ndef f(x):\n    return 'hi'  # note\n"
    runs = highlight_runs(code, "python", "default")
    assert runs and all(0 <= r.start and r.start + r.length <= len(code) for r in runs)
    texts = {code[r.start : r.start + r.length] for r in runs}
    assert "def" in texts and "'hi'" in texts and "# note" in texts
    assert highlight_runs("plain words", "no-such-language", "default") == []


def test_top_level_code_segments_are_reported_as_blocks() -> None:
    rendered = render_markdown(
        "intro\n\n```py\nx = 1\n```\n\n- item\n\n  ```js\n  let y = 2;\n  ```\n",
        highlight_top_level=False,
    )
    assert rendered.segment_code[0] is None and rendered.segment_code[2] is None
    assert rendered.segment_code[1] == rendered.code_blocks[0]
    assert "<span" not in rendered.segments[1]  # left for the view to colour
    assert "<span" in rendered.segments[2]  # a nested block is still coloured here


def test_runs_come_lazily_and_match_the_whole_list() -> None:
    code = "\n".join(f"x_{n} = {n}  # {n}" for n in range(50))
    lazy = iter_highlight_runs(code, "python", "github-dark")
    first = next(lazy)
    assert [first, *lazy] == highlight_runs(code, "python", "github-dark")
