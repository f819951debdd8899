"""End-to-end checks with the real small code model (opt-in: skipped when it is absent)."""

from __future__ import annotations

import pytest

from app.completion.fim import SPECIAL_TOKEN_RE, complete_middle
from app.engine.backends import model_params_for_this_cpu
from app.llm.client import OpenAIClient
from app.llm.supervisor import EngineSupervisor
from app.protocol.options import LoadOptions, SamplingParams
from tests.fim.cases import CASES, available, check

pytestmark = pytest.mark.realmodel


@pytest.fixture(scope="module")
def real_client(real_model_path, tmp_path_factory):
    log_path = tmp_path_factory.mktemp("real-engine") / "engine.log"
    with EngineSupervisor(LoadOptions(model_path=real_model_path, n_ctx=4096), log_path=log_path) as supervisor:
        ep = supervisor.start()
        client = OpenAIClient(ep.base_url, ep.api_key)
        yield client
        client.close()


@pytest.mark.timeout(900)
def test_fim_cases_are_mostly_correct_and_never_leak_special_tokens(real_client):
    cases = [c for c in CASES if available(c)]
    assert len(cases) >= 20
    results = []
    for case in cases:
        middle, stats = complete_middle(
            real_client, case.prefix, case.suffix, case.language, SamplingParams(temperature=0.0, max_tokens=128)
        )
        assert not SPECIAL_TOKEN_RE.search(middle), (case.name, middle)
        results.append((case.name, check(case, middle), middle))
    passed = sum(ok for _, ok, _ in results)
    report = "\n".join(f"{'ok  ' if ok else 'FAIL'} {name}: {middle!r}" for name, ok, middle in results)
    print(f"\n{passed}/{len(results)} FIM cases correct\n{report}")
    # Greedy answers differ by CPU: the same code (and the commit before this bound) gets 18
    # of 22 on a Xeon with AMX and 17 of 22 on an AMD EPYC with AVX-512 (py-max-key-midline
    # flips). The bound is the lower of the two, so it fails on a real regression in the FIM
    # path (prompt, stop rules), not on a CPU's rounding.
    assert passed / len(results) >= 0.75, report


@pytest.mark.timeout(600)
def test_chat_matches_plain_llama_cpp_python_greedy(real_client, real_model_path):
    import llama_cpp

    question = [{"role": "user", "content": "Write a Python function that returns the square of a number."}]
    # Plain decoding: drafting checks guesses in batches, whose rounding in llama.cpp differs
    # from one token at a time, so a near-tie can go the other way (see README).
    plain_decoding = SamplingParams(temperature=0.0, max_tokens=48, speculative=False)
    ours = "".join(e.text for e in real_client.stream_chat(question, plain_decoding))
    with model_params_for_this_cpu():  # the same buffers as the engine (see app/engine/backends.py)
        llama = llama_cpp.Llama(model_path=real_model_path, n_ctx=4096, verbose=False)
    plain = llama.create_chat_completion(question, temperature=0.0, max_tokens=48)["choices"][0]["message"]["content"]
    del llama
    assert ours == plain
    assert "def " in ours
