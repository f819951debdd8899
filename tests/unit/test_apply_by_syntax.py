"""Apply by syntax on real code in Python, TypeScript/JavaScript, C/C++, Rust, Go and Java.

Each case asserts the exact text the file has after every hunk the plan ticks is
applied; the expected text is written as the file with the intended edits, so what
the case wants is visible next to it.
"""

from __future__ import annotations

import pytest

from app.chat.apply.hunks import apply_hunks
from app.chat.apply.plan import placed_by_syntax, plan_code_block, result_problems


def applied(file: str, block: str, language: str, path: str = "", cursor_line: int | None = None) -> str:
    plan = plan_code_block(file, block, language_id=language, path=path, cursor_line=cursor_line)
    assert not result_problems(file, plan.hunks, plan.grammar)
    return apply_hunks(file, [h for h in plan.hunks if h.selected])


def plan_for(file: str, block: str, language: str, **kwargs):
    return plan_code_block(file, block, language_id=language, **kwargs)


# --- Python -------------------------------------------------------------------------

PY = '''"""Order book helpers."""

import json
from dataclasses import dataclass


@dataclass
class Order:
    customer: str
    total: float


def load_orders(path):
    with open(path) as f:
        return [Order(**o) for o in json.load(f)]


class Report:
    def __init__(self, orders):
        self.orders = orders

    def count(self):
        return len(self.orders)


def average_total(orders):
    pass


if __name__ == "__main__":
    print(average_total(load_orders("orders.json")))
'''

PY_AVERAGE = """def average_total(orders):
    if not orders:
        return 0.0
    return sum(o.total for o in orders) / len(orders)
"""


def test_python_stub_filled_at_its_line_not_above_the_imports():
    plan = plan_for(PY, PY_AVERAGE, "python", cursor_line=None)
    assert placed_by_syntax(plan) and len(plan.hunks) == 1
    assert plan.hunks[0].what == "Replaces function average_total"
    assert "stub" in plan.hunks[0].why and "line 26" in plan.hunks[0].why
    expected = PY.replace(
        "def average_total(orders):\n    pass\n",
        PY_AVERAGE,
    )
    assert applied(PY, PY_AVERAGE, "python") == expected


def test_python_body_rewritten():
    block = "def load_orders(path):\n    return [Order(**o) for o in json.loads(open(path).read())]\n"
    expected = PY.replace(
        "    with open(path) as f:\n        return [Order(**o) for o in json.load(f)]\n",
        "    return [Order(**o) for o in json.loads(open(path).read())]\n",
    )
    assert applied(PY, block, "python") == expected


def test_python_method_replaced_inside_its_class():
    block = "def count(self):\n    return sum(1 for _ in self.orders)\n"
    plan = plan_for(PY, block, "python")
    assert "inside class Report" in plan.hunks[0].why
    expected = PY.replace("        return len(self.orders)\n", "        return sum(1 for _ in self.orders)\n")
    assert applied(PY, block, "python") == expected


def test_python_new_method_goes_after_its_sibling_in_the_class():
    block = "class Report:\n    def count(self):\n        return len(self.orders)\n\n    def total(self):\n        return sum(o.total for o in self.orders)\n"
    expected = PY.replace(
        "        return len(self.orders)\n",
        "        return len(self.orders)\n\n    def total(self):\n        return sum(o.total for o in self.orders)\n",
    )
    assert applied(PY, block, "python") == expected


def test_python_new_function_placed_after_the_one_it_uses():
    block = "def biggest(path):\n    return max(load_orders(path), key=lambda o: o.total)\n"
    plan = plan_for(PY, block, "python")
    assert plan.hunks[0].why == "after function load_orders, which it uses"
    expected = PY.replace(
        "json.load(f)]\n",
        "json.load(f)]\n\n\ndef biggest(path):\n    return max(load_orders(path), key=lambda o: o.total)\n",
    )
    assert applied(PY, block, "python") == expected


def test_python_imports_merge_into_the_files_import_block():
    block = "import statistics\nfrom dataclasses import dataclass, field\n\n" + PY_AVERAGE.replace(
        "sum(o.total for o in orders) / len(orders)", "statistics.mean(o.total for o in orders)"
    )
    expected = PY.replace(
        "import json\nfrom dataclasses import dataclass\n",
        "import json\nfrom dataclasses import dataclass, field\nimport statistics\n",
    ).replace(
        "def average_total(orders):\n    pass\n",
        "def average_total(orders):\n    if not orders:\n        return 0.0\n    return statistics.mean(o.total for o in orders)\n",
    )
    assert applied(PY, block, "python") == expected


