"""`dscoder complete`: print exactly the middle for a prefix and a suffix."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.commands._common import answer_json, load_options_from
from app.completion.fim import complete_middle
from app.completion.ring import RingBuffer, ring_prefix, with_repository
from app.editor import textfile
from app.llm.connect import open_client
from app.llm.targets import endpoint_completion_client
from app.protocol.options import SamplingParams
from app.utils.errors import DscoderError


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise DscoderError(f"Cannot read {path}: {exc.strerror}", "Check the path") from exc
    except UnicodeDecodeError as exc:
        raise DscoderError(f"{path} is not UTF-8 text", "Convert it to UTF-8") from exc


def guess_language(path: str) -> str | None:
    try:
        from app.editor.textfile import language_id_for_path
    except ImportError:
        return None
    return language_id_for_path(path)


def repository_prefix(prefix: str, current_path: str, language: str, other_files: list[str]) -> str:
    """`prefix` with the other files (`--context-file`) before it, exactly as the editor's ring buffer puts them."""
    ring = RingBuffer()
    for path in other_files:
        ring.add_file(path, _read(path), guess_language(path) or textfile.PLAIN_TEXT)
    ring.commit()
    ring_part = ring_prefix(ring.chunks(), current_path)
    return with_repository(prefix, ring_part, current_path, language)


def run(args: argparse.Namespace) -> int:
    prefix, suffix = _read(args.prefix_file), _read(args.suffix_file)
    language = args.language or guess_language(args.prefix_file)
    if args.context_file:
        current = args.path or args.prefix_file
        prefix = repository_prefix(prefix, current, language or textfile.PLAIN_TEXT, args.context_file)
    if args.show_prompt:
        sys.stdout.write(prefix)
        return 0
    options = None if args.endpoint else load_options_from(args, completion=True)
    params = SamplingParams(max_tokens=args.max_tokens)
    if args.endpoint:
        client, fim = endpoint_completion_client(args.endpoint, args.api_key)
        print(fim.reason, file=sys.stderr)
        try:
            middle, stats = complete_middle(client, prefix, suffix, language, params)
        finally:
            client.close()
    else:
        with open_client(options, None, args.api_key) as client:
            middle, stats = complete_middle(client, prefix, suffix, language, params)
    if args.json:
        sys.stdout.write(answer_json(middle, stats) + "\n")
    else:
        sys.stdout.write(middle)
    sys.stdout.flush()
    return 0
