"""Fill-in-the-middle cases with checks that run the completed code.

Each case is a prefix and a suffix around a hole; the check runs prefix + middle +
suffix (Python, Node, gcc, rustc, bash) and passes when the program's own asserts
pass, so a case is judged by behaviour, not by string matching. Used by the opt-in
real-model test and by tests/bench/fim_quality.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class FimCase:
    name: str
    language: str
    prefix: str
    suffix: str


CASES: list[FimCase] = [
    FimCase(
        "py-area", "python", "import math\n\ndef area(r):\n    return ", "\n\nassert abs(area(2) - 12.566) < 0.01\n"
    ),
    FimCase("py-is-even", "python", "def is_even(n):\n    return ", "\n\nassert is_even(4) and not is_even(3)\n"),
    FimCase("py-reverse", "python", "def reverse(s):\n    return ", "\n\nassert reverse('abc') == 'cba'\n"),
    FimCase(
        "py-factorial",
        "python",
        "def factorial(n):\n    if n == 0:\n        return 1\n    return ",
        "\n\nassert factorial(5) == 120\n",
    ),
    FimCase(
        "py-squares-midline",
        "python",
        "def squares(xs):\n    return [",
        "]\n\nassert squares([1, 2, 3]) == [1, 4, 9]\n",
    ),
    FimCase(
        "py-count-words",
        "python",
        "def count_words(text):\n    counts = {}\n    for word in text.split():\n        counts[word] = ",
        "\n    return counts\n\nassert count_words('a b a') == {'a': 2, 'b': 1}\n",
    ),
    FimCase(
        "py-largest",
        "python",
        "def largest(xs):\n    best = xs[0]\n    for x in xs:\n        if x > best:\n            ",
        "\n    return best\n\nassert largest([3, 9, 2]) == 9\n",
    ),
    FimCase(
        "py-stack-push",
        "python",
        "class Stack:\n    def __init__(self):\n        self.items = []\n\n    def push(self, item):\n        ",
        "\n\n    def pop(self):\n        return self.items.pop()\n\ns = Stack()\ns.push(1)\nassert s.pop() == 1\n",
    ),
    FimCase(
        "py-join-midline",
        "python",
        "def csv_line(values):\n    return ','.join(",
        ")\n\nassert csv_line([1, 2]) == '1,2'\n",
    ),
    FimCase(
        "py-palindrome",
        "python",
        "def is_palindrome(s):\n    return s == ",
        "\n\nassert is_palindrome('abba') and not is_palindrome('ab')\n",
    ),
    FimCase(
        "py-sum-evens-midline",
        "python",
        "def sum_evens(xs):\n    return sum(",
        ")\n\nassert sum_evens([1, 2, 3, 4]) == 6\n",
    ),
    FimCase(
        "py-fib-body",
        "python",
        'def fib(n):\n    """Return the n-th Fibonacci number, fib(0) == 0 and fib(1) == 1."""\n    ',
        "\n\nassert fib(10) == 55\n",
    ),
    FimCase(
        "py-json-load",
        "python",
        "import json, os, tempfile\n\ndef load(path):\n    with open(path) as f:\n        return ",
        "\n\np = os.path.join(tempfile.mkdtemp(), 'x.json')\nopen(p, 'w').write('[1]')\nassert load(p) == [1]\n",
    ),
    FimCase(
        "js-add", "javascript", "function add(a, b) {\n  return ", ";\n}\n\nif (add(2, 3) !== 5) process.exit(1);\n"
    ),
    FimCase(
        "js-max-midline",
        "javascript",
        "function max(arr) {\n  return Math.",
        ";\n}\nif (max([1, 5, 3]) !== 5) process.exit(1);\n",
    ),
    FimCase(
        "js-map-midline",
        "javascript",
        "const nums = [1, 2, 3];\nconst doubled = nums.map(",
        ");\nif (doubled.join() !== '2,4,6') process.exit(1);\n",
    ),
    FimCase(
        "js-is-empty",
        "javascript",
        "function isEmpty(s) {\n  ",
        "\n}\nif (!isEmpty('') || isEmpty('a')) process.exit(1);\n",
    ),
    FimCase(
        "c-square",
        "c",
        "#include <stdio.h>\n\nint square(int x) {\n    return ",
        ";\n}\n\nint main(void) { return square(3) == 9 ? 0 : 1; }\n",
    ),
    FimCase(
        "c-sum-loop",
        "c",
        "int sum(const int *a, int n) {\n    int s = 0;\n    for (int i = 0; i < n; i++) {\n        ",
        "\n    }\n    return s;\n}\nint main(void) { int a[] = {1, 2, 3}; return sum(a, 3) == 6 ? 0 : 1; }\n",
    ),
    FimCase(
        "rust-add", "rust", "fn add(a: i32, b: i32) -> i32 {\n    ", "\n}\n\nfn main() { assert_eq!(add(2, 3), 5); }\n"
    ),
    FimCase("bash-argc", "bash", "#!/bin/bash\n# Print how many arguments were given.\necho ", "\n"),
    FimCase(
        "py-max-key-midline",
        "python",
        "words = ['a', 'abc', 'ab']\nlongest = max(words, key=",
        ")\nassert longest == 'abc'\n",
    ),
]


def _run(cmd: list[str], cwd: str, timeout: float = 60) -> bool:
    try:
        return subprocess.run(cmd, cwd=cwd, capture_output=True, timeout=timeout).returncode == 0
    except (subprocess.TimeoutExpired, OSError):
        return False


def check(case: FimCase, middle: str) -> bool:
    """Run prefix + middle + suffix; True when the program's asserts pass."""
    code = case.prefix + middle + case.suffix
    with tempfile.TemporaryDirectory() as tmp:
        if case.language == "python":
            path = os.path.join(tmp, "case.py")
            Path(path).write_text(code)
            return _run([sys.executable, path], tmp)
        if case.language == "javascript":
            path = os.path.join(tmp, "case.js")
            Path(path).write_text(code)
            return _run(["node", path], tmp)
        if case.language == "c":
            path = os.path.join(tmp, "case.c")
            Path(path).write_text(code)
            return _run(["gcc", "-o", "case", path], tmp) and _run(["./case"], tmp)
        if case.language == "rust":
            path = os.path.join(tmp, "case.rs")
            Path(path).write_text(code)
            return _run(["rustc", "-o", "case", path], tmp, 120) and _run(["./case"], tmp)
        if case.language == "bash":
            path = os.path.join(tmp, "case.sh")
            Path(path).write_text(code)
            try:
                out = subprocess.run(["bash", path, "x", "y", "z"], capture_output=True, text=True, timeout=10).stdout
            except subprocess.TimeoutExpired:
                return False
            return out.strip() == "3"
    raise ValueError(case.language)


def available(case: FimCase) -> bool:
    tool = {"python": sys.executable, "javascript": "node", "c": "gcc", "rust": "rustc", "bash": "bash"}[case.language]
    return shutil.which(tool) is not None or os.path.exists(tool)
