"""FIM quality: our engine + stop rules against plain llama-cpp-python, on the same cases.

Usage: python tests/bench/fim_quality.py [MODEL.gguf]

Each case is judged by running prefix + middle + suffix (tests/fim/cases.py). The
baseline is what a plain llama-cpp-python user gets: create_completion(prompt=prefix,
suffix=suffix), greedy, same max_tokens.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import llama_cpp  # noqa: E402

from app.completion.fim import (
    SPECIAL_TOKEN_RE,  # noqa: E402
    complete_middle,  # noqa: E402
)
from app.engine.backends import model_params_for_this_cpu
from app.llm.client import OpenAIClient  # noqa: E402
from app.llm.options import LoadOptions, SamplingParams  # noqa: E402
from app.llm.supervisor import EngineSupervisor  # noqa: E402
from tests.bench._util import table, test_model_path  # noqa: E402
from tests.fim.cases import CASES, available, check  # noqa: E402

MAX_TOKENS = 128


def main() -> int:
    model = sys.argv[1] if len(sys.argv) > 1 else test_model_path()
    cases = [c for c in CASES if available(c)]
    ours: dict[str, tuple[bool, bool]] = {}
    with EngineSupervisor(LoadOptions(model_path=model, n_ctx=4096)) as supervisor:
        ep = supervisor.start()
        client = OpenAIClient(ep.base_url, ep.api_key)
        for case in cases:
            middle, _ = complete_middle(
                client, case.prefix, case.suffix, case.language, SamplingParams(temperature=0.0, max_tokens=MAX_TOKENS)
            )
            ours[case.name] = (check(case, middle), bool(SPECIAL_TOKEN_RE.search(middle)))
        client.close()
    with model_params_for_this_cpu():  # the same buffers as the engine (see app/engine/backends.py)
        llama = llama_cpp.Llama(model_path=model, n_ctx=4096, verbose=False)
    plain: dict[str, tuple[bool, bool]] = {}
    for case in cases:
        text = llama.create_completion(prompt=case.prefix, suffix=case.suffix, max_tokens=MAX_TOKENS, temperature=0.0)[
            "choices"
        ][0]["text"]
        plain[case.name] = (check(case, text), bool(SPECIAL_TOKEN_RE.search(text)))
    rows = [("case", "dscoder", "plain llama-cpp-python")]
    for case in cases:
        rows.append((case.name, "ok" if ours[case.name][0] else "wrong", "ok" if plain[case.name][0] else "wrong"))
    n = len(cases)
    rows.append(("correct", f"{sum(v[0] for v in ours.values())}/{n}", f"{sum(v[0] for v in plain.values())}/{n}"))
    rows.append(
        ("special tokens leaked", str(sum(v[1] for v in ours.values())), str(sum(v[1] for v in plain.values())))
    )
    print(f"model: {model}\n")
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
