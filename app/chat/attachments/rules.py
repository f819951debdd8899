"""What the next question carries: the decision, from what the editor shows, the `@`
mentions in the question and the project map, of the attachments (app.chat.attachments)
and of the chips that show them.

Qt-free. The chat's ui adapter (app/chat/ui/question_attachments.py) takes an `EditorSnapshot` and
the mentioned files on the GUI thread, and runs `gather` on a pool thread (parsing a
large file for a selection's definition, or ranking a project map, takes tens of
milliseconds). An `AttachmentRequest` is a value: two equal requests give the same
attachments, so a result computed while the user typed is reused when they send.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from app.chat.attachments import excerpts
from app.chat.attachments.excerpts import Attachment
from app.chat.attachments.prompt import attachments_prompt_prefix
from app.chat.editor_access import EditorSnapshot
from app.editor import textfile
from app.project.outline_map import ProjectMap
from app.project.relevance import PROJECT_MENTION, is_project_question, render_map
from app.utils.errors import DscoderError
from app.utils.jobs import JobControl
from app.utils.units import token_count

log = logging.getLogger(__name__)

EDITOR_KEY = "editor"  # the chip of the current file, its part around the cursor, or the selection
PROJECT_KEY = "project"
MENTION_PREFIX = "@"
PROJECT_NAME = PROJECT_MENTION[1:]  # "project"
DEFAULT_FILE_TOKENS = excerpts.DEFAULT_FILE_BUDGET
DEFAULT_MAP_TOKENS = 1500
WINDOW_SHARE = 0.6  # at most this much of the model's context window goes to attachments
MIN_FILE_TOKENS = 128  # less room than this left: an @file is not attached (a sliver misleads)
# Up to this size a selection's file is parsed on the caller's thread (about 10 ms); a
# larger one, a map to rank or a file to read from disk go to a pool thread.
QUICK_PARSE_CHARS = 20_000
# `@` then a path: letters, digits, _ . - / (a path with spaces is not offered by the completer)
_MENTION = re.compile(r"(?<![\w@])@([\w][\w.\-/]*)")


@dataclass(frozen=True)
class MentionedFile:
    name: str  # as typed after "@": "utils.py", "app/utils.py"
    path: str
    text: str | None = None  # an open tab's text (with unsaved edits); None: read from disk


@dataclass(frozen=True)
class Budgets:
    """Tokens each kind of attachment may take."""

    file: int = DEFAULT_FILE_TOKENS  # the current file, and each @file
    total: int = 4 * DEFAULT_FILE_TOKENS  # everything attached together
    project: int = DEFAULT_MAP_TOKENS


def budgets_for(n_ctx: int, file_tokens: int = DEFAULT_FILE_TOKENS, map_tokens: int = DEFAULT_MAP_TOKENS) -> Budgets:
    """Budgets that leave room for the conversation and the answer in a context of `n_ctx`
    tokens (0: not known yet, the settings' budgets as they are)."""
    if n_ctx <= 0:
        return Budgets(file_tokens, 4 * file_tokens, map_tokens)
    total = int(n_ctx * WINDOW_SHARE)
    return Budgets(min(file_tokens, max(256, n_ctx // 3)), total, min(map_tokens, max(200, n_ctx // 6)))


@dataclass(frozen=True)
class AttachmentRequest:
    """Everything the attachments of one question are made from."""

    editor: EditorSnapshot | None = None
    attach_editor: bool = True  # the editor's chip is on (the setting, or the user's click)
    mentions: tuple[MentionedFile, ...] = ()
    project: ProjectMap | None = field(default=None, compare=False)
    project_version: int = 0  # changes when the map does (it is updated in place on save)
    map_question: str = ""  # the question the map is ranked for; "" when no map goes
    budgets: Budgets = Budgets()


def is_quick(request: AttachmentRequest) -> bool:
    """Whether `gather` takes only a few milliseconds for this request."""
    editor = request.editor
    parses = editor is not None and editor.selection is not None and len(editor.text) > QUICK_PARSE_CHARS
    reads = any(mention.text is None for mention in request.mentions)
    return not parses and not reads and not request.map_question


@functools.lru_cache(maxsize=4)
def editor_attachment(snapshot: EditorSnapshot, budget: int) -> Attachment | None:
    """The selection with its enclosing definition, else the file or the part around the cursor.
    Kept for the last few snapshots: typing a question recomputes the rest, not this parse."""
    if snapshot.selection is not None:
        start, end = snapshot.selection
        if snapshot.text[start:end].strip():
            return excerpts.selection(
                snapshot.name, snapshot.language_id, snapshot.text, start, end, snapshot.path or snapshot.name
            )
    if not snapshot.text.strip():
        return None
    return excerpts.current_file(snapshot.name, snapshot.language_id, snapshot.text, snapshot.cursor_line, budget)


def _mention_text(mention: MentionedFile) -> str | None:
    if mention.text is not None:
        return mention.text
    try:
        return textfile.read_text_file(mention.path).text
    except (OSError, DscoderError) as exc:  # gone, unreadable, not text: left out, with a log line
        log.info("could not attach %s: %s", mention.path, exc)
        return None


def gather(request: AttachmentRequest, control: JobControl | None = None) -> list[Attachment]:
    """The attachments of a question, each with its chip key, in the order they are shown."""
    found: list[Attachment] = []
    budgets = request.budgets
    left = budgets.total
    editor = request.editor
    if editor is not None and request.attach_editor:
        attached = editor_attachment(editor, min(budgets.file, left))
        if attached is not None:
            found.append(dataclasses.replace(attached, key=EDITOR_KEY))
            left -= attached.tokens
    for mention in request.mentions:
        if control is not None:
            control.raise_if_stopped()
        if found and found[0].kind == "file" and editor is not None and mention.path == editor.path:
            continue  # the whole file is attached already
        budget = min(budgets.file, left)
        text = _mention_text(mention) if budget >= MIN_FILE_TOKENS else None
        if text is None:
            continue  # unreadable, or no room left for more than a sliver of it
        attached = excerpts.other_file(mention.name, text, budget)
        if attached.tokens <= budget:  # (a single line longer than the budget is not sent)
            found.append(dataclasses.replace(attached, key=MENTION_PREFIX + mention.name))
            left -= attached.tokens
    if request.project is not None and request.map_question:
        text = render_map(request.project, request.map_question, min(budgets.project, max(left, 0)))
        if text:
            found.append(dataclasses.replace(excerpts.project_map(text), key=PROJECT_KEY))
    return found


# -- mentions -------------------------------------------------------------------------------


def mentions_in(text: str) -> list[str]:
    """The names after "@" in a question, once each, in order ("project" included)."""
    seen: list[str] = []
    for match in _MENTION.finditer(text):
        name = match.group(1).rstrip(".")  # "see @utils.py." ends a sentence, not a name
        if name not in seen:
            seen.append(name)
    return seen


def resolve_mention(name: str, candidates: Mapping[str, str]) -> str | None:
    """The path a mention names: an exact candidate, else the one candidate with that file name."""
    if name in candidates:
        return candidates[name]
    by_name = {path for key, path in candidates.items() if key.rsplit("/", 1)[-1] == name}
    return by_name.pop() if len(by_name) == 1 else None


def without_mention(text: str, name: str) -> str:
    """`text` with "@name" taken out (the chip of a mention was removed)."""
    pattern = re.compile(r"(?<![\w@])@" + re.escape(name) + r"(?![\w\-/])\s?")
    return pattern.sub("", text)


def wants_project(question: str, has_map: bool, removed: bool) -> bool:
    """Whether the map goes with this question: `@project`, or a question about the project."""
    if not has_map:
        return False
    if PROJECT_MENTION in question.lower():
        return True
    return not removed and is_project_question(question)


def question_text(typed: str) -> str:
    """What the model reads as the question: `@project` said by the attached map instead."""
    stripped = re.sub(r"(?<![\w@])@project\b\s?", "", typed, flags=re.IGNORECASE).strip()
    return stripped or typed.strip()


# -- chips ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chip:
    """One chip above the chat input."""

    key: str  # EDITOR_KEY, PROJECT_KEY, or "@" + the mentioned name
    label: str
    tokens: int
    attached: bool = True  # False: a suggestion ("+ sample.py") that one click attaches
    tooltip: str = ""


def _tooltip(attachment: Attachment) -> str:
    what = {
        "file": f"The whole file {attachment.name}",
        "part": f"Lines {attachment.first_line}–{attachment.last_line} of {attachment.name}, around the cursor "
        "(the whole file is larger than the budget)",
        "selection": f"The selection, lines {attachment.first_line}–{attachment.last_line} of {attachment.name}"
        + (f", and {attachment.enclosing_name}, the definition around it" if attachment.enclosing else ""),
        "project": "A map of the project's files and definitions, the most related to the question first",
    }[attachment.kind]
    return f"{what}: about {token_count(attachment.tokens)}. Goes with this message; × leaves it out."


def chips_for(attached: Sequence[Attachment], suggestion: Attachment | None = None) -> list[Chip]:
    """The chips for what is attached, and the editor's suggestion chip when it is left out."""
    chips = [Chip(a.key, a.label, a.tokens, True, _tooltip(a)) for a in attached]
    if suggestion is not None:
        tip = f"Click to send {suggestion.label} with this message (about {token_count(suggestion.tokens)})"
        chips.insert(0, Chip(EDITOR_KEY, suggestion.label, suggestion.tokens, False, tip))
    return chips


# -- what the next request starts with ---------------------------------------------------------


def request_prefix(history: Sequence[dict[str, str]], attached: Sequence[Attachment]) -> list[dict[str, str]]:
    """The messages the next question's request starts with, exactly: the conversation so
    far (system prompt first), then a user message holding the start of the question's
    content, its attachments in the prompt's form, without the question typed after them.

    For idle prefill: the engine can evaluate this while the user types; the request that
    follows extends the last message's content with the question.
    """
    messages = [dict(m) for m in history]
    if attached:
        messages.append({"role": "user", "content": attachments_prompt_prefix(attached)})
    return messages
