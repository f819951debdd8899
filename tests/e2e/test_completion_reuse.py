"""Reuse for inline completion with the real small code model (opt-in).

Successive completions at a moving cursor must reuse what the engine evaluated for
the previous one: the prompt windows start at the same place, and the unchanged tokens
after an edit are moved, not evaluated again, so a one-character edit anywhere costs a
few dozen tokens (`usage.cached_tokens`). The ghost text streams a line at a time.
"""

from __future__ import annotations

import pytest

from app.completion.fim_window import build_completion_prompt
from app.llm.client import OpenAIClient
from app.llm.supervisor import EngineSupervisor
from app.protocol.options import LoadOptions, SamplingParams

pytestmark = pytest.mark.realmodel

SOURCE = "".join(
    f'def scale_{n}(values, factor={n}):\n    """Multiply each value by {n}."""\n'
    f"    return [v * factor for v in values]\n\n\n"
    for n in range(60)
)


@pytest.fixture(scope="module")
def real_client(real_model_path, tmp_path_factory):
    log_path = tmp_path_factory.mktemp("reuse-engine") / "engine.log"
    with EngineSupervisor(LoadOptions(model_path=real_model_path, n_ctx=4096), log_path=log_path) as supervisor:
        ep = supervisor.start()
        client = OpenAIClient(ep.base_url, ep.api_key)
        yield client
        client.close()


def usage_of(client: OpenAIClient, text: str, cursor: int) -> dict:
    prompt = build_completion_prompt(text, cursor, path="scale.py", language="python")
    stats = None
    for event in client.stream_completion(prompt.prefix, prompt.suffix, SamplingParams(temperature=0.0, max_tokens=4)):
        if event.stats:
            stats = event.stats
    assert stats is not None and stats.finish_reason in ("length", "stop")
    return stats.usage


@pytest.mark.timeout(600)
def test_a_one_character_edit_at_the_end_evaluates_only_the_new_tokens(real_client):
    text = SOURCE + "def mean(values):\n    total = sum(values)\n    return total / len(val"
    usage_of(real_client, text, len(text))
    usage = usage_of(real_client, text + "u", len(text) + 1)
    evaluated = usage["prompt_tokens"] - usage["cached_tokens"]
    assert usage["prompt_tokens"] > 1000
    assert evaluated <= 32, usage


@pytest.mark.timeout(600)
@pytest.mark.parametrize("where", ["def scale_3", "def scale_40", "def scale_58"])
def test_a_one_character_edit_mid_file_evaluates_at_most_64_tokens(real_client, where):
    cursor = SOURCE.index(where) + len(where)
    usage_of(real_client, SOURCE, cursor)
    edited = SOURCE[:cursor] + "x" + SOURCE[cursor:]
    usage = usage_of(real_client, edited, cursor + 1)
    # The prefix before the edit is kept, and the suffix after it (PSM order) is moved.
    assert usage["prompt_tokens"] > 1000
    assert usage["prompt_tokens"] - usage["cached_tokens"] <= 64, usage


@pytest.mark.timeout(600)
def test_the_first_line_shows_before_the_suggestion_ends(real_client):
    from app.completion.fim import complete_middle

    text = SOURCE + "def describe(values):\n    "
    prompt = build_completion_prompt(text, len(text), path="scale.py", language="python")
    seen: list[str] = []
    middle, stats = complete_middle(
        real_client,
        prompt.prefix,
        prompt.suffix,
        "python",
        SamplingParams(temperature=0.0, max_tokens=96),
        None,
        seen.append,
    )
    assert len(seen) >= 2 and seen[-1] == middle, seen
    assert all(later.startswith(earlier) for earlier, later in zip(seen, seen[1:], strict=False))