def test_python_two_functions_in_one_block_are_two_hunks():
    block = (
        PY_AVERAGE
        + "\n\ndef median_total(orders):\n    totals = sorted(o.total for o in orders)\n    return totals[len(totals) // 2]\n"
    )
    plan = plan_for(PY, block, "python")
    assert [h.what for h in plan.hunks] == ["Replaces function average_total", "Adds function median_total"]
    expected = PY.replace(
        "def average_total(orders):\n    pass\n",
        PY_AVERAGE
        + "\n\ndef median_total(orders):\n    totals = sorted(o.total for o in orders)\n    return totals[len(totals) // 2]\n",
    )
    assert applied(PY, block, "python") == expected
    # Each hunk applies on its own.
    assert apply_hunks(PY, plan.hunks[1:]) == PY.replace(
        "def average_total(orders):\n    pass\n",
        "def average_total(orders):\n    pass\n\n\ndef median_total(orders):\n    totals = sorted(o.total for o in orders)\n    return totals[len(totals) // 2]\n",
    )


def test_python_fragment_falls_back_to_line_matching():
    block = "    with open(path, encoding='utf-8') as f:\n        return [Order(**o) for o in json.load(f)]\n"
    plan = plan_for(PY, block, "python")
    assert plan.kind == "region" and not placed_by_syntax(plan)
    assert "not a whole definition" in plan.fallback_reason
    assert applied(PY, block, "python") == PY.replace("open(path) as f", "open(path, encoding='utf-8') as f")


def test_code_outside_definitions_is_offered_unticked_and_cursor_only_when_placed():
    block = PY_AVERAGE + "\nprint(average_total([]))\n"
    plan = plan_for(PY, block, "python")
    [extra] = [h for h in plan.hunks if not h.selected]
    assert extra.start == len(PY.splitlines()) and "end of the file" in extra.why
    assert extra.new_lines == ("print(average_total([]))",)
    plan = plan_for(PY, block, "python", cursor_line=3)
    [extra] = [h for h in plan.hunks if not h.selected]
    assert extra.start == 3 and "cursor" in extra.why


def test_an_answer_repeating_most_of_the_file_changes_only_what_changed():
    filled = PY.replace("def average_total(orders):\n    pass\n", PY_AVERAGE)
    block = filled[filled.index("@dataclass") :]  # as a model answers: the definitions and the main guard
    plan = plan_for(PY, block, "python")
    assert [h.selected for h in plan.hunks] == [True]  # the stub; the `if __name__` lines are not offered again
    assert any("already in the file" in note for note in plan.notes)
    assert apply_hunks(PY, plan.hunks) == filled


def test_a_file_without_definitions_takes_the_code_at_the_cursor_or_the_end():
    script = "import sys\n\nprint(sys.argv)\n"
    block = "def main():\n    return 0\n"
    plan = plan_for(script, block, "python")
    assert not placed_by_syntax(plan) and "no definitions" in plan.fallback_reason
    assert apply_hunks(script, plan.hunks) == script + "\ndef main():\n    return 0\n"
    plan = plan_for(script, block, "python", cursor_line=1)
    assert apply_hunks(script, plan.hunks) == "import sys\ndef main():\n    return 0\n\nprint(sys.argv)\n"


def test_a_result_that_does_not_parse_is_reported():
    plan = plan_for(PY, "def count(self):\n    return len(self.orders\n", "python")
    assert plan.fallback_reason  # the block itself does not parse: line matching
    assert result_problems(PY, plan.hunks, plan.grammar)


# --- TypeScript and JavaScript --------------------------------------------------------

TS = """import { Item } from "./item";

export interface Line {
  item: Item;
  qty: number;
}

export class Cart {
  private lines: Line[] = [];

  add(item: Item, qty: number): void {
    this.lines.push({ item, qty });
  }

  total(): number {
    throw new Error("not implemented");
  }
}

export function formatPrice(cents: number): string {
  return `$${(cents / 100).toFixed(2)}`;
}
"""

TS_TOTAL = "total(): number {\n  return this.lines.reduce((sum, l) => sum + l.item.price * l.qty, 0);\n}\n"
TS_TOTAL_IN_CLASS = (
    "  total(): number {\n    return this.lines.reduce((sum, l) => sum + l.item.price * l.qty, 0);\n  }\n"
)
TS_STUB = '  total(): number {\n    throw new Error("not implemented");\n  }\n'


