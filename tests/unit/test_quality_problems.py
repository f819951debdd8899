"""HumanEval's problems, the suites, the holes and the code taken from an answer."""

from __future__ import annotations

from app.config import sampling
from app.models.catalog import load_catalog
from app.models.planning.estimator import estimate_memory
from app.models.planning.shape import model_shape
from app.models.planning.speed_prediction import decode_seconds, device_rates, prompt_seconds
from app.models.quality.extract import program_from_answer
from app.models.quality.holes import multi_line_hole, single_line_hole
from app.models.quality.problems import QUICK_STEP, Problem, load_problems, runnable_program, suite_problems
from app.utils.tokens import approx_tokens

CHAT_PROMPT_OVERHEAD_TOKENS = 60  # the instruction and the chat template around the problem
CHAT_ANSWER_EXTRA_TOKENS = 50  # the fence and a sentence around the function
QUICK_SUITE_LIMIT_S = 600.0


def predicted_problem_seconds(problem: Problem) -> float:
    """The speed model's time for one problem with the 1.3B instruct at Q4_K_M on the CPU, at the
    rates it assumes for a typical desktop (8 cores): the chat question and its answer (the
    whole function again, at most 512 tokens), then each FIM hole at the editor's longest
    suggestion (its prompt is the file), then running the tests (about 0.1 s each)."""
    entry = load_catalog().get("deepseek-coder-1.3b-instruct:Q4_K_M")
    shape, est = model_shape(entry), estimate_memory(entry, n_gpu_layers=0, n_ctx=4096)
    rates = device_rates(None)
    file_tokens = approx_tokens(problem.prompt + problem.canonical_solution)
    question = CHAT_PROMPT_OVERHEAD_TOKENS + approx_tokens(problem.prompt)
    answer = min(512, file_tokens + CHAT_ANSWER_EXTRA_TOKENS)
    seconds = prompt_seconds(shape, est, rates, question) + answer * decode_seconds(
        shape, est, rates, question + answer
    )
    for _hole in range(2):
        fim_tokens = sampling.INLINE_BLOCK_MAX_TOKENS
        seconds += prompt_seconds(shape, est, rates, file_tokens)
        seconds += fim_tokens * decode_seconds(shape, est, rates, file_tokens + fim_tokens)
    return seconds + 3 * 0.1


def test_the_data_file_holds_all_164_problems_with_tests():
    problems = load_problems()
    assert len(problems) == 164
    assert problems[0].task_id == "HumanEval/0" and "def check(candidate)" in problems[0].test
    assert suite_problems("full") == problems


def test_the_quick_suite_is_every_kth_problem_and_the_speed_model_says_under_ten_minutes():
    quick = suite_problems("quick")
    assert [p.number for p in quick] == list(range(0, 164, QUICK_STEP))
    predicted = sum(predicted_problem_seconds(p) for p in quick)
    print(f"quick suite: {len(quick)} problems, predicted {predicted:.0f} s for the 1.3B Q4_K_M on 8 cores")
    assert predicted < QUICK_SUITE_LIMIT_S
    # one step finer would not fit (it predicts 627 s): the suite is as large as the budget allows
    finer = load_problems()[:: QUICK_STEP - 1]
    assert sum(predicted_problem_seconds(p) for p in finer) >= QUICK_SUITE_LIMIT_S


def test_every_canonical_solution_passes_as_a_program():
    problem = load_problems()[2]
    program = runnable_program(problem, problem.prompt + problem.canonical_solution)
    namespace: dict[str, object] = {}
    exec(compile(program, "solution.py", "exec"), namespace)  # the data's own solution, not model output


def test_holes_are_fixed_and_cut_from_the_canonical_solution():
    for problem in load_problems()[:40]:
        hole = single_line_hole(problem)
        assert hole is not None and "\n" not in hole.middle.strip("\n")
        assert hole.prefix + hole.middle + hole.suffix == problem.prompt + problem.canonical_solution
        assert single_line_hole(problem) == hole  # the same hole every time
        multi = multi_line_hole(problem)
        if multi is not None:
            assert multi.middle.count("\n") >= 1
            assert multi.prefix.startswith(problem.prompt)


def test_code_is_taken_from_fenced_or_bare_answers_and_nothing_parseable_is_none():
    problem = load_problems()[2]
    whole = problem.prompt + problem.canonical_solution
    fenced = f"Here you go:\n```python\n{whole}```\nprint(truncate_number(3.5))"
    assert "return number % 1.0" in (program_from_answer(problem, fenced) or "")
    body_only = "```\nreturn number % 1.0\n```"
    assert program_from_answer(problem, body_only) is not None
    example_first = f"```python\nprint(1)\n```\n```python\n{whole}```"
    assert "return number % 1.0" in (program_from_answer(problem, example_first) or "")
    assert program_from_answer(problem, "I cannot help with that (really!") is None
    assert program_from_answer(problem, "") is None
