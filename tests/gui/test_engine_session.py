"""The engine session: one owner for loading, the engine's state and info, restarts the
settings call for, and the access completion gets. Driven with the scripted worker; the
real engine path is covered by test_main_window.py and test_window_features.py."""

from __future__ import annotations

import dataclasses

import pytest

from app.config.remotes import RemoteEngine
from app.config.settings import Settings, load_settings
from app.config.ui.store import SettingsStore
from app.llm.info import EngineAccess, EngineState
from app.llm.targets import RemoteTarget
from app.llm.ui.session import REMOTE_GONE_MESSAGE, EngineSession
from app.protocol.options import AUTO_GPU_LAYERS, LoadOptions, SamplingParams
from tests.helpers.fake_engine import TINY_INFO, ScriptedAnswer, ScriptedEngineWorker, ScriptedLoad

WAIT_MS = 5_000


def never_plan(options: LoadOptions) -> LoadOptions:
    raise AssertionError("the scripted worker never starts a real engine")


@pytest.fixture
def make_session(qtbot):
    def make(settings: Settings | None = None) -> tuple[EngineSession, ScriptedEngineWorker, SettingsStore]:
        store = SettingsStore(settings or Settings())
        worker = ScriptedEngineWorker()
        return EngineSession(store, never_plan, worker), worker, store

    return make


def wait_state(qtbot, session: EngineSession, state: EngineState) -> None:
    qtbot.waitUntil(lambda: session.state is state, timeout=WAIT_MS)


def test_loading_a_model_goes_through_loading_to_ready_and_is_remembered(qtbot, make_session) -> None:
    session, worker, store = make_session(Settings(active_engine="gone", n_gpu_layers=AUTO_GPU_LAYERS))
    states: list[EngineState] = []
    session.stateChanged.connect(states.append)
    with qtbot.waitSignal(session.loaded, timeout=WAIT_MS) as loaded:
        session.load_model("/models/scripted.gguf")
    assert states == [EngineState.LOADING, EngineState.READY]
    assert all(isinstance(s, EngineState) for s in states)  # the enum itself crosses the signal
    assert loaded.args == [TINY_INFO] and session.info is TINY_INFO
    target = worker.load_targets[-1]
    assert isinstance(target, LoadOptions) and target.model_path == "/models/scripted.gguf"
    assert target.n_gpu_layers == AUTO_GPU_LAYERS  # planned by the supervisor factory, off the GUI thread
    saved = load_settings()
    assert (saved.chat_model_path, saved.active_engine) == ("/models/scripted.gguf", "")
    assert session.has_model()


def test_a_stale_load_result_is_dropped(qtbot, make_session) -> None:
    session, worker, _store = make_session()
    worker.script_load(ScriptedLoad(info=dataclasses.replace(TINY_INFO, model_name="first")))
    worker.script_load(ScriptedLoad(info=dataclasses.replace(TINY_INFO, model_name="second")))
    session.load(LoadOptions("/models/first.gguf"))
    session.load(LoadOptions("/models/second.gguf"))  # before the first one answered
    wait_state(qtbot, session, EngineState.READY)
    with qtbot.assertNotEmitted(session.loaded, wait=100):
        pass
    assert session.info is not None and session.info.model_name == "second"


def test_a_failed_load_reports_the_engine_log_and_keeps_the_target(qtbot, make_session) -> None:
    session, worker, _store = make_session()
    worker.script_load(ScriptedLoad(info=None, error="not a GGUF file", detail="invalid magic"))
    with qtbot.waitSignal(session.loadFailed, timeout=WAIT_MS) as failed:
        session.load(LoadOptions("/models/broken.gguf"))
    assert failed.args == ["not a GGUF file", "invalid magic"]
    assert session.state is EngineState.FAILED and session.info is None
    worker.script_load()
    assert session.restart()  # Try again loads the same target
    wait_state(qtbot, session, EngineState.READY)
    assert [t.model_path for t in worker.load_targets] == ["/models/broken.gguf"] * 2


def test_a_held_load_can_be_cancelled(qtbot, make_session) -> None:
    session, worker, _store = make_session()
    worker.script_load(ScriptedLoad(hold=True))
    session.load(LoadOptions("/models/slow.gguf"))
    assert session.state is EngineState.LOADING
    session.cancel_load()
    wait_state(qtbot, session, EngineState.NONE)
    assert session.info is None


def test_a_restart_field_changed_anywhere_restarts_the_engine_once(qtbot, make_session) -> None:
    session, worker, store = make_session(Settings(chat_model_path="/models/scripted.gguf"))
    session.load_from_settings()
    wait_state(qtbot, session, EngineState.READY)
    messages: list[str] = []
    session.message.connect(messages.append)

    store.update(theme="dark", max_tokens=99)  # take effect without a restart
    assert session.state is EngineState.READY and len(worker.load_targets) == 1

    store.update(n_ctx=2048)
    assert session.state is EngineState.LOADING and messages == ["Restarting the engine for: Context size"]
    wait_state(qtbot, session, EngineState.READY)
    assert worker.load_targets[-1].n_ctx == 2048

    # The settings dialog: its fields and its own reasons (an API key) make one restart.
    with session.restart_once():
        store.replace(dataclasses.replace(store.settings, n_threads=3, n_batch=256, n_ubatch=256))
        session.request_restart(["Threads", "Local server API key"])
    assert len(worker.load_targets) == 3
    assert messages[-1] == "Restarting the engine for: Threads, Batch size, Micro-batch size, Local server API key"