def test_typescript_method_stub_filled_inside_its_class():
    plan = plan_for(TS, TS_TOTAL, "typescript", path="cart.ts")
    assert placed_by_syntax(plan)
    assert applied(TS, TS_TOTAL, "typescript") == TS.replace(TS_STUB, TS_TOTAL_IN_CLASS)


def test_typescript_body_rewritten():
    block = "export function formatPrice(cents: number): string {\n  const dollars = Math.floor(cents / 100);\n  return `$${dollars}.${String(cents % 100).padStart(2, '0')}`;\n}\n"
    expected = TS.replace(
        "  return `$${(cents / 100).toFixed(2)}`;\n",
        "  const dollars = Math.floor(cents / 100);\n  return `$${dollars}.${String(cents % 100).padStart(2, '0')}`;\n",
    )
    assert applied(TS, block, "typescript") == expected


def test_typescript_class_with_new_method_keeps_the_others():
    block = "class Cart {\n" + TS_TOTAL_IN_CLASS + "\n  clear(): void {\n    this.lines = [];\n  }\n}\n"
    expected = TS.replace(TS_STUB, TS_TOTAL_IN_CLASS + "\n  clear(): void {\n    this.lines = [];\n  }\n")
    assert applied(TS, block, "typescript") == expected


def test_typescript_named_imports_merge_and_two_functions():
    block = (
        'import { Item, isFree } from "./item";\n\n'
        "export function formatPrice(cents: number): string {\n  return `$${cents / 100}`;\n}\n\n"
        "export function formatQty(qty: number): string {\n  return `${qty}x`;\n}\n"
    )
    plan = plan_for(TS, block, "typescript")
    assert len(plan.hunks) == 3
    expected = TS.replace('import { Item } from "./item";', 'import { Item, isFree } from "./item";').replace(
        "  return `$${(cents / 100).toFixed(2)}`;\n}\n",
        "  return `$${cents / 100}`;\n}\n\nexport function formatQty(qty: number): string {\n  return `${qty}x`;\n}\n",
    )
    assert applied(TS, block, "typescript") == expected


JS = """const fs = require("fs");

function readLines(path) {
  return fs.readFileSync(path, "utf8").split("\\n");
}

const countWords = (line) => {
  return 0;
};

module.exports = { readLines, countWords };
"""


def test_javascript_arrow_function_stub_filled_and_sibling_added():
    block = "const countWords = (line) => {\n  return line.split(/\\s+/).filter(Boolean).length;\n};\n\nconst countChars = (line) => line.length;\n"
    expected = JS.replace(
        "const countWords = (line) => {\n  return 0;\n};\n",
        "const countWords = (line) => {\n  return line.split(/\\s+/).filter(Boolean).length;\n};\n\nconst countChars = (line) => line.length;\n",
    )
    assert applied(JS, block, "javascript") == expected


def test_javascript_fragment_falls_back():
    block = '  return fs.readFileSync(path, "utf8").split(/\\r?\\n/);\n'
    plan = plan_for(JS, block, "javascript")
    assert not placed_by_syntax(plan)
    assert applied(JS, block, "javascript") == JS.replace('split("\\n")', "split(/\\r?\\n/)")


# --- C and C++ ----------------------------------------------------------------------

C = """#include <stdio.h>
#include "util.h"

static int clamp(int x, int lo, int hi) {
    return x < lo ? lo : x > hi ? hi : x;
}

int scale(int x) {
    /* TODO */
    return 0;
}

int main(void) {
    printf("%d\\n", scale(5));
    return 0;
}
"""


def test_c_stub_filled_include_merged_and_new_function_after_sibling():
    block = "#include <stdlib.h>\n\nint scale(int x) {\n    return clamp(x * 10, 0, 100);\n}\n\nint unscale(int y) {\n    return abs(y) / 10;\n}\n"
    plan = plan_for(C, block, "c")
    assert [h.what for h in plan.hunks] == [
        "Adds #include <stdlib.h>",
        "Replaces function scale",
        "Adds function unscale",
    ]
    assert "stub" in plan.hunks[1].why
    expected = C.replace('#include "util.h"\n', '#include "util.h"\n#include <stdlib.h>\n').replace(
        "    /* TODO */\n    return 0;\n}\n",
        "    return clamp(x * 10, 0, 100);\n}\n\nint unscale(int y) {\n    return abs(y) / 10;\n}\n",
    )
    assert applied(C, block, "c") == expected


