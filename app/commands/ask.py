"""`dscoder ask`: stream a chat reply to stdout."""

from __future__ import annotations

import argparse
import sys

from app.commands._common import add_model_options, answer_json, load_options_from
from app.config import sampling
from app.llm.connect import open_client
from app.llm.options import SamplingParams
from app.utils.errors import DscoderError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "ask", help="stream a chat reply to stdout", description="Stream a chat reply to stdout."
    )
    parser.add_argument("prompt", metavar="PROMPT", help="the message; '-' reads it from stdin")
    add_model_options(parser)
    parser.add_argument("--system", metavar="TEXT", help="system prompt (default: the model's own)")
    parser.add_argument("--temperature", type=float, default=sampling.TEMPERATURE, metavar="F")
    parser.add_argument("--top-p", type=float, default=sampling.TOP_P, metavar="F")
    parser.add_argument(
        "--max-tokens", type=int, default=sampling.CHAT_MAX_TOKENS, metavar="N", help="the answer's length limit"
    )
    parser.add_argument("--seed", type=int, default=None, metavar="N")
    parser.add_argument("--json", action="store_true", help="after the text, print one JSON line with the figures")
    parser.set_defaults(func=run)


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
