"""The language registry: its entries agree with each other, and its lookups."""

from __future__ import annotations

import string
from collections import Counter

import pytest

from app import languages
from app.languages import LANGUAGES, PLAIN_TEXT

PLACEHOLDERS = {"file", "stem", "dir"}


def test_no_two_languages_claim_one_extension_file_name_or_fence():
    for field in ("extensions", "file_names", "interpreters"):
        claimed = Counter(value for lang in LANGUAGES.values() for value in getattr(lang, field))
        assert [value for value, count in claimed.items() if count > 1] == [], field
    fences = Counter(name for lang in LANGUAGES.values() for name in {lang.id, lang.fence, *lang.fence_aliases})
    assert [name for name, count in fences.items() if count > 1] == []


@pytest.mark.parametrize("language_id", sorted(LANGUAGES))
def test_run_and_test_commands_use_only_the_known_placeholders(language_id):
    lang = LANGUAGES[language_id]
    for template in (lang.run_command, lang.test_command):
        if template is not None:
            names = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
            assert names <= PLACEHOLDERS, (language_id, template)


def test_a_file_finds_its_language_and_how_to_run_it():
    python = languages.language_for_path("/work/tool.py")
    assert python is not None and python.id == "python"
    assert python.run_command is not None
    assert python.run_command.format(file="/work/tool.py", stem="tool", dir="/work") == "python3 /work/tool.py"
    assert languages.language_for_path("Makefile.unknown") is None
    assert languages.language_id_for_path("Makefile.unknown") == PLAIN_TEXT
    assert languages.language_for_path("Gemfile") is LANGUAGES["ruby"]
    assert languages.language_for_path("script", "#!/usr/bin/env node") is LANGUAGES["javascript"]


def test_fence_names_and_their_aliases_lead_to_one_language():
    assert languages.language_for_fence("py") is LANGUAGES["python"]
    assert languages.language_for_fence("Python title=x.py") is LANGUAGES["python"]
    assert languages.language_for_fence("") is None
    assert languages.pygments_alias("sh") == "bash"
    assert languages.pygments_alias("haskell") == "haskell"  # not ours: Pygments decides
    assert languages.highlighted_fences()[-2:] == languages.OUTPUT_FENCES


def test_a_file_kind_may_have_its_own_grammar():
    assert languages.tree_sitter_grammar("typescript", "View.tsx") == "tsx"
    assert languages.tree_sitter_grammar("typescript", "view.ts") == "typescript"
    assert languages.tree_sitter_grammar("sql", "q.sql") is None
    assert languages.tree_sitter_grammar("no-such-language") is None
