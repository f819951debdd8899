"""Adding a language is one entry in app.languages: every feature sees it.

The fixture registers Kotlin (which the app does not ship) for one test and removes it
after; the test then walks each feature that knows languages.
"""

from __future__ import annotations

import pytest

from app import languages
from app.chat.attachments.excerpts import Attachment
from app.chat.attachments.prompt import attachments_prompt
from app.chat.code_prompts import selection_prompt
from app.chat.editor_access import EditorSnapshot
from app.chat.markdown.highlight import highlight_runs
from app.chat.ui.warmup import warm_highlighting
from app.completion.fim import filter_middle, fim_class
from app.editor import textfile
from app.editor.ui import lexers
from app.editor.ui.code_editor import CodeEditor
from app.project.files import has_grammar, is_text_name
from app.syntax.languages import grammar_for_path, grammars, parse

KOTLIN = languages.Language(
    "kotlin",
    "Kotlin",
    (".kt", ".kts"),
    line_comment="//",
    block_comment=("/*", "*/"),
    fence_aliases=("kt",),
    lexilla="cpp",
    tree_sitter="kotlin",
    fim_class="brace",
    test_framework="with kotlin.test",
    run_command="kotlinc {file} -include-runtime -d {dir}/{stem}.jar && java -jar {dir}/{stem}.jar",
)


@pytest.fixture
def kotlin():
    assert "kotlin" not in languages.LANGUAGES, "the test language must be new to the app"
    languages.register(KOTLIN)
    yield KOTLIN
    languages.unregister(KOTLIN.id)


def test_a_registered_language_reaches_every_feature(qtbot, kotlin):
    # File type detection, and the project's list of text files.
    assert textfile.language_id_for_path("src/Main.kt") == "kotlin"
    assert languages.language_for_path("build.gradle.kts") is kotlin
    assert is_text_name("Main.kt") and has_grammar("Main.kt")

    # The editor colours it with the lexer the entry names.
    assert lexers.spec_for("kotlin").lexer == "cpp"
    editor = CodeEditor()
    qtbot.addWidget(editor)
    editor.set_path("Main.kt")
    assert editor.language == "kotlin"
    assert editor.lexer_name() == "cpp"

    # Syntax: the tree-sitter grammar parses it.
    assert grammar_for_path("Main.kt") == "kotlin"
    assert "kotlin" in grammars()
    source = parse("fun main() { println(1) }\n", "kotlin")
    assert source is not None and not source.root.has_error

    # The chat's code prompts: its fence and test framework.
    attachment = Attachment("file", "Main.kt", "kotlin", "fun main() {}\n")
    assert "`Main.kt` (Kotlin):\n\n```kotlin\nfun main() {}\n```" in attachments_prompt("Why?", [attachment])
    snapshot = EditorSnapshot("Main.kt", "/p/Main.kt", "kotlin", "fun f() = 1\n")
    prompt = selection_prompt("Write tests", "fun f() = 1\n", snapshot)
    assert "with kotlin.test" in prompt and "```kotlin\nfun f() = 1\n```" in prompt

    # Fill-in-the-middle stops where braces close past the hole's level.
    assert fim_class("kotlin") == "brace"
    middle = filter_middle("fun f() {\n", "\n\nfun g() {}\n", "    return 1\n}\nfun h() {}\n", "kotlin")
    assert middle == "    return 1\n}"

    # Markdown highlighting finds the lexer by the fence alias the entry adds.
    assert highlight_runs("fun f(): Int = 1\n", "kt", "default") != highlight_runs(
        "fun f(): Int = 1\n", "zz", "default"
    )

    # The chat's warm-up prepares it with the others.
    assert "kotlin" in warm_highlighting(("default",))


def test_unregistering_removes_it_again(kotlin):
    languages.unregister("kotlin")
    assert textfile.language_id_for_path("Main.kt") == textfile.PLAIN_TEXT
    assert fim_class("kotlin") is None
    assert grammar_for_path("Main.kt") is None
    languages.register(kotlin)  # the fixture removes it
