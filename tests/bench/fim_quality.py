"""FIM quality: our engine + stop rules against plain llama-cpp-python, on the same cases;
and cross-file completion: pass@1 with and without the ring buffer's chunks of the
other files (tests/fim/cross_file.py).

Usage: python tests/bench/fim_quality.py [MODEL.gguf] [--cross-file-only]

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
from app.completion.ring import RingBuffer, ring_prefix, with_repository  # noqa: E402
from app.engine.backends import model_params_for_this_cpu
from app.llm.client import OpenAIClient  # noqa: E402
from app.llm.supervisor import EngineSupervisor  # noqa: E402
from app.protocol.options import LoadOptions, SamplingParams  # noqa: E402
from tests.bench._util import table, test_model_path  # noqa: E402
from tests.fim.cases import CASES, available, check  # noqa: E402
from tests.fim.cross_file import CROSS_FILE_CASES, check_cross_file  # noqa: E402

MAX_TOKENS = 128


def cross_file(client: OpenAIClient) -> None:
    """pass@1 of the cross-file cases with the ring buffer's chunks in the prompt, and without."""
    rows = [("cross-file case", "without ring", "with ring")]
    passed = {False: 0, True: 0}
    params = SamplingParams(temperature=0.0, max_tokens=MAX_TOKENS)
    for case in CROSS_FILE_CASES:
        results = []
        for with_ring in (False, True):
            prefix = case.prefix
            if with_ring:
                ring = RingBuffer()
                for name, text in case.context.items():
                    ring.add_file(f"/project/{name}", text, case.language)
                ring.commit()
                ring_part = ring_prefix(ring.chunks(), f"/project/{case.path}")
                prefix = with_repository(prefix, ring_part, f"/project/{case.path}", case.language)
            middle, _ = complete_middle(client, prefix, case.suffix, case.language, params)
            ok = check_cross_file(case, middle)
            passed[with_ring] += ok
            results.append("ok" if ok else f"wrong: {middle.strip()[:30]!r}")
        rows.append((case.name, *results))
    n = len(CROSS_FILE_CASES)
    rows.append(("pass@1", f"{passed[False] / n:.2f}", f"{passed[True] / n:.2f}"))
    print(table(rows))
    print(f"\ncross-file pass@1 gain with the ring buffer: {(passed[True] - passed[False]) / n:+.2f}")


def main() -> int:
    argv = [a for a in sys.argv[1:] if not a.startswith("--")]
    model = argv[0] if argv else test_model_path()
    if "--cross-file-only" in sys.argv:
        with EngineSupervisor(LoadOptions(model_path=model, n_ctx=4096)) as supervisor:
            ep = supervisor.start()
            client = OpenAIClient(ep.base_url, ep.api_key)
            print(f"model: {model}\n")
            cross_file(client)
            client.close()
        return 0
    cases = [c for c in CASES if available(c)]
    ours: dict[str, tuple[bool, bool]] = {}
    with EngineSupervisor(LoadOptions(model_path=model, n_ctx=4096)) as supervisor:
        ep = supervisor.start()
        client = OpenAIClient(ep.base_url, ep.api_key)
        cross_file(client)
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