def test_c_body_rewritten():
    block = "static int clamp(int x, int lo, int hi) {\n    if (x < lo) return lo;\n    if (x > hi) return hi;\n    return x;\n}\n"
    expected = C.replace(
        "    return x < lo ? lo : x > hi ? hi : x;\n",
        "    if (x < lo) return lo;\n    if (x > hi) return hi;\n    return x;\n",
    )
    assert applied(C, block, "c") == expected


CPP = """#include <cmath>
#include <string>

namespace shapes {

class Circle {
public:
    explicit Circle(double r) : r_(r) {}

    double area() const {
        return 0; // TODO
    }

private:
    double r_;
};

double square(double x) {
    return x * x;
}

}  // namespace shapes
"""


def test_cpp_method_replaced_inside_its_class_and_sibling_added():
    block = "#include <numbers>\n\ndouble area() const {\n    return std::numbers::pi * square(r_);\n}\n\ndouble perimeter() const {\n    return 2 * std::numbers::pi * r_;\n}\n"
    expected = CPP.replace("#include <string>\n", "#include <string>\n#include <numbers>\n").replace(
        "        return 0; // TODO\n    }\n",
        "        return std::numbers::pi * square(r_);\n    }\n\n    double perimeter() const {\n        return 2 * std::numbers::pi * r_;\n    }\n",
    )
    assert applied(CPP, block, "cpp") == expected


def test_cpp_new_function_goes_inside_the_namespace_next_to_what_it_uses():
    block = "double cube(double x) {\n    return x * square(x);\n}\n"
    expected = CPP.replace(
        "    return x * x;\n}\n", "    return x * x;\n}\n\ndouble cube(double x) {\n    return x * square(x);\n}\n"
    )
    assert applied(CPP, block, "cpp") == expected


# --- Rust ---------------------------------------------------------------------------

RUST = """use std::collections::HashMap;

/// A word counter.
pub struct Counter {
    counts: HashMap<String, usize>,
}

impl Counter {
    pub fn new() -> Self {
        Counter { counts: HashMap::new() }
    }

    pub fn add(&mut self, word: &str) {
        todo!()
    }
}

pub fn words(text: &str) -> Vec<&str> {
    text.split_whitespace().collect()
}
"""


def test_rust_impl_method_filled_added_and_use_merged():
    block = (
        "use std::fmt;\nuse std::collections::HashMap;\n\nimpl Counter {\n"
        "    pub fn add(&mut self, word: &str) {\n        *self.counts.entry(word.to_string()).or_insert(0) += 1;\n    }\n\n"
        "    pub fn get(&self, word: &str) -> usize {\n        self.counts.get(word).copied().unwrap_or(0)\n    }\n}\n\n"
        "impl fmt::Display for Counter {\n    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {\n"
        '        write!(f, "{} words", self.counts.len())\n    }\n}\n'
    )
    plan = plan_for(RUST, block, "rust")
    assert placed_by_syntax(plan) and len(plan.hunks) == 4
    expected = RUST.replace(
        "use std::collections::HashMap;\n", "use std::collections::HashMap;\nuse std::fmt;\n", 1
    ).replace(
        "        todo!()\n    }\n}\n",
        "        *self.counts.entry(word.to_string()).or_insert(0) += 1;\n    }\n\n"
        "    pub fn get(&self, word: &str) -> usize {\n        self.counts.get(word).copied().unwrap_or(0)\n    }\n}\n\n"
        "impl fmt::Display for Counter {\n    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {\n"
        '        write!(f, "{} words", self.counts.len())\n    }\n}\n',
    )
    assert applied(RUST, block, "rust") == expected


def test_rust_bare_method_found_in_its_impl_and_free_function_rewritten():
    block = (
        "pub fn new() -> Self {\n    Counter { counts: HashMap::with_capacity(64) }\n}\n\n"
        "pub fn words(text: &str) -> Vec<&str> {\n    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect()\n}\n"
    )
    expected = RUST.replace("HashMap::new() }", "HashMap::with_capacity(64) }").replace(
        "    text.split_whitespace().collect()\n",
        "    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect()\n",
    )
    assert applied(RUST, block, "rust") == expected


# --- Go -----------------------------------------------------------------------------

