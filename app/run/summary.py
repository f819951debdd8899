"""How many tests passed and failed, read from a test run's output (escapes stripped):
pytest, unittest, node's test runner (TAP), Jest, Mocha, cargo test and go test.

The edit loop shows the change between rounds: "tests: 3 failed → 1 failed".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.run.ansi import strip_ansi


@dataclass(frozen=True)
class TestCounts:
    __test__ = False  # not a pytest test class, despite the name

    passed: int | None  # None where the tool does not say (go test without -v)
    failed: int  # failures and errors together
    skipped: int = 0
    tool: str = ""

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def describe(self) -> str:
        if self.failed:
            return f"{self.failed} failed"
        return f"{self.passed} passed" if self.passed is not None else "passed"


_PYTEST_LINE = re.compile(
    r"^=+ (?P<body>(?:\d+ (?:passed|failed|errors?|skipped|xfailed|xpassed|deselected|warnings?)(?:, )?)+)"
    r"(?: in [\d.]+s)?.*=+$",
    re.MULTILINE,
)
_PYTEST_COUNT = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed)")
_UNITTEST_RAN = re.compile(
    r"^Ran (\d+) tests? in [\d.]+s\s*\n\s*\n?(OK|FAILED)(?: \((?P<detail>[^)]*)\))?", re.MULTILINE
)
_TAP = re.compile(r"^# (pass|fail|skipped|todo) (\d+)$", re.MULTILINE)
_JEST = re.compile(r"^Tests:\s+(?P<body>.*\d+ total)$", re.MULTILINE)
_MOCHA = re.compile(r"^\s+(\d+) (passing|failing|pending)\b", re.MULTILINE)
_CARGO = re.compile(r"^test result: \w+\. (\d+) passed; (\d+) failed; (\d+) ignored;", re.MULTILINE)
_GO_TEST = re.compile(r"^\s*--- (PASS|FAIL|SKIP): ", re.MULTILINE)
_GO_PACKAGE = re.compile(r"^(ok|FAIL|---)\s+\S+\s+(?:[\d.]+s|\[)", re.MULTILINE)


def _pytest(text: str) -> TestCounts | None:
    lines = _PYTEST_LINE.findall(text)
    if not lines:
        return None
    counts = {
        kind.rstrip("s") if kind.startswith("error") else kind: int(n) for n, kind in _PYTEST_COUNT.findall(lines[-1])
    }
    return TestCounts(
        passed=counts.get("passed", 0) + counts.get("xpassed", 0),
        failed=counts.get("failed", 0) + counts.get("error", 0),
        skipped=counts.get("skipped", 0) + counts.get("xfailed", 0),
        tool="pytest",
    )


def _unittest(text: str) -> TestCounts | None:
    runs = list(_UNITTEST_RAN.finditer(text))
    if not runs:
        return None
    last = runs[-1]
    detail = dict((key.strip(), int(value)) for key, value in re.findall(r"(\w+)=(\d+)", last.group("detail") or ""))
    failed = detail.get("failures", 0) + detail.get("errors", 0) + detail.get("unexpected successes", 0)
    skipped = detail.get("skipped", 0) + detail.get("expected failures", 0)
    total = int(last.group(1))
    return TestCounts(passed=total - failed - skipped, failed=failed, skipped=skipped, tool="unittest")


def _tap(text: str) -> TestCounts | None:
    counts = {kind: int(n) for kind, n in _TAP.findall(text)}
    if "pass" not in counts and "fail" not in counts:
        return None
    return TestCounts(counts.get("pass", 0), counts.get("fail", 0), counts.get("skipped", 0), "node")


def _jest(text: str) -> TestCounts | None:
    found = _JEST.findall(text)
    if not found:
        return None
    counts = {kind: int(n) for n, kind in re.findall(r"(\d+) (passed|failed|skipped|todo)", found[-1])}
    return TestCounts(counts.get("passed", 0), counts.get("failed", 0), counts.get("skipped", 0), "jest")


def _mocha(text: str) -> TestCounts | None:
    counts = {kind: int(n) for n, kind in _MOCHA.findall(text)}
    if "passing" not in counts:
        return None
    return TestCounts(counts["passing"], counts.get("failing", 0), counts.get("pending", 0), "mocha")


def _cargo(text: str) -> TestCounts | None:
    results = _CARGO.findall(text)
    if not results:
        return None
    passed, failed, ignored = (sum(int(row[i]) for row in results) for i in range(3))
    return TestCounts(passed, failed, ignored, "cargo")


def _go(text: str) -> TestCounts | None:
    verdicts = _GO_TEST.findall(text)
    if verdicts:
        return TestCounts(verdicts.count("PASS"), verdicts.count("FAIL"), verdicts.count("SKIP"), "go")
    packages = _GO_PACKAGE.findall(text)
    if not packages:
        return None
    return TestCounts(None, packages.count("FAIL"), 0, "go")


_PARSERS = (_pytest, _cargo, _unittest, _jest, _mocha, _tap, _go)


def parse_test_counts(output: str) -> TestCounts | None:
    """The test counts the output reports, or None when it reports none."""
    text = strip_ansi(output).replace("\r\n", "\n")
    for parse in _PARSERS:
        counts = parse(text)
        if counts is not None:
            return counts
    return None


def describe_change(before: TestCounts | None, after: TestCounts | None) -> str:
    """ "tests: 3 failed → 1 failed" for the edit loop's status."""
    if after is None:
        return "tests: no counts"
    if before is None:
        return f"tests: {after.describe()}"
    return f"tests: {before.describe()} → {after.describe()}"
