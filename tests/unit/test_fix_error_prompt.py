""" "Fix this error": references found in pasted errors and the code put in the prompt."""

from __future__ import annotations

from app.chat.fix_error_prompt import build_fix_prompt, disk_reader, parse_error_locations, relevant_locations

PY_TRACEBACK = """Traceback (most recent call last):
  File "/home/me/proj/main.py", line 8, in <module>
    main()
  File "/home/me/proj/main.py", line 5, in main
    print(parse("x"))
  File "/usr/lib/python3.12/json/__init__.py", line 346, in loads
    return _default_decoder.decode(s)
  File "/home/me/proj/util.py", line 3, in parse
    return int(text)
ValueError: invalid literal for int() with base 10: 'x'
"""

GCC = """src/calc.c: In function 'main':
src/calc.c:12:5: error: 'y' undeclared (first use in this function)
   12 |     y = 3;
      |     ^
src/calc.c:14:12: warning: unused variable 'z' [-Wunused-variable]
"""

RUSTC = """error[E0308]: mismatched types
 --> src/main.rs:4:18
  |
4 |     let x: i32 = "five";
  |            ---   ^^^^^^ expected `i32`, found `&str`
"""

NODE = """/app/server.js:10
    throw new Error('boom');
    ^

Error: boom
    at handler (/app/server.js:10:11)
    at Object.<anonymous> (/app/index.js:3:1)
    at Module._compile (node:internal/modules/cjs/loader:1256:14)
"""

TSC = "src/app.ts(7,3): error TS2322: Type 'string' is not assignable to type 'number'.\n"


def test_python_traceback_innermost_own_frame_first():
    locs = parse_error_locations(PY_TRACEBACK)
    assert [(loc.path, loc.line) for loc in locs] == [
        ("/home/me/proj/main.py", 8),
        ("/home/me/proj/main.py", 5),
        ("/usr/lib/python3.12/json/__init__.py", 346),
        ("/home/me/proj/util.py", 3),
    ]
    assert locs[3].where == "parse" and locs[2].in_library
    chosen = relevant_locations(locs)
    assert [(loc.path, loc.line) for loc in chosen] == [
        ("/home/me/proj/util.py", 3),
        ("/home/me/proj/main.py", 5),
        ("/home/me/proj/main.py", 8),
    ]


def test_gcc_rustc_node_and_tsc_positions():
    assert [(loc.path, loc.line, loc.column) for loc in parse_error_locations(GCC)] == [
        ("src/calc.c", 12, 5),
        ("src/calc.c", 14, 12),
    ]
    assert [(loc.path, loc.line, loc.column, loc.kind) for loc in parse_error_locations(RUSTC)] == [
        ("src/main.rs", 4, 18, "rustc")
    ]
    node = parse_error_locations(NODE)
    assert ("/app/server.js", 10) in [(loc.path, loc.line) for loc in node]
    assert ("/app/index.js", 3) in [(loc.path, loc.line) for loc in node]
    assert all(loc.in_library for loc in node if "node:internal" in loc.path)
    assert [(loc.path, loc.line, loc.column) for loc in parse_error_locations(TSC)] == [("src/app.ts", 7, 3)]


def test_prompt_shows_the_lines_pointed_at_with_markers(tmp_path):
    util = tmp_path / "util.py"
    util.write_text("import sys\n\ndef parse(text):\n    return int(text)\n")
    error = PY_TRACEBACK.replace("/home/me/proj/util.py", str(util))
    fix = build_fix_prompt(error, disk_reader())
    assert "ValueError: invalid literal" in fix.prompt
    assert f"`{util}`, lines 1–4" in fix.prompt
    assert "> 3 | def parse(text):" in fix.prompt and "  2 | \n" in fix.prompt
    assert "```python\n" in fix.prompt
    assert "/home/me/proj/main.py" in fix.missing  # not on this machine: said so
    assert len(fix.excerpts) == 1


def test_open_editor_text_wins_over_the_disk_and_relative_paths_resolve(tmp_path):
    (tmp_path / "src").mkdir()
    on_disk = tmp_path / "src" / "calc.c"
    on_disk.write_text("int main(void) {\n" + "    int x;\n" * 20 + "}\n")
    unsaved = "int main(void) {\n" + "    int a;\n" * 10 + "    y = 3;\n" + "    int b;\n" * 5 + "}\n"
    reader = disk_reader(str(tmp_path), {str(on_disk): unsaved})
    fix = build_fix_prompt(GCC, reader, lines_around=2)
    excerpt = fix.excerpts[0]
    assert excerpt.path == "src/calc.c" and excerpt.first_line == 10
    assert "y = 3;" in "\n".join(excerpt.lines)
    assert excerpt.marked == {12, 14}  # the two nearby references share one excerpt
    assert len(fix.excerpts) == 1
    # Without the open editor, the disk version is read through the base folder.
    fix_disk = build_fix_prompt(GCC, disk_reader(str(tmp_path)), lines_around=1)
    assert "int x;" in "\n".join(fix_disk.excerpts[0].lines)


def test_text_without_references_still_makes_a_prompt():
    fix = build_fix_prompt("Segmentation fault (core dumped)", disk_reader())
    assert fix.locations == () and fix.excerpts == ()
    assert "Segmentation fault" in fix.prompt
