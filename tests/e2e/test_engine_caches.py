"""The engine's two contexts, prompt-state cache, shifted completion reuse, drafting and
idle prefill, with tiny real models in the real engine process."""

from __future__ import annotations

import shutil
import threading

import pytest

from app.llm.client import OpenAIClient
from app.llm.stream import CancelToken
from app.llm.supervisor import EngineSupervisor
from app.protocol.options import LoadOptions, SamplingParams
from tests.helpers.engine import collect, usage_of
from tests.helpers.waiting import wait_until

CODE = "".join(f"def f_{i}(x):\n    return x * {i}\n\n" for i in range(40))


def conversation(topic: str, n: int = 20) -> list[dict[str, str]]:
    """A first question that carries about a thousand tokens of code about `topic`."""
    code = "".join(f"def {topic}_{i}(a, b):\n    return a + b * {i}\n" for i in range(n))
    return [{"role": "user", "content": f"Explain this code:\n{code}"}]


def follow_up(messages: list[dict[str, str]], answer: str, question: str) -> list[dict[str, str]]:
    return [*messages, {"role": "assistant", "content": answer}, {"role": "user", "content": question}]


def ask(client: OpenAIClient, messages: list[dict[str, str]], max_tokens: int = 8) -> tuple[str, dict]:
    text, _, stats = collect(client.stream_chat(messages, SamplingParams(max_tokens=max_tokens)))
    return text, stats.usage


def fim(client: OpenAIClient, prefix: str, suffix: str, max_tokens: int = 4) -> dict:
    return usage_of(client.stream_completion(prefix, suffix, SamplingParams(max_tokens=max_tokens)))


@pytest.fixture(scope="module")
def engine(tiny_models, tmp_path_factory):
    log_path = tmp_path_factory.mktemp("cache-engine") / "engine.log"
    with EngineSupervisor(LoadOptions(model_path=str(tiny_models["v1"]), n_ctx=4096), log_path=log_path) as sup:
        sup.start()
        yield sup


@pytest.fixture
def client(engine):
    assert engine.endpoint is not None
    client = OpenAIClient(engine.endpoint.base_url, engine.endpoint.api_key)
    yield client
    client.close()


def test_info_reports_threads_contexts_and_caches(client):
    info = client.engine_info()
    assert info["threads"]["decode"] >= 1 and info["threads"]["batch"] >= info["threads"]["decode"]
    assert info["threads"]["source"]
    assert info["contexts"]["chat"]["n_ctx"] == 4096
    assert info["contexts"]["completion"]["n_ctx"] == 2048 and info["contexts"]["completion"]["shift_reuse"]
    assert info["prompt_cache"]["enabled"] and info["prompt_cache"]["budget_bytes"] > 0
    assert info["drafting"]["prompt_lookup"] is True
    memory = info["memory"]  # RSS, and RSS less the prompt cache's states (what a soak watches)
    assert memory["rss_bytes"] >= memory["rss_less_prompt_cache_bytes"] > 0
    assert memory["rss_bytes"] - memory["rss_less_prompt_cache_bytes"] == memory["prompt_cache_bytes"]


def test_chat_survives_a_completion_and_the_reverse(client):
    chat = conversation("chat")
    answer, first = ask(client, chat)
    fim_before = fim(client, CODE, "\n")
    chat = follow_up(chat, answer, "And the second one?")
    _, usage = ask(client, chat)
    # The follow-up reuses the whole earlier turn, though a completion ran in between.
    assert usage["cached_tokens"] >= first["prompt_tokens"]
    fim_again = fim(client, CODE, "\n")
    assert fim_again["cached_tokens"] == fim_before["prompt_tokens"] - 1  # all but the token that gives logits


def test_switching_conversations_restores_the_state(client):
    a, b = conversation("alpha"), conversation("beta")
    answer, first = ask(client, a)
    ask(client, b)
    hits = client.engine_info()["prompt_cache"]["hits"]
    _, usage = ask(client, follow_up(a, answer, "Why?"))
    assert usage["cache_restored"] is True
    assert usage["cached_tokens"] >= first["prompt_tokens"]
    assert client.engine_info()["prompt_cache"]["hits"] == hits + 1


