"""Real clients against `dscoder serve` with the tiny model: the `openai` Python SDK, the
`ollama` Python client, and Continue's own CLI (`cn`, from npm) with the config.yaml
blocks of docs/editors.md, through its Ollama provider and its llama.cpp provider.

Continue's CLI is installed with npm into a cache folder the tests control
(DSCODER_TEST_TOOLS, default ~/.cache/dscoder-test-tools; .ci/run installs it there
first); without npm that test is skipped and says why.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import ollama
import openai
import pytest

from tests.helpers.served import Served, serving

CONTINUE_CLI = "@continuedev/cli@1.5.47"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "editors.md"
PREFIX = "def add(a, b):\n    return "
SUFFIX = "\n\nprint(add(1, 2))\n"


@pytest.fixture(scope="module")
def served(tiny_models):
    with serving(tiny_models["v1"], "--ctx", "2048") as server:
        yield server


def test_openai_sdk_streams_chat_with_usage_and_completes_with_suffix(served: Served):
    client = openai.OpenAI(base_url=f"{served.base}/v1", api_key=served.api_key)
    try:
        stream = client.chat.completions.create(
            model="tiny-v1",
            messages=[{"role": "user", "content": "Write a function."}],
            max_tokens=8,
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = list(stream)
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text and chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 8
        completion = client.completions.create(model="tiny-v1", prompt=PREFIX, suffix=SUFFIX, max_tokens=6)
        assert completion.choices[0].finish_reason in ("stop", "length") and completion.usage.prompt_tokens > 10
        with pytest.raises(openai.BadRequestError, match="messages"):
            client.chat.completions.create(model="tiny-v1", messages=[])
    finally:
        client.close()


def test_ollama_client_lists_chats_and_fills_the_middle(served: Served):
    with ollama.Client(host=served.base) as client:
        listed = client.list()
        assert [m.model for m in listed.models] == ["tiny-v1"]
        parts = list(
            client.chat(
                model="dscoder", messages=[{"role": "user", "content": "Hi"}], stream=True, options={"num_predict": 6}
            )
        )
        assert parts[-1].done and parts[-1].eval_count == 6 and "".join(p.message.content for p in parts)
        middle = client.generate(model="dscoder:latest", prompt=PREFIX, suffix=SUFFIX, options={"num_predict": 8})
        assert middle.done and middle.prompt_eval_count > 10 and SUFFIX.strip() not in middle.response
        shown = client.show("tiny-v1")
        assert "insert" in shown.capabilities and shown.modelinfo["llama.context_length"] == 2048
        with pytest.raises(ollama.ResponseError, match="tiny-v1") as missing:
            client.chat(model="llama3", messages=[{"role": "user", "content": "Hi"}])
        assert missing.value.status_code == 404
        with pytest.raises(ollama.ResponseError, match="not served") as embed:
            client.embed(model="dscoder", input="x")
        assert embed.value.status_code == 501


def _continue_cli() -> Path:
    tools = Path(os.environ.get("DSCODER_TEST_TOOLS", Path.home() / ".cache" / "dscoder-test-tools"))
    folder = tools / "continue-cli"
    cli = folder / "node_modules" / ".bin" / "cn"
    if cli.exists():
        return cli
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip(f"npm is missing, so Continue's CLI ({CONTINUE_CLI}) can't be installed into {folder}")
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--prefix", str(folder), CONTINUE_CLI],
        check=True,
        timeout=600,
        capture_output=True,
    )
    return cli


def docs_config(marker: str, port: int) -> str:
    """A config.yaml block of docs/editors.md (the one after `<!-- marker -->`), for `port`."""
    text = DOCS.read_text(encoding="utf-8")
    block = re.search(rf"<!-- {marker} -->\s*```yaml\n(.*?)```", text, re.S)
    assert block, f"docs/editors.md has no config block marked {marker}"
    return block.group(1).replace(":11434", f":{port}").replace(":8012", f":{port}")


@pytest.mark.parametrize("marker", ["continue-ollama", "continue-llama-cpp"])
def test_continue_cli_chats_with_the_docs_configuration(served: Served, tmp_path, marker):
    cli = _continue_cli()
    port = int(served.base.rsplit(":", 1)[1])
    config = tmp_path / "config.yaml"
    config.write_text(docs_config(marker, port), encoding="utf-8")
    before = served.info()["clients"]["served"]
    env = dict(os.environ, HOME=str(tmp_path), CONTINUE_GLOBAL_DIR=str(tmp_path / ".continue"))
    run = subprocess.run(
        [str(cli), "-p", "Say hi", "--config", str(config)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() and '"status":"error"' not in run.stdout, run.stdout[-2000:]
    after = served.info()["clients"]["served"]
    # It talked to this server (the CLI's providers both use the OpenAI-style chat route
    # that Ollama and llama-server also serve; the IDE extension's use /api and /infill).
    assert sum(after.values()) > sum(before.values())
