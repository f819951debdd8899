"""The engine review's races and stalls, each tested on the real runtime in this process
(the tiny f32 model): a full queue, shutdown, idle prefill's save, cached states' contexts,
the info routes, and the logits after a KV shift."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import numpy as np
import pytest

from app.engine.abort import AbortFlag
from app.engine.draft_policy import DraftCost, DraftPolicy
from app.engine.generation import Usage
from app.engine.runtime import CHAT, COMPLETION, EngineModel
from app.engine.scheduler import EngineBusy
from app.engine.server import create_app
from app.engine.slots import StateMismatch
from app.engine.streaming import events_for
from app.protocol.options import LoadOptions, SamplingParams
from tests.helpers.waiting import wait_until

CODE = "".join(f"def f_{i}(x):\n    return x * {i}\n\n" for i in range(40))
GREEDY = SamplingParams(max_tokens=4, temperature=0.0)


def chat_tokens(model: EngineModel, text: str) -> list[int]:
    return model.tokenize_prompt(model.prepare_chat([{"role": "user", "content": text}], 8).prompt)


def run(model: EngineModel, slot: str, tokens: list[int], params: SamplingParams = GREEDY) -> list:
    return list(model.stream(slot, tokens, params, AbortFlag()))


@pytest.fixture(scope="module")
def model(tiny_models):
    engine = EngineModel(LoadOptions(model_path=str(tiny_models["v1"]), n_ctx=1024, completion_ctx=1024))
    yield engine
    engine.close()


def test_a_full_queue_refuses_before_any_stream_starts(model):
    tokens = chat_tokens(model, "hello")
    queue = model.scheduler.queues[CHAT]
    queue.limit = 1
    try:
        with model.scheduler.admitted(CHAT, AbortFlag()):  # someone holds the chat context
            waiting = events_for(model, CHAT, tokens, GREEDY)  # takes the last place at once
            with pytest.raises(EngineBusy):
                events_for(model, CHAT, tokens, GREEDY)  # so this one is a 503, not an error in a stream
            assert queue.status()["waiting"] == 1
        events = list(waiting(AbortFlag(), lambda _ahead: None))
        assert events[-1].finish_reason in {"stop", "length"}
        assert queue.status()["waiting"] == 0
        unused = events_for(model, CHAT, tokens, GREEDY)
        assert queue.status()["waiting"] == 1
        del unused  # a stream that never started gives its place back
        assert queue.status()["waiting"] == 0
    finally:
        queue.limit = 8


def test_a_cached_state_never_loads_into_another_context(model):
    tokens = chat_tokens(model, CODE[:400])
    run(model, CHAT, tokens)
    chat, completion = model.slots[CHAT], model.slots[COMPLETION]
    assert chat.context_tag != completion.context_tag  # same size, another context
    blob = chat.save_state()
    with pytest.raises(StateMismatch):
        completion.load_state(blob, chat.tokens, chat.context_tag)
    assert completion.load_state(blob, chat.tokens, completion.context_tag) in {True, False}  # its own tag is accepted
    completion.clear()
    model.state_cache.store(list(chat.tokens), blob, chat.context_tag)
    assert model.state_cache.best_match(tokens, 1024, completion.context_tag) is None
    assert model.state_cache.best_match(tokens, 1024, chat.context_tag) is not None


def test_info_routes_leave_the_event_loop(model, monkeypatch):
    slow_info = model.info

    def blocking_info() -> dict:
        time.sleep(0.6)
        return slow_info()

    monkeypatch.setattr(model, "info", blocking_info)
    app = create_app(model, None)

    async def scenario() -> int:
        ticks = 0
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://engine") as client:
            request = asyncio.ensure_future(asyncio.gather(client.get("/dscoder/info"), client.get("/v1/models")))
            while not request.done():
                await asyncio.sleep(0.02)
                ticks += 1
            info, models = request.result()
            assert info.status_code == models.status_code == 200
        return ticks

    ticks = asyncio.run(scenario())
    assert ticks >= 10  # the loop ran on while both requests waited for the info


def test_idle_prefill_abandons_its_state_save_for_a_request(model, monkeypatch):
    chat = model.slots[CHAT]
    conversation = chat_tokens(model, CODE[:600])
    run(model, CHAT, conversation)
    stored_before = model.state_cache.stored
    saving, go = threading.Event(), threading.Event()
    real_save = chat.save_state

    def save_that_waits() -> bytes:
        if threading.current_thread().name == "idle-work":
            saving.set()
            go.wait(10)
        return real_save()

    monkeypatch.setattr(chat, "save_state", save_that_waits)
    model.prefill([{"role": "user", "content": "Another file:\n" + CODE[600:1200]}])
    assert saving.wait(10)  # idle prefill is saving the chat context's state
    follow_up = [*chat.tokens, *model.tokenize_prompt("And then?")[1:]]
    answered = threading.Thread(target=run, args=(model, CHAT, follow_up))
    answered.start()
    wait_until(lambda: model.scheduler.queues[CHAT].status()["waiting"] == 1)
    go.set()
    answered.join(30)
    assert not answered.is_alive()
    model.scheduler.set_idle_work(CHAT, None)
    assert model.state_cache.stored == stored_before  # the save was abandoned, not stored
    assert model.prefill_status["abandoned_saves"] >= 1
    assert model.info()["prefill"]["gave_way_ms"] is not None


# Measured on the f32 tiny model: at most 1.9% of the largest logit (edits at 300 and 900).
SHIFT_TOLERANCE = 0.03


@pytest.mark.parametrize("edit_at", [30, 300, 900])
def test_logits_after_a_shift_match_a_fresh_evaluation(model, edit_at):
    completion = model.slots[COMPLETION]
    assert completion.can_shift
    completion.clear()
    prefix, suffix = CODE[:1000], CODE[1000:1300]
    before = model.fim_tokens(prefix, suffix, 8)
    after = model.fim_tokens(prefix[:edit_at] + "z = 1\n" + prefix[edit_at:], suffix, 8)
    shifted_logits, shifted_answer = _logits_and_answer(model, completion, before, after)
    completion.clear()
    fresh_logits, fresh_answer = _logits_and_answer(model, completion, None, after)
    assert shifted_answer == fresh_answer  # greedy tokens match
    # Moved cells attended to the text before the edit (REEVALUATE_AFTER_EDIT tokens after
    # it are evaluated again for that), so they match a fresh evaluation closely, not exactly.
    scale = float(np.abs(fresh_logits).max())
    assert float(np.abs(shifted_logits - fresh_logits).max()) <= SHIFT_TOLERANCE * scale
    assert int(np.argmax(shifted_logits)) == int(np.argmax(fresh_logits))


def _logits_and_answer(model, slot, first, prompt) -> tuple[np.ndarray, str]:
    """The logits the first answer token is sampled from, and the greedy answer."""
    if first is not None:
        run(model, COMPLETION, first)
    usage = Usage()
    model._evaluate_prompt(slot, prompt, AbortFlag(), usage)
    if first is not None:
        assert usage.cached_tokens > len(prompt) // 2, usage  # it did shift
    logits = slot.logits().copy()
    events = run(model, COMPLETION, prompt, SamplingParams(max_tokens=12, temperature=0.0))
    return logits, "".join(event.delta for event in events)


def test_shutdown_stops_and_joins_every_generation(tiny_models):
    engine = EngineModel(LoadOptions(model_path=str(tiny_models["v1"]), n_ctx=4096))
    tokens = chat_tokens(engine, "Tell me everything.")
    started, ends = threading.Event(), []

    def generate() -> None:
        for event in engine.stream(CHAT, tokens, SamplingParams(max_tokens=100_000), AbortFlag()):
            started.set()
            if event.finish_reason:
                ends.append(event.finish_reason)

    threads = [threading.Thread(target=generate) for _ in range(3)]  # one decodes, two wait in the queue
    for thread in threads:
        thread.start()
    assert started.wait(30)
    engine.close()
    assert not any(thread.is_alive() for thread in threads)
    assert sorted(ends) == ["cancelled"] * 3
    assert not engine.decoder.alive  # the decode thread is joined before the contexts are freed


def test_drafting_turns_itself_off_when_it_does_not_pay(model, monkeypatch):
    """A free-form answer: prompt lookup finds short matches whose drafts are mostly wrong.
    With drafts that cost what a 151K vocabulary's logits cost, they are checked in shadow,
    not in batches."""
    tokens = chat_tokens(model, "Write a story about " + " ".join(f"w{i}" for i in range(60)))
    params = SamplingParams(max_tokens=300, temperature=1.0, seed=7)
    assert model.info()["drafting"]["cost_ratio"]["8"] > 0  # measured at load, reported
    monkeypatch.setitem(model.draft_policies, CHAT, DraftPolicy(DraftCost.free()))
    free = run(model, CHAT, tokens, params)[-1].usage
    costly_drafts = DraftCost({n: 0.01 * (1 + (n - 1) / 3) for n in (1, 2, 3, 5, 9, 17)})
    monkeypatch.setitem(model.draft_policies, CHAT, DraftPolicy(costly_drafts))
    costly = run(model, CHAT, tokens, params)[-1].usage
    assert free.draft_tokens > 0
    assert costly.draft_tokens < free.draft_tokens / 2
    assert model.info()["drafting"]["kept_rate"][CHAT]  # the guesses were judged all the same
