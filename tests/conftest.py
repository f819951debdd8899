"""Shared test set-up: user data in a temp folder, Qt offscreen, no network, no process in the fast tier."""

from __future__ import annotations

import os

import pytest

from tests.helpers.process_guard import guard_process_starts, mark_slow_tier

pytest_plugins = ["tests.helpers.full_disk"]  # the small_disk fixture

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Tests never reach the hub; a test that wants the fake hub sets HF_ENDPOINT itself.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Every test gets its own DSCODER_HOME, so no test reads or writes real user data."""
    home = tmp_path_factory.mktemp("dscoder-home")
    monkeypatch.setenv("DSCODER_HOME", str(home))
    monkeypatch.delenv("DSCODER_MODELS_DIR", raising=False)
    yield home


# -- tiny models and engines (real llama.cpp, real engine process) ---------------------
@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory):
    """Paths of the tiny GGUF variants, written once per test session."""
    from app.models.synthetic import tiny as tg

    folder = tmp_path_factory.mktemp("tiny-models")
    models = {
        "v1": tg.write_tiny_gguf(folder / "tiny-v1.gguf", tg.TINY),
        "v2": tg.write_tiny_gguf(folder / "tiny-v2.gguf", tg.TINY_V2),
        "no_template": tg.write_tiny_gguf(folder / "tiny-no-template.gguf", tg.TINY_NO_TEMPLATE),
        "hostile": tg.write_tiny_gguf(folder / "tiny-hostile.gguf", tg.TINY_HOSTILE),
        "no_fim": tg.write_tiny_gguf(folder / "tiny-no-fim.gguf", tg.TINY_NO_FIM),
    }
    models["truncated"] = tg.write_truncated_gguf(folder / "tiny-truncated.gguf", models["v1"])
    not_gguf = folder / "notes.gguf"
    not_gguf.write_text("this is not a model\n")
    models["not_gguf"] = not_gguf
    return models


@pytest.fixture(scope="session")
def slow_prompt_model(tmp_path_factory):
    """A bigger tiny model whose prompt evaluation takes seconds (for cancel tests)."""
    from app.models.synthetic import tiny as tg

    return tg.write_tiny_gguf(tmp_path_factory.mktemp("slow-model") / "slow.gguf", tg.SLOW_PROMPT)


@pytest.fixture(scope="session")
def tiny_engine(tiny_models, tmp_path_factory):
    """One engine process serving the tiny v1 model for the whole session."""
    from app.llm.supervisor import EngineSupervisor
    from app.protocol.options import LoadOptions

    log_path = tmp_path_factory.mktemp("engine-log") / "engine.log"
    supervisor = EngineSupervisor(LoadOptions(model_path=str(tiny_models["v1"]), n_ctx=2048), log_path=log_path)
    supervisor.start()
    yield supervisor
    supervisor.stop()


def _real_model_path() -> str | None:
    path = os.environ.get("DSCODER_TEST_MODEL")
    if path and os.path.isfile(path):
        return path
    cache = os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")),
        "dscoder-test-models",
        "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    )
    return cache if os.path.isfile(cache) else None


@pytest.fixture(scope="session")
def real_model_path():
    """The real small code model (shared/tools/fetch-test-model), or skip."""
    path = _real_model_path()
    if path is None:
        pytest.skip("the real test model is absent (run ../shared/tools/fetch-test-model)")
    return path


# -- the loopback fake hub -------------------------------------------------------------
@pytest.fixture
def hub(monkeypatch):
    """A fake Hugging Face hub on loopback, with huggingface_hub pointed at it."""
    from tests.helpers.fake_hub import FakeHub, point_hub_client_at

    with FakeHub() as server:
        point_hub_client_at(server, monkeypatch)
        yield server


# -- tiers: `pytest -m "not slow"` starts no process ------------------------------------
@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    mark_slow_tier(items)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item):
    return (yield from guard_process_starts(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    return (yield from guard_process_starts(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item):
    return (yield from guard_process_starts(item))
