"""The cross-file FIM cases can be passed, and only with the other file's name."""

from __future__ import annotations

import pytest

from tests.fim.cross_file import CROSS_FILE_CASES, check_cross_file

pytestmark = pytest.mark.slow  # every case runs its code in a Python child

RIGHT = {
    "helper-argument-order": "2, p",
    "module-constant": "RETRY_LIMIT_FOR_UPLOADS",
    "class-fields": "given_name + ' ' + c.family_name",
    "helper-name": "collapse_whitespace",
    "dict-key-constant": "USER_ID_FIELD",
    "enum-member": "LAPSED_MEMBER",
    "method-name": "stock_level",
    "keyword-argument": 'column_separator="\\t"',
    "unit-constant": "INCH_IN_CENTIMETRES",
    "dataclass-field": "depth_cm",
    "function-name": "integer_square_root",
}
GUESSED = {
    "helper-argument-order": "p, 2",
    "module-constant": "RETRIES",
    "class-fields": "first_name + ' ' + c.last_name",
    "helper-name": "normalize_whitespace",
    "dict-key-constant": "USER_ID",
    "enum-member": "LAPSED",
    "method-name": "get_stock",
    "keyword-argument": 'sep="\\t"',
    "unit-constant": "CM_PER_INCH",
    "dataclass-field": "depth",
    "function-name": "isqrt",
}


@pytest.mark.parametrize("case", CROSS_FILE_CASES, ids=lambda c: c.name)
def test_each_case_needs_the_other_files_name(case):
    assert len(CROSS_FILE_CASES) >= 10
    assert check_cross_file(case, RIGHT[case.name])
    assert not check_cross_file(case, GUESSED[case.name])
