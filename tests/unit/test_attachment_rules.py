"""What the next question carries, decided without Qt: the editor's file, its part around
the cursor or the selection, @ mentions, the project map, the budgets, the chips and the
prefix an engine can evaluate ahead."""

from __future__ import annotations

from pathlib import Path

from app.chat.attachments import rules
from app.chat.attachments.prompt import attachments_prompt
from app.chat.attachments.rules import AttachmentRequest, Budgets, MentionedFile
from app.chat.editor_access import EditorSnapshot
from app.project.outline_map import build_map

SAMPLE = """import json


def load(path):
    with open(path) as f:
        return json.load(f)


def average_total(orders):
    pass
"""


def snapshot(text: str = SAMPLE, cursor_line: int = 0, selection: tuple[int, int] | None = None) -> EditorSnapshot:
    return EditorSnapshot("sample.py", "/work/sample.py", "python", text, cursor_line, selection)


def test_the_editors_file_is_attached_whole_when_it_fits():
    [attached] = rules.gather(AttachmentRequest(snapshot()))
    assert (attached.kind, attached.key, attached.label, attached.code) == ("file", "editor", "sample.py", SAMPLE)


def test_a_large_file_sends_the_part_around_the_cursor_within_the_budget():
    text = "".join(f"row_{i} = {i}  # padding to make the file larger than its budget\n" for i in range(3000))
    request = AttachmentRequest(snapshot(text, cursor_line=2000), budgets=Budgets(file=500))
    [attached] = rules.gather(request)
    assert attached.kind == "part" and attached.tokens <= 500
    assert attached.first_line <= 2001 <= attached.last_line
    assert attached.label == f"sample.py:{attached.first_line}–{attached.last_line}"


def test_a_selection_replaces_the_file_and_brings_its_definition():
    start = SAMPLE.index("pass")
    [attached] = rules.gather(AttachmentRequest(snapshot(selection=(start, start + 4))))
    assert attached.kind == "selection" and attached.code == "pass"
    assert attached.enclosing_name == "average_total" and attached.enclosing_lines == (9, 10)
    assert rules.gather(AttachmentRequest(snapshot(selection=(start, start))))[0].kind == "file"  # empty: the file


def test_nothing_from_the_editor_when_its_chip_is_off_or_it_is_empty():
    assert rules.gather(AttachmentRequest(snapshot(), attach_editor=False)) == []
    assert rules.gather(AttachmentRequest(snapshot("\n\n"))) == []


def test_mentions_are_found_resolved_and_read(tmp_path):
    assert rules.mentions_in("use @utils.py and @app/tax.py, not a@b.c; also @project.") == [
        "utils.py",
        "app/tax.py",
        "project",
    ]
    candidates = {"utils.py": "/p/utils.py", "app/tax.py": "/p/app/tax.py", "web/tax.py": "/p/web/tax.py"}
    assert rules.resolve_mention("app/tax.py", candidates) == "/p/app/tax.py"
    assert rules.resolve_mention("utils.py", candidates) == "/p/utils.py"
    assert rules.resolve_mention("tax.py", candidates) is None  # two files of that name: not a guess
    assert rules.without_mention("see @utils.py and @utils.pyx now", "utils.py") == "see and @utils.pyx now"

    on_disk = tmp_path / "tax.py"
    on_disk.write_text("RATE = 0.2\n")
    mentions = (MentionedFile("tax.py", str(on_disk)), MentionedFile("open.py", "/nowhere/open.py", "X = 1\n"))
    attached = rules.gather(AttachmentRequest(snapshot(), mentions=mentions))
    assert [(a.key, a.label, a.code) for a in attached] == [
        ("editor", "sample.py", SAMPLE),
        ("@tax.py", "tax.py", "RATE = 0.2\n"),
        ("@open.py", "open.py", "X = 1\n"),  # an open tab's text, unsaved edits and all
    ]
    gone = (MentionedFile("gone.py", str(tmp_path / "gone.py")),)
    assert [a.key for a in rules.gather(AttachmentRequest(snapshot(), mentions=gone))] == ["editor"]