def test_choosing_an_engine_connects_to_it_and_a_removed_one_says_so(qtbot, make_session) -> None:
    remote = RemoteEngine(name="Lab", base_url="http://lab.example:8000/v1", kind="vllm", model="ds-coder")
    session, worker, store = make_session(Settings(remote_engines=[remote.to_dict()]))
    session.choose_engine(remote.id)
    wait_state(qtbot, session, EngineState.READY)
    target = worker.load_targets[-1]
    assert isinstance(target, RemoteTarget) and target.remote.id == remote.id
    assert load_settings().active_engine == remote.id and len(worker.load_targets) == 1  # no second load

    messages: list[str] = []
    session.message.connect(messages.append)
    store.update(remote_engines=[])  # removed in the settings while chosen
    assert messages[-1] == REMOTE_GONE_MESSAGE and session.state is EngineState.NONE


def test_completion_gets_a_client_only_while_the_engine_is_free(qtbot, make_session) -> None:
    session, worker, _store = make_session()
    assert session.completion_client() is None  # nothing loaded
    session.load(LoadOptions("/models/scripted.gguf"))
    wait_state(qtbot, session, EngineState.READY)
    client = session.completion_client()
    assert client is not None and client.base_url == "http://127.0.0.1:9/v1"
    assert session.completion_client() is client  # one client per engine

    worker.script_answer(ScriptedAnswer(hold=True))
    busy: list[bool] = []
    session.chatBusyChanged.connect(busy.append)
    rid = session.start_chat([{"role": "user", "content": "hi"}], SamplingParams())
    assert session.completion_client() is None  # the engine serves one request at a time
    session.cancel_chat(rid)
    assert busy == [True, False] and session.completion_client() is client

    session.load(LoadOptions("/models/scripted.gguf"))  # a new engine: a new client
    wait_state(qtbot, session, EngineState.READY)
    assert session.completion_client() is not client


def test_the_api_key_stays_with_the_session() -> None:
    access = EngineAccess("http://127.0.0.1:1234/v1", "secret-key")
    assert "secret-key" not in repr(access)
    assert "api_key" not in {f.name for f in dataclasses.fields(TINY_INFO)}


def test_death_during_an_answer_is_reported_with_it_and_death_while_idle_on_its_own(qtbot, make_session) -> None:
    session, worker, _store = make_session()
    session.load(LoadOptions("/models/scripted.gguf"))
    wait_state(qtbot, session, EngineState.READY)
    order: list[str] = []
    session.failed.connect(lambda _rid, _message, dead: order.append(f"failed dead={dead}"))
    session.stateChanged.connect(lambda state: order.append(state.name))
    session.died.connect(lambda _message, _detail: order.append("died"))

    worker.script_answer(ScriptedAnswer(deltas=["partial"], die="The engine stopped"))
    session.start_chat([{"role": "user", "content": "hi"}], SamplingParams())
    wait_state(qtbot, session, EngineState.DEAD)
    with qtbot.assertNotEmitted(session.died, wait=50):
        pass
    assert order == ["failed dead=True", "DEAD"]  # the chat shows the error before the state moves on

    order.clear()
    session.restart()
    wait_state(qtbot, session, EngineState.READY)
    with qtbot.waitSignal(session.died, timeout=WAIT_MS):
        worker.die()
    assert order == ["LOADING", "READY", "DEAD", "died"]


def test_shutdown_stops_the_worker(qtbot, make_session) -> None:
    session, worker, _store = make_session()
    session.load(LoadOptions("/models/scripted.gguf"))
    wait_state(qtbot, session, EngineState.READY)
    session.shutdown()
    assert worker.shut_down


def test_a_queued_answer_says_it_waits_and_prefill_only_runs_while_the_engine_is_free(qtbot, make_session) -> None:
    session, worker, _store = make_session()
    prefix = [{"role": "user", "content": "file.py\n```python\nx = 1\n```"}]
    assert not session.prefill_chat(prefix)  # nothing loaded
    session.load(LoadOptions("/models/scripted.gguf"))
    wait_state(qtbot, session, EngineState.READY)
    assert session.prefill_chat(prefix)
    qtbot.waitUntil(lambda: worker.prefills == [prefix], timeout=WAIT_MS)

    worker.script_answer(ScriptedAnswer(hold=True))
    rid = session.start_chat([{"role": "user", "content": "hi"}], SamplingParams())
    assert not session.prefill_chat(prefix)  # an answer occupies the engine
    with qtbot.waitSignal(session.message, timeout=WAIT_MS) as message:
        worker.waiting.emit(rid, 2)  # another client of "Serve the loaded model" is ahead
    assert "waits (2 requests ahead)" in message.args[0]
    session.cancel_chat(rid)
