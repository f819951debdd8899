"""Which unchanged runs of a completion prompt the engine moves instead of evaluating again."""

from __future__ import annotations

from app.engine.slots import MAX_MOVED_RUNS, MIN_SHIFTED_RUN, REEVALUATE_AFTER_EDIT, moved_runs

LONG = MIN_SHIFTED_RUN + REEVALUATE_AFTER_EDIT + 10


def seq(start: int, n: int) -> list[int]:
    return list(range(start, start + n))


def test_a_typed_token_leaves_one_run_after_it():
    old = [1, *seq(100, 50), *seq(1000, LONG), 2]
    new = [1, *seq(100, 50), 7, *seq(1000, LONG), 2]
    assert moved_runs(old, new, prefix=51) == [(51, 52, LONG)]


def test_the_window_start_moving_and_an_edit_give_two_runs():
    body, tail = seq(100, LONG), seq(1000, LONG)
    old = [1, *seq(5000, 40), *body, *tail, 2]
    new = [1, *body, 9, 9, *tail, 2]
    assert moved_runs(old, new, prefix=1) == [(41, 1, LONG), (41 + LONG, 3 + LONG, LONG)]


def test_short_runs_and_the_last_token_are_not_moved():
    old = [1, *seq(100, 20), 3]
    new = [1, 7, *seq(100, 20), 3]
    assert moved_runs(old, new, prefix=1) == []
    old = [1, *seq(100, LONG), 2]
    new = [1, 7, *seq(100, LONG), 2]
    ((found, at, length),) = moved_runs(old, new, prefix=1)
    assert at + length == len(new) - 1  # stops before the token whose logits are needed


def test_runs_stay_in_order_and_are_capped():
    parts = [seq(1000 * k, LONG) for k in range(MAX_MOVED_RUNS + 2)]
    old = [1] + [t for p in parts for t in p] + [2]
    new = [1] + [t for p in parts for t in [5, *p]] + [2]
    runs = moved_runs(old, new, prefix=1)
    assert len(runs) == MAX_MOVED_RUNS
    assert all(a[0] + a[2] <= b[0] for a, b in zip(runs, runs[1:], strict=False))
    swapped = [1, *parts[1], *parts[0], 2]  # a run that moved backwards is evaluated, not reordered
    assert [r[0] for r in moved_runs(old, swapped, prefix=1)] == [1 + LONG]