GO = """package stack

import (
\t"errors"
)

// Stack holds ints.
type Stack struct {
\titems []int
}

// Push adds x.
func (s *Stack) Push(x int) {
\tpanic("not implemented")
}

func (s *Stack) Len() int {
\treturn len(s.items)
}

func Sum(xs []int) int {
\ttotal := 0
\tfor _, x := range xs {
\t\ttotal += x
\t}
\treturn total
}

var ErrEmpty = errors.New("empty")
"""


def test_go_method_stub_filled_new_methods_after_it_and_import_joins_the_list():
    block = (
        'import "fmt"\n\nfunc (s *Stack) Push(x int) {\n\ts.items = append(s.items, x)\n}\n\n'
        "func (s *Stack) String() string {\n\treturn fmt.Sprint(s.items)\n}\n"
    )
    plan = plan_for(GO, block, "go")
    assert [h.what for h in plan.hunks] == ['Adds "fmt"', "Replaces method Stack.Push", "Adds method Stack.String"]
    expected = GO.replace('\t"errors"\n', '\t"errors"\n\t"fmt"\n').replace(
        '\tpanic("not implemented")\n}\n',
        "\ts.items = append(s.items, x)\n}\n\nfunc (s *Stack) String() string {\n\treturn fmt.Sprint(s.items)\n}\n",
    )
    assert applied(GO, block, "go") == expected


def test_go_new_method_goes_with_the_rest_of_its_type():
    block = "func (s *Stack) Peek() int {\n\treturn s.items[len(s.items)-1]\n}\n"
    plan = plan_for(GO, block, "go")
    assert "with the rest of Stack" in plan.hunks[0].why
    expected = GO.replace(
        "\treturn len(s.items)\n}\n",
        "\treturn len(s.items)\n}\n\nfunc (s *Stack) Peek() int {\n\treturn s.items[len(s.items)-1]\n}\n",
    )
    assert applied(GO, block, "go") == expected


# --- Java ---------------------------------------------------------------------------

JAVA = """package demo;

import java.util.ArrayList;
import java.util.List;

public class Stack {
    private final List<Integer> items = new ArrayList<>();

    public void push(int x) {
        // TODO
    }

    public int pop() {
        return items.remove(items.size() - 1);
    }
}
"""


def test_java_method_filled_sibling_added_and_import_merged():
    block = (
        "import java.util.Objects;\n\npublic void push(int x) {\n    Objects.requireNonNull(items);\n    items.add(x);\n}\n\n"
        "public int peek() {\n    return items.get(items.size() - 1);\n}\n"
    )
    plan = plan_for(JAVA, block, "java")
    assert placed_by_syntax(plan)
    expected = JAVA.replace("import java.util.List;\n", "import java.util.List;\nimport java.util.Objects;\n").replace(
        "        // TODO\n    }\n",
        "        Objects.requireNonNull(items);\n        items.add(x);\n    }\n\n"
        "    public int peek() {\n        return items.get(items.size() - 1);\n    }\n",
    )
    assert applied(JAVA, block, "java") == expected


def test_java_new_method_without_siblings_goes_into_the_files_class():
    block = "public boolean isEmpty() {\n    return items.isEmpty();\n}\n"
    expected = JAVA.replace(
        "        return items.remove(items.size() - 1);\n    }\n",
        "        return items.remove(items.size() - 1);\n    }\n\n    public boolean isEmpty() {\n        return items.isEmpty();\n    }\n",
    )
    assert applied(JAVA, block, "java") == expected


# --- a language without a grammar -----------------------------------------------------

SQL = "CREATE TABLE orders (\n  id INTEGER PRIMARY KEY,\n  total REAL\n);\n\nSELECT id FROM orders;\n"


def test_a_language_without_a_grammar_is_matched_line_by_line():
    block = "CREATE TABLE orders (\n  id INTEGER PRIMARY KEY,\n  total REAL NOT NULL\n);\n"
    plan = plan_for(SQL, block, "sql")
    assert plan.grammar is None and "no parser" in plan.fallback_reason and not placed_by_syntax(plan)
    assert applied(SQL, block, "sql") == SQL.replace("total REAL\n", "total REAL NOT NULL\n")


@pytest.mark.parametrize("language", ["python", "typescript", "c", "cpp", "rust", "go", "java"])
def test_the_same_code_again_changes_nothing(language):
    file = {"python": PY, "typescript": TS, "c": C, "cpp": CPP, "rust": RUST, "go": GO, "java": JAVA}[language]
    assert plan_for(file, file, language).unchanged