def test_the_total_budget_bounds_several_files():
    big = "x = 1  # some padding for the budget\n" * 2000
    mentions = tuple(MentionedFile(f"m{i}.py", f"/p/m{i}.py", big) for i in range(5))
    attached = rules.gather(AttachmentRequest(snapshot(big), mentions=mentions, budgets=Budgets(1000, 2500, 500)))
    assert sum(a.tokens for a in attached) <= 2500
    assert [a.key for a in attached] == ["editor", "@m0.py", "@m1.py"]  # then no room for more than a sliver


def test_budgets_leave_room_in_a_small_context():
    assert rules.budgets_for(0) == Budgets(3000, 12000, 1500)
    small = rules.budgets_for(2048)
    assert small.file == 682 and small.project == 341 and small.total == 1228
    assert rules.budgets_for(32768, 3000, 1500) == Budgets(3000, 19660, 1500)


def test_the_project_map_goes_with_questions_about_the_project(tmp_path: Path):
    (tmp_path / "tax.py").write_text("def compute_tax(amount):\n    return amount * 0.2\n")
    (tmp_path / "cart.py").write_text("def cart_total(items):\n    return sum(items)\n")
    project = build_map(tmp_path)
    assert rules.wants_project("where is compute_tax defined?", True, removed=False)
    assert not rules.wants_project("where is compute_tax defined?", True, removed=True)
    assert rules.wants_project("@project add a docstring", True, removed=True)  # asked for by name
    assert not rules.wants_project("@project add a docstring", False, removed=False)  # no map yet
    assert not rules.wants_project("Write the body of average_total for this file", True, removed=False)
    question = "where is compute_tax defined?"
    request = AttachmentRequest(snapshot(), project=project, project_version=1, map_question=question)
    attached = rules.gather(request)
    assert [a.key for a in attached] == ["editor", "project"]
    assert attached[1].code.startswith("tax.py:\n  def compute_tax(amount)")
    assert rules.question_text("@project how does checkout work?") == "how does checkout work?"


def test_requests_are_values_and_quick_ones_stay_on_the_callers_thread():
    assert AttachmentRequest(snapshot()) == AttachmentRequest(snapshot())
    assert AttachmentRequest(snapshot()) != AttachmentRequest(snapshot(SAMPLE + "\n"))
    assert rules.is_quick(AttachmentRequest(snapshot()))
    big = "y = 2\n" * 10_000
    assert not rules.is_quick(AttachmentRequest(snapshot(big, selection=(0, 5))))  # a parse of a big file
    assert rules.is_quick(AttachmentRequest(snapshot(big)))  # the part around the cursor: no parse
    assert not rules.is_quick(AttachmentRequest(mentions=(MentionedFile("a.py", "/p/a.py"),)))  # a disk read
    assert not rules.is_quick(AttachmentRequest(map_question="where is x?"))


def test_chips_say_what_is_attached_and_offer_what_is_left_out():
    [attached] = rules.gather(AttachmentRequest(snapshot()))
    [chip] = rules.chips_for([attached])
    assert (chip.key, chip.label, chip.tokens, chip.attached) == ("editor", "sample.py", attached.tokens, True)
    assert "The whole file sample.py" in chip.tooltip and "×" in chip.tooltip
    [offer] = rules.chips_for([], suggestion=attached)
    assert not offer.attached and offer.key == "editor" and "Click to send sample.py" in offer.tooltip


def test_the_request_prefix_is_exactly_how_the_next_question_starts():
    history = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]
    history.append({"role": "assistant", "content": "Hello"})
    attached = rules.gather(AttachmentRequest(snapshot()))
    prefix = rules.request_prefix(history, attached)
    question = "Write the body of average_total for this file"
    sent = [*history, {"role": "user", "content": attachments_prompt(question, attached)}]
    assert prefix[:-1] == sent[:-1]
    assert sent[-1]["content"] == prefix[-1]["content"] + question
    assert rules.request_prefix(history, []) == history  # nothing attached: the conversation so far