def test_a_one_character_edit_anywhere_evaluates_few_tokens(client):
    prefix, suffix = CODE[:1400], CODE[1400:2200]
    base = fim(client, prefix, suffix)
    assert base["prompt_tokens"] > 1000
    for where in (40, len(prefix) // 2, len(prefix) - 1):
        edited = prefix[:where] + "z" + prefix[where:]
        fim(client, prefix, suffix)  # the window as it was
        usage = fim(client, edited, suffix)
        evaluated = usage["prompt_tokens"] - usage["cached_tokens"]
        assert evaluated <= 64, (where, usage)


def test_the_window_moving_down_while_typing_moves_the_kept_cells(client):
    prefix, suffix = CODE[:1400], CODE[1400:2000]
    fim(client, prefix, suffix)
    moved = prefix[120:] + "q"  # the window's start moved down three lines, and a key was typed
    usage = fim(client, moved, suffix)
    assert usage["prompt_tokens"] - usage["cached_tokens"] <= 64, usage


def test_drafting_leaves_greedy_output_unchanged(tiny_models, tmp_path):
    prompt = [{"role": "user", "content": "Repeat this code exactly:\n" + CODE[:600]}]
    outputs = {}
    for lookup in (True, False):
        options = LoadOptions(model_path=str(tiny_models["v1"]), n_ctx=2048, prompt_lookup=lookup)
        with EngineSupervisor(options, log_path=tmp_path / f"e-{lookup}.log") as sup:
            ep = sup.start()
            client = OpenAIClient(ep.base_url, ep.api_key)
            text, usage = ask(client, prompt, max_tokens=200)
            fim_text, _, _ = collect(client.stream_completion(CODE[:700], CODE[700:900], SamplingParams(max_tokens=60)))
            info = client.engine_info()["drafting"]
            client.close()
        outputs[lookup] = (text, fim_text)
        if lookup:
            assert usage["draft_accepted"] > 0 and info["acceptance_rate"] > 0
        else:
            assert usage["draft_tokens"] == 0
    assert outputs[True] == outputs[False]


def test_a_request_can_ask_for_plain_decoding(client):
    prompt = [{"role": "user", "content": "Repeat this code exactly:\n" + CODE[:600]}]
    _, _, stats = collect(client.stream_chat(prompt, SamplingParams(max_tokens=100, speculative=False)))
    assert stats.usage["draft_tokens"] == 0
    _, usage = ask(client, prompt, max_tokens=100)
    assert usage["draft_tokens"] > 0


def test_the_budget_evicts_the_oldest_entries(tiny_models, tmp_path):
    # The tiny model's state takes about 0.5 KB a token: two 1,000-token conversations fit.
    options = LoadOptions(model_path=str(tiny_models["v1"]), n_ctx=4096, prompt_cache_bytes=1_300_000)
    with EngineSupervisor(options, log_path=tmp_path / "e.log") as sup:
        ep = sup.start()
        client = OpenAIClient(ep.base_url, ep.api_key)
        chats = {name: conversation(name, 24) for name in ("one", "two", "three", "four")}
        for messages in chats.values():
            ask(client, messages)
        stats = client.engine_info()["prompt_cache"]
        assert stats["evictions"] >= 1 and stats["bytes"] <= 1_300_000
        _, oldest = ask(client, follow_up(chats["one"], "x", "Why?"))
        assert oldest["cache_restored"] is False  # evicted first
        _, recent = ask(client, follow_up(chats["three"], "x", "Why?"))
        assert recent["cache_restored"] is True
        client.close()


def test_idle_prefill_prepares_the_file_and_gives_way_to_requests(slow_prompt_model, tmp_path):
    options = LoadOptions(model_path=str(slow_prompt_model), n_ctx=4096)
    with EngineSupervisor(options, log_path=tmp_path / "e.log") as sup:
        ep = sup.start()
        client = OpenAIClient(ep.base_url, ep.api_key)
        opening = f"Here is the file `f.py` (Python):\n\n```python\n{CODE[:1800]}```\n\n"
        scheduled = client.prefill_chat([{"role": "user", "content": opening}])
        assert scheduled > 500
        wait_until(lambda: client.engine_info()["contexts"]["chat"]["tokens"] > 0)
        # A request while the prefill runs stops it, is served, and the prefill resumes.
        ask(client, [{"role": "user", "content": "hi"}], max_tokens=2)
        assert client.engine_info()["prefill"]["preemptions"] >= 1
        wait_until(lambda: client.engine_info()["prefill"]["completed"] >= 1, timeout=120)
        _, usage = ask(client, [{"role": "user", "content": opening + "What does f_3 do?"}], max_tokens=2)
        assert usage["cached_tokens"] >= scheduled - 2
        client.close()


def test_queued_requests_wait_visibly_and_a_client_that_leaves_frees_its_place(engine, client):
    long_run = CancelToken()
    started = threading.Event()

    def hold_the_chat_context() -> None:
        for event in client.stream_chat(conversation("hold"), SamplingParams(max_tokens=100_000), long_run):
            if event.text:
                started.set()

    holder = threading.Thread(target=hold_the_chat_context)
    holder.start()
    assert started.wait(30)
    second_client = OpenAIClient(engine.endpoint.base_url, engine.endpoint.api_key)
    leaving = CancelToken()
    waits: list[int] = []

    def queue_and_leave() -> None:
        for event in second_client.stream_chat(conversation("queued"), SamplingParams(max_tokens=4), leaving):
            if event.waiting is not None:
                waits.append(event.waiting)
                leaving.cancel()

    leaver = threading.Thread(target=queue_and_leave)
    leaver.start()
    leaver.join(30)
    assert not leaver.is_alive() and waits == [1]
    wait_until(lambda: client.engine_info()["queues"]["chat"]["waiting"] == 0)
    # The completion context is not behind the chat: a completion finishes meanwhile.
    assert fim(second_client, "def g(", ")\n")["completion_tokens"] > 0
    assert holder.is_alive()
    long_run.cancel()
    holder.join(30)
    assert not holder.is_alive()
    assert ask(second_client, [{"role": "user", "content": "next"}], max_tokens=3)[1]["completion_tokens"] == 3
    second_client.close()


def test_a_draft_model_of_the_same_vocabulary_drafts_and_changes_nothing(tiny_models, tmp_path):
    prompt = [{"role": "user", "content": "Continue:\n" + CODE[:300]}]
    same_vocabulary = tmp_path / "draft.gguf"
    shutil.copyfile(tiny_models["v1"], same_vocabulary)  # another file, the same vocabulary
    answers = {}
    for draft in ("", str(same_vocabulary), str(tiny_models["no_fim"])):
        options = LoadOptions(
            model_path=str(tiny_models["v1"]), n_ctx=2048, prompt_lookup=False, draft_model_path=draft
        )
        with EngineSupervisor(options, log_path=tmp_path / "e.log") as sup:
            ep = sup.start()
            client = OpenAIClient(ep.base_url, ep.api_key)
            answers[draft], usage = ask(client, prompt, max_tokens=120)
            drafting = client.engine_info()["drafting"]
            client.close()
        if draft == str(same_vocabulary):
            assert drafting["draft_model"] == "draft.gguf" and usage["draft_tokens"] > 0
        elif draft:
            assert drafting["draft_model"] is None and "another vocabulary" in drafting["draft_error"]
    assert len(set(answers.values())) == 1


def test_prompt_states_survive_an_engine_restart(tiny_models, tmp_path):
    """Quitting saves the live chat state; the next engine evaluates only the new question."""
    options = LoadOptions(model_path=str(tiny_models["v1"]), n_ctx=4096, prompt_cache_spill_bytes=256 << 20)
    opening = conversation("restart", 60)  # about 1,500 tokens of code
    with EngineSupervisor(options, log_path=tmp_path / "first.log") as sup:
        ep = sup.start()
        client = OpenAIClient(ep.base_url, ep.api_key)
        answer, first = ask(client, opening)
        client.close()
    assert first["prompt_tokens"] > 1200 and first["cached_tokens"] == 0
    with EngineSupervisor(options, log_path=tmp_path / "second.log") as sup:
        ep = sup.start()
        client = OpenAIClient(ep.base_url, ep.api_key)
        assert client.engine_info()["prompt_cache"]["disk_entries"] >= 1
        _, usage = ask(client, follow_up(opening, answer, "What does restart_7 return?"))
        client.close()
    assert usage["cache_restored"] is True
    assert usage["cached_tokens"] >= first["prompt_tokens"]  # only the new turn was evaluated
