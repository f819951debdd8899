"""The FIM stop rules on raw model output, including output streamed in small pieces."""

from __future__ import annotations

import pytest

from app.completion.fim import FimFilter, filter_middle, strip_special_tokens


def stream(prefix: str, suffix: str, raw: str, language: str | None, piece: int = 3) -> str:
    fim = FimFilter(prefix, suffix, language)
    for i in range(0, len(raw), piece):
        _, done = fim.feed(raw[i : i + piece])
        if done:
            break
    fim.finish()
    return fim.text


CASES = [
    # (name, prefix, suffix, raw model output, language, expected middle)
    ("special token ends it", "x = ", "\n", "compute()<｜end▁of▁sentence｜>junk", "python", "compute()"),
    ("eot text ends it", "x = ", "\n", "1<|EOT|>\n### Instruction", "python", "1"),
    ("qwen fim tokens", "a = ", "\n", "2<|fim_middle|>3", "python", "2"),
    ("mid-line stops at end of line", "print(", ")\n", "total, end='')\nprint('more')\n", "python", "total, end=''"),
    ("mid-line drops repeated rest of line", "result = add(", ")\nprint(result)\n", "1, 2)\n", "python", "1, 2"),
    (
        "mid-line comment would swallow the rest",
        "xs = sum(",
        ")\n",
        "x for x in y)  # total\n",
        "python",
        "x for x in y",
    ),
    ("mid-line keeps # inside a string", "s = '-'.join(", ")\n", "['#', 'b'])\n", "python", "['#', 'b']"),
    ("mid-line C comment", "int y = f(", ");\n", "x); // call\n", "c", "x"),
    (
        "suffix repetition cut",
        "def f(x):\n    ",
        "\n\ndef g():\n    pass\n",
        "return x * 2\n\ndef g():\n    pass\n",
        "python",
        "return x * 2",
    ),
    (
        "python dedent ends the block",
        "def f(x):\n    if x:\n        ",
        "\n",
        "return 1\n    return 0\n\nclass Other:\n    pass\n",
        "python",
        "return 1",
    ),
    (
        "brace closes past level, suffix has closer",
        "int f(int x) {\n    ",
        "\n}\n",
        "return x + 1;\n}\n\nint g() {\n",
        "c",
        "return x + 1;",
    ),
    (
        "brace closes the block, suffix empty",
        "function f(x) {\n  ",
        "",
        "return x;\n}\n\nfunction g() {}\n",
        "javascript",
        "return x;\n}",
    ),
    (
        "multi-line allowed at end of line",
        "def fib(n):\n",
        "\n",
        "    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n",
        "python",
        "    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)",
    ),
]


@pytest.mark.parametrize("name,prefix,suffix,raw,language,expected", CASES, ids=[c[0] for c in CASES])
def test_rules_whole(name, prefix, suffix, raw, language, expected):
    assert filter_middle(prefix, suffix, raw, language) == expected


@pytest.mark.parametrize("name,prefix,suffix,raw,language,expected", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("piece", [1, 2, 5])
def test_rules_streamed(name, prefix, suffix, raw, language, expected, piece):
    assert stream(prefix, suffix, raw, language, piece) == expected


def test_special_token_split_across_deltas_never_leaks():
    fim = FimFilter("x = ", "\n", "python")
    out = ""
    for piece in ["1", "<｜", "end▁of", "▁sentence", "｜>", "more"]:
        text, done = fim.feed(piece)
        out += text
        if done:
            break
    out += fim.finish()
    assert out == "1" and "<" not in fim.text


def test_done_reported_as_soon_as_the_middle_ends():
    fim = FimFilter("print(", ")\n", "python")
    _, done = fim.feed("x")
    assert not done
    _, done = fim.feed(")\nmore")
    assert done and fim.text == "x"


def test_strip_special_tokens():
    assert strip_special_tokens("a<｜fim▁hole｜>b<|EOT|>c<PRE>d") == "abcd"
