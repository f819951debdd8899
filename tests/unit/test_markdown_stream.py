"""Rendering a growing message from its last block gives what a whole render gives."""

from __future__ import annotations

import pytest

from app.chat.markdown.render import DARK_THEME, render_markdown
from app.chat.markdown.stream import StreamingRenderer

MESSAGE = """Intro with **bold** and `code`.

1. first
2. second
   - nested item

```python
def f(x):

    return x
```

Setext heading
--------------

| a | b |
|---|---|
| 1 | 2 |

> quoted
continued lazily

    indented code

- item with a fence:

  ```js
  let y = 2;
  ```
- next item

Para one
para still one

***

Closing `text` ~~gone~~.
"""


@pytest.mark.parametrize("step", [1, 3, 7])
def test_every_streamed_prefix_renders_like_a_whole_render(step: int) -> None:
    renderer = StreamingRenderer()
    for end in range(step, len(MESSAGE) + step, step):
        prefix = MESSAGE[:end]
        streamed = renderer.render(prefix, streaming=True)
        whole = render_markdown(prefix, streaming=True)
        assert streamed.segments == whole.segments, f"differs at {end}: {prefix[-20:]!r}"
        assert streamed.code_blocks == whole.code_blocks
        assert streamed.segment_lines == whole.segment_lines
        assert streamed.segment_first_blocks == whole.segment_first_blocks


def test_finishing_renders_whole_and_themes_reset_the_cache() -> None:
    renderer = StreamingRenderer()
    renderer.render(MESSAGE[:200], streaming=True)
    assert renderer.render(MESSAGE, streaming=False) == render_markdown(MESSAGE)
    renderer.set_theme(DARK_THEME)
    assert renderer.render(MESSAGE, streaming=True) == render_markdown(MESSAGE, DARK_THEME, streaming=True)


def test_text_that_is_not_a_continuation_is_rendered_from_scratch() -> None:
    renderer = StreamingRenderer()
    renderer.render("first paragraph\n\nsecond", streaming=True)
    assert renderer.render("other\n\ntext", streaming=True) == render_markdown("other\n\ntext", streaming=True)
