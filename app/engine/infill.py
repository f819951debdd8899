"""llama-server's infill prompt: other files' chunks, the prefix, the suffix and the start
of the middle, in the loaded model's repository-level FIM format, trimmed to fit.

Two formats, by what the vocabulary has:

- repository tokens (Qwen2.5-Coder's `<|repo_name|>` and `<|file_sep|>`): the name,
  then each chunk after a file separator with its file name, then a separator for the
  file being completed, then `<PRE> prefix <SUF> suffix <MID>`;
- none (DeepSeek-Coder): the chunks go first inside the prefix, each under a comment
  line with its path, as the window's own completion lays them out
  (app.protocol.repository, which app.completion.ring uses too).

`prompt` (the text before the cursor on its line) goes after `<MID>`, as llama-server
puts it: the prefix and the suffix then stay the same while the user types on a line,
and the completion context reuses them.

Trimming, as llama-server does it: whole chunks go first, oldest first; then the
prefix loses its start and the suffix its end (the suffix keeps at most a quarter of
the room when both must give). The result says whether anything was cut. Only a start
of the middle that cannot fit with the answer's room is an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.engine.vocab import Vocabulary, fim_missing
from app.languages import language_id_for_path
from app.protocol.repository import repository_part
from app.utils.errors import PromptError

REPOSITORY_NAME = "project"
CURRENT_FILE_NAME = "untitled"


@dataclass(frozen=True)
class ExtraChunk:
    filename: str
    text: str


@dataclass(frozen=True)
class InfillPrompt:
    tokens: list[int]
    truncated: bool
    chunks_used: int


def _chunk_tokens(vocab: Vocabulary, chunk: ExtraChunk, repo_format: bool) -> list[int]:
    if repo_format:
        _rep, sep = vocab.fim_repo_ids
        return [sep, *vocab.tokenize(f"{chunk.filename}\n{chunk.text}", special=False)]
    name = chunk.filename or "untitled"
    return vocab.tokenize(repository_part(name, chunk.text, language_id_for_path(name)), special=False)


def build_infill(
    vocab: Vocabulary,
    prefix: str,
    suffix: str,
    middle: str,
    extra: Sequence[ExtraChunk],
    budget: int,
) -> InfillPrompt:
    """The tokens of an infill request within `budget` (the context less the answer's room)."""
    if not vocab.has_fim:
        raise fim_missing()
    pre, suf, mid = vocab.fim_ids
    repo_format = vocab.has_repo_fim
    head: list[int] = [vocab.bos] if vocab.add_bos and vocab.bos >= 0 else []
    current: list[int] = []
    if repo_format and extra:
        rep, sep = vocab.fim_repo_ids
        head += [rep, *vocab.tokenize(f"{REPOSITORY_NAME}\n", special=False)]
        current = [sep, *vocab.tokenize(f"{CURRENT_FILE_NAME}\n", special=False)]
    middle_ids = vocab.tokenize(middle, special=False) if middle else []
    fixed = len(head) + len(current) + 3 + len(middle_ids)
    if fixed > budget:
        raise PromptError(
            f"The infill request needs {fixed} tokens before any code, but the completion context "
            f"has room for {budget} with the answer's tokens",
            "Send a shorter 'prompt' or a smaller 'n_predict', or serve with a larger completion context",
        )
    prefix_ids = vocab.tokenize(prefix, special=False)
    suffix_ids = vocab.tokenize(suffix, special=False)
    room = budget - fixed
    truncated = False
    if len(prefix_ids) + len(suffix_ids) > room:
        truncated = True
        keep_suffix = min(len(suffix_ids), room // 4)
        suffix_ids = suffix_ids[:keep_suffix]
        prefix_ids = prefix_ids[len(prefix_ids) - (room - keep_suffix) :] if room > keep_suffix else []
    room -= len(prefix_ids) + len(suffix_ids)
    chunks: list[list[int]] = []
    for chunk in reversed(extra):  # the newest chunks are last: they are kept first
        ids = _chunk_tokens(vocab, chunk, repo_format)
        if len(ids) > room:
            truncated = True
            break
        chunks.insert(0, ids)
        room -= len(ids)
    if not chunks:
        head, current = head[:1] if head and head[0] == vocab.bos else [], []
    context = [t for ids in chunks for t in ids]
    if repo_format:
        tokens = [*head, *context, *current, pre, *prefix_ids, suf, *suffix_ids, mid, *middle_ids]
    else:
        tokens = [*head, pre, *context, *prefix_ids, suf, *suffix_ids, mid, *middle_ids]
    return InfillPrompt(tokens, truncated, len(chunks))
