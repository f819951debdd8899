"""Cross-file fill-in-the-middle cases: the right middle needs a name defined in another
file (a helper's signature, a constant, a class field), which the prompt has only
when that file is in the completion ring buffer.

Judged as tests/fim/cases.py judges: the other files are written next to the
completed program, which runs, and passes when its asserts pass. Used by
tests/bench/fim_quality.py (pass@1 with and without the ring buffer).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class CrossFileCase:
    name: str
    prefix: str
    suffix: str
    context: dict[str, str] = field(default_factory=dict)  # other file name -> text
    language: str = "python"
    path: str = "main.py"


CROSS_FILE_CASES: list[CrossFileCase] = [
    CrossFileCase(
        "helper-argument-order",
        "from geometry import scale_point\n\n\ndef double(p):\n    return scale_point(",
        ")\n\n\nassert double((1, 2)) == (2, 4)\n",
        {"geometry.py": "def scale_point(factor, point):\n    return (point[0] * factor, point[1] * factor)\n"},
    ),
    CrossFileCase(
        "module-constant",
        "import settings\n\n\ndef retries():\n    return settings.",
        "\n\n\nassert retries() == 7\n",
        {"settings.py": "RETRY_LIMIT_FOR_UPLOADS = 7\nUPLOAD_CHUNK_BYTES = 65536\n"},
    ),
    CrossFileCase(
        "class-fields",
        "from models import Customer\n\n\ndef full_name(c):\n    return c.",
        "\n\n\nassert full_name(Customer('Ada', 'Lovelace')) == 'Ada Lovelace'\n",
        {
            "models.py": "class Customer:\n    def __init__(self, given, family):\n        self.given_name = given\n"
            "        self.family_name = family\n"
        },
    ),
    CrossFileCase(
        "helper-name",
        "import textutil\n\n\ndef clean(s):\n    return textutil.",
        "(s).strip()\n\n\nassert clean('  a   b ') == 'a b'\n",
        {"textutil.py": "def collapse_whitespace(s):\n    return ' '.join(s.split())\n"},
    ),
    CrossFileCase(
        "dict-key-constant",
        "import keys\n\n\ndef user_id(record):\n    return record[keys.",
        "]\n\n\nassert user_id({'uid': 3}) == 3\n",
        {"keys.py": 'USER_ID_FIELD = "uid"\nUSER_NAME_FIELD = "uname"\n'},
    ),
    CrossFileCase(
        "enum-member",
        "from status import Status\n\n\ndef is_lapsed(s):\n    return s is Status.",
        "\n\n\nassert is_lapsed(Status(2)) and not is_lapsed(Status(1))\n",
        {"status.py": "from enum import Enum\n\n\nclass Status(Enum):\n    ACTIVE_MEMBER = 1\n    LAPSED_MEMBER = 2\n"},
    ),
    CrossFileCase(
        "method-name",
        "from store import Inventory\n\n\ndef out_of_stock(inv, sku):\n    return inv.",
        "(sku) == 0\n\n\nassert out_of_stock(Inventory(), 'x')\n",
        {
            "store.py": "class Inventory:\n    def __init__(self):\n        self._items = {}\n\n"
            "    def stock_level(self, sku):\n        return self._items.get(sku, 0)\n"
        },
    ),
    CrossFileCase(
        "keyword-argument",
        "from report import render\n\n\ndef tsv(rows):\n    return render(rows, ",
        ")\n\n\nassert tsv([[1, 2]]) == '1\\t2'\n",
        {
            "report.py": 'def render(rows, *, column_separator=","):\n'
            "    return '\\n'.join(column_separator.join(map(str, r)) for r in rows)\n"
        },
    ),
    CrossFileCase(
        "unit-constant",
        "import units\n\n\ndef to_cm(inches):\n    return inches * units.",
        "\n\n\nassert abs(to_cm(2) - 5.08) < 1e-9\n",
        {"units.py": "INCH_IN_CENTIMETRES = 2.54\nFOOT_IN_CENTIMETRES = 30.48\n"},
    ),
    CrossFileCase(
        "dataclass-field",
        "from shapes import Box\n\n\ndef volume(b):\n    return b.width * b.height * b.",
        "\n\n\nassert volume(Box(1, 2, 3)) == 6\n",
        {
            "shapes.py": "from dataclasses import dataclass\n\n\n@dataclass\nclass Box:\n    width: float\n"
            "    height: float\n    depth_cm: float\n"
        },
    ),
    CrossFileCase(
        "function-name",
        "import mathx\n\n\ndef is_square(n):\n    r = mathx.",
        "(n)\n    return r * r == n\n\n\nassert is_square(49) and not is_square(50)\n",
        {"mathx.py": "def integer_square_root(n):\n    return int(n ** 0.5)\n"},
    ),
]


def check_cross_file(case: CrossFileCase, middle: str) -> bool:
    """Run prefix + middle + suffix next to the case's other files; True when its asserts pass."""
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in case.context.items():
            Path(tmp, name).write_text(text)
        Path(tmp, case.path).write_text(case.prefix + middle + case.suffix)
        try:
            done = subprocess.run([sys.executable, case.path], cwd=tmp, capture_output=True, timeout=30)
        except subprocess.TimeoutExpired:
            return False
        return done.returncode == 0
