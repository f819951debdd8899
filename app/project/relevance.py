"""The project map for one question: trimmed to a token budget, most relevant first, and
the decision whether a question is about the project at all.

Relevance is lexical, as in aider's repo map without the graph: the words and
identifiers of the question (split at camelCase and snake_case) against symbol names
and file paths. Files that match come first, with all their symbols; the rest follow
by path, in a shorter form, while the budget lasts. The budget is a hard limit, so the
map never crowds out the question.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable

from app.project.outline_map import FileOutline, ProjectMap, Symbol
from app.utils.tokens import approx_tokens

PROJECT_MENTION = "@project"
DEFAULT_MAP_BUDGET = 1500
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SUBWORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_STOPWORDS = frozenset(
    "the and for with that this what where which how does work works file files code from into are is was "
    "can you your our there their then than when why who use used uses using should would could make get "
    "set about project function class method".split()
)
_PROJECT_QUESTION = re.compile(
    r"\bwhere\s+(is|are|do|does|did|can|should)\b|\bwhich\s+(file|files|module|class|function)\b|"
    r"\bhow\s+(does|do|is|are)\b.+\b(work|works|implemented|handled|done|used|called|wired)\b|"
    r"\b(in|across|of)\s+(this|the|my|our)\s+(project|codebase|code\s*base|repo|repository|folder|app)\b|"
    r"\bwho\s+calls\b|\bwhat\s+calls\b|\bwhere\b.+\b(defined|declared|implemented|called|used)\b",
    re.IGNORECASE,
)


def is_project_question(text: str) -> bool:
    """Whether a question is about the project: `@project`, "where is…", "how does … work"."""
    return PROJECT_MENTION in text.lower() or bool(_PROJECT_QUESTION.search(text))


def strip_project_mention(text: str) -> str:
    return re.sub(r"\s*@project\b", "", text, flags=re.IGNORECASE).strip()


@functools.lru_cache(maxsize=1 << 16)
def _words(text: str) -> frozenset[str]:
    """The words of a name or a question. Kept: a map's names are ranked again for every
    question (and while one is typed), and the split is most of a ranking's cost."""
    words: set[str] = set()
    for identifier in _IDENTIFIER.findall(text):
        words.add(identifier.lower())
        words.update(part.lower() for part in _SUBWORD.findall(identifier))
    return frozenset(w for w in words if len(w) >= 3 and w not in _STOPWORDS)


def _symbol_score(symbol: Symbol, wanted: frozenset[str]) -> int:
    short = symbol.name.rsplit(".", 1)[-1].lower()
    if short in wanted:
        return 10
    return 2 * len(_words(symbol.name) & wanted)


def _file_score(outline: FileOutline, wanted: frozenset[str]) -> int:
    path_score = len(_words(outline.path.replace("/", " ").replace(".", " ")) & wanted)
    return path_score + max((_symbol_score(s, wanted) for s in outline.symbols), default=0)


def prepare_ranking(project: ProjectMap) -> None:
    """Split the map's names into words ahead (where the map is built, off the GUI thread),
    so the first question ranks it as fast as the next ones."""
    for outline in project.files():
        _file_score(outline, frozenset())


def _render_file(outline: FileOutline, symbols: Iterable[Symbol]) -> str:
    lines = [f"{outline.path}:"]
    lines.extend(f"{'  ' * (symbol.depth + 1)}{symbol.signature or symbol.name}" for symbol in symbols)
    return "\n".join(lines) + "\n"


def render_map(
    project: ProjectMap,
    question: str,
    budget_tokens: int = DEFAULT_MAP_BUDGET,
    count_tokens: Callable[[str], int] = approx_tokens,
) -> str:
    """The map as text within `budget_tokens`, the files most related to `question` first."""
    wanted = _words(question)
    scored = [(_file_score(outline, wanted), outline) for outline in project.files()]
    scored.sort(key=lambda item: (-item[0], item[1].path))
    parts: list[str] = []
    used = 0
    for score, outline in scored:
        full = _render_file(outline, outline.symbols)
        options = [full] if score else []
        options.append(_render_file(outline, [s for s in outline.symbols if s.depth == 0]))
        if score:
            options.append(_render_file(outline, [s for s in outline.symbols if _symbol_score(s, wanted)]))
        for text in options:
            cost = count_tokens(text)
            if used + cost <= budget_tokens:
                parts.append(text)
                used += cost
                break
        if budget_tokens - used < 8:
            break
    return "".join(parts)


def ranked_files(project: ProjectMap, question: str) -> list[tuple[str, int]]:
    """The map's files with their relevance to `question`, most relevant first (0: unrelated)."""
    wanted = _words(question)
    scored = [(outline.path, _file_score(outline, wanted)) for outline in project.files()]
    return sorted(scored, key=lambda item: (-item[1], item[0]))
