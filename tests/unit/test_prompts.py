"""Chat prompts rendered byte for byte, the sandbox, and fitting into the context."""

from __future__ import annotations

import pytest

from app.engine.prompts import ChatFormat, choose_chat_format, family_template, fit_chat, render_template
from app.protocol.deepseek import DEEPSEEK_V1_SYSTEM_PROMPT, DS_BOS, DS_EOS, DS_EOT
from app.utils.errors import PromptError

V1 = ChatFormat(family_template("deepseek-v1"), "deepseek-v1", DS_BOS, DS_EOT, (DS_EOT, DS_EOS))
V2 = ChatFormat(family_template("deepseek-v2"), "deepseek-v2", DS_BOS, DS_EOS, (DS_EOS,))


def test_v1_without_system_uses_the_default_system_prompt():
    got = V1.render([{"role": "user", "content": "Write quicksort."}])
    assert got == f"{DS_BOS}{DEEPSEEK_V1_SYSTEM_PROMPT}\n### Instruction:\nWrite quicksort.\n### Response:\n"


def test_v1_with_system_replaces_the_default():
    got = V1.render([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}])
    assert got == f"{DS_BOS}Be brief.\n### Instruction:\nHi\n### Response:\n"


def test_v1_multi_turn():
    got = V1.render(
        [
            {"role": "user", "content": "a"},
            {"role": "assistant", "content": "b"},
            {"role": "user", "content": "c"},
        ]
    )
    assert got == (
        f"{DS_BOS}{DEEPSEEK_V1_SYSTEM_PROMPT}\n### Instruction:\na\n### Response:\nb\n{DS_EOT}\n"
        "### Instruction:\nc\n### Response:\n"
    )


def test_v2_has_no_space_after_the_final_assistant():
    got = V2.render(
        [
            {"role": "system", "content": "S"},
            {"role": "user", "content": "u1"},
            {"role": "assistant", "content": "a1"},
            {"role": "user", "content": "u2"},
        ]
    )
    assert got == f"{DS_BOS}S\n\nUser: u1\n\nAssistant: a1{DS_EOS}User: u2\n\nAssistant:"
    assert not got.endswith(" ")


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        "{% set x = [].append(1) %}{{ x }}",  # mutating a list is refused by the immutable sandbox
    ],
)
def test_hostile_templates_are_stopped(template, tmp_path):
    marker = tmp_path / "ran"
    with pytest.raises(PromptError) as info:
        render_template(
            template + f"{{{{ cycler.__init__.__globals__.os.system('touch {marker}') }}}}",
            [{"role": "user", "content": "x"}],
        )
    assert "template" in str(info.value)
    assert not marker.exists()


def test_template_errors_become_prompt_errors():
    with pytest.raises(PromptError, match="chat template failed"):
        render_template("{{ raise_exception('roles must alternate') }}", [{"role": "user", "content": "x"}])


def test_family_chosen_from_vocabulary_when_file_has_no_template():
    fmt = choose_chat_format(None, {DS_BOS, DS_EOS, DS_EOT}, "llama", DS_BOS, DS_EOT)
    assert fmt.family == "deepseek-v1" and fmt.stop_token_texts == (DS_EOT, DS_EOS)
    fmt2 = choose_chat_format(None, {DS_BOS, DS_EOS}, "deepseek2", DS_BOS, DS_EOS)
    assert fmt2.family == "deepseek-v2"
    with pytest.raises(PromptError, match="no chat template"):
        choose_chat_format(None, {"<s>", "</s>"}, "llama", "<s>", "</s>")


def test_file_template_wins_but_keeps_family_stops():
    fmt = choose_chat_format("{{ messages[0]['content'] }}", {DS_BOS, DS_EOS, DS_EOT}, "llama", DS_BOS, DS_EOT)
    assert fmt.family == "gguf" and DS_EOT in fmt.stop_token_texts


def _count(text: str) -> int:
    return len(text)  # one "token" per character keeps the arithmetic visible


def test_fit_drops_oldest_turns_with_a_note():
    messages = [{"role": "system", "content": "S"}]
    for i in range(5):
        messages += [
            {"role": "user", "content": f"question {i} " + "x" * 100},
            {"role": "assistant", "content": "answer " + "y" * 100},
        ]
    messages.append({"role": "user", "content": "last"})
    full = _count(V2.render(messages))
    fitted = fit_chat(V2, messages, _count, n_ctx=full - 150, max_tokens=50)
    assert fitted.dropped_turns >= 1
    assert fitted.messages[0] == {"role": "system", "content": "S"}
    assert fitted.messages[-1] == {"role": "user", "content": "last"}
    assert fitted.prompt_tokens + fitted.max_tokens <= full - 150
    assert "oldest turn" in fitted.notes[0]


def test_fit_shrinks_answer_budget_then_refuses():
    messages = [{"role": "user", "content": "z" * 500}]
    size = _count(V2.render(messages))
    fitted = fit_chat(V2, messages, _count, n_ctx=size + 100, max_tokens=512)
    assert fitted.max_tokens == 100 and fitted.notes
    with pytest.raises(PromptError, match="context holds"):
        fit_chat(V2, messages, _count, n_ctx=size + 10, max_tokens=512)


def test_nothing_dropped_when_it_fits():
    messages = [{"role": "user", "content": "hi"}]
    fitted = fit_chat(V1, messages, _count, n_ctx=4096, max_tokens=512)
    assert fitted.dropped_turns == 0 and fitted.notes == [] and fitted.messages == messages
