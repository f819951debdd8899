"""`dscoder ask`: stream a chat reply to stdout."""

from __future__ import annotations

import argparse
import sys

from app.commands._common import answer_json, load_options_from
from app.llm.connect import open_client
from app.protocol.options import SamplingParams
from app.utils.errors import DscoderError


def run(args: argparse.Namespace) -> int:
    prompt = sys.stdin.read() if args.prompt == "-" else args.prompt
    if not prompt.strip():
        raise DscoderError("The prompt is empty", "Pass a message, or '-' to read it from stdin")
    messages = ([{"role": "system", "content": args.system}] if args.system else []) + [
        {"role": "user", "content": prompt}
    ]
    params = SamplingParams(temperature=args.temperature, top_p=args.top_p, max_tokens=args.max_tokens, seed=args.seed)
    options = None if args.endpoint else load_options_from(args)
    parts: list[str] = []
    stats = None
    with open_client(options, args.endpoint, args.api_key) as client:
        for event in client.stream_chat(messages, params):
            if event.text:
                parts.append(event.text)
                sys.stdout.write(event.text)
                sys.stdout.flush()
            elif event.note:
                print(f"note: {event.note}", file=sys.stderr)
            if event.stats:
                stats = event.stats
    if args.json and stats is not None:
        sys.stdout.write("\n" + answer_json("".join(parts), stats) + "\n")
    elif parts and not "".join(parts).endswith("\n"):
        sys.stdout.write("\n")
    return 0
