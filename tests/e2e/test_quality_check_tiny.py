"""`dscoder check` end to end on the tiny model: the real engine process started for the file,
chat and the editor's FIM path through it, the sandbox running the tests. Random weights
score about 0; what matters is that the whole pipeline completes and reports."""

from __future__ import annotations

import json

from app.cli import main
from app.models.quality.results import QualityResults


def test_check_runs_the_tiny_model_through_chat_and_completion(tiny_models, capsys):  # type: ignore[no-untyped-def]
    argv = ["check", "--model", str(tiny_models["v1"]), "--suite", "quick", "--limit", "2", "--ctx", "2048", "--json"]
    assert main(argv) == 0
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert figures["suite"] == "quick, first 2" and figures["problems"] == 2
    for part in ("chat_pass_at_1", "fim_pass_at_1", "fim_multi_line_pass_at_1"):
        assert 0.0 <= figures[part] <= 1.0  # the tiny model has FIM tokens: every part ran
    assert figures["published"] == {}  # not a catalog variant, not a known model
    assert figures["seconds"] > 0
    [record] = QualityResults().records()
    assert record.model.name == "tiny-v1.gguf" and record.settings["n_ctx"] == 2048
