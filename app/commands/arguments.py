"""The arguments of every `dscoder` command, apart from the code that runs them.

Building the parser must stay cheap and import nothing heavy: `dscoder` (the window) and
`dscoder --version` build it too. So each builder here only adds arguments and names the
function that runs the command (`handler`); app/cli.py imports the command's module when,
and only when, that command runs. The commands that start an engine in their own process
(`serve`, `probe --gpu-child`, `probe --speed-child`) thereby keep `app.engine` out of every
other process.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from app.config import sampling
from app.loop.tries import DEFAULT_FEEDBACK_TRIES
from app.models.planning.purposes import PURPOSES
from app.protocol.options import GPU_LAYERS_HELP, KV_CACHE_TYPES, gpu_layers_arg

Parser = argparse.ArgumentParser


def add_model_options(parser: Parser) -> None:
    """The options of the commands that load a model (ask, complete)."""
    parser.add_argument("--model", metavar="PATH", help="a .gguf model file (default: the model chosen in the app)")
    parser.add_argument("--ctx", type=int, default=None, metavar="N", help="context size in tokens")
    parser.add_argument(
        "--gpu-layers",
        type=gpu_layers_arg,
        default=None,
        metavar="N|auto|all",
        help=GPU_LAYERS_HELP + " (default: the app's setting)",
    )
    parser.add_argument(
        "--threads", type=int, default=None, metavar="N", help="CPU threads (default: llama.cpp's choice)"
    )
    parser.add_argument(
        "--endpoint", metavar="URL", help="use a remote OpenAI-compatible server (base URL ending in /v1)"
    )
    parser.add_argument("--api-key", metavar="K", help="API key for --endpoint")


def gui(parser: Parser) -> None:
    parser.add_argument("files", nargs="*", metavar="FILE", help="files to open in the editor")


def ask(parser: Parser) -> None:
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


def complete(parser: Parser) -> None:
    parser.add_argument("--prefix-file", required=True, metavar="F")
    parser.add_argument("--suffix-file", required=True, metavar="F")
    parser.add_argument("--language", metavar="LANG", help="language for the stop rules (default: from the file name)")
    parser.add_argument(
        "--context-file",
        action="append",
        default=[],
        metavar="F",
        help="another file to put in the prompt as the editor's ring buffer does (repeatable)",
    )
    parser.add_argument(
        "--path",
        metavar="P",
        help="the path of the file being completed, as the prompt names it (default: the prefix file's)",
    )
    parser.add_argument("--show-prompt", action="store_true", help="print the prompt's prefix and exit (no model)")
    parser.add_argument("--max-tokens", type=int, default=sampling.COMPLETION_MAX_TOKENS, metavar="N")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the bare text")
    add_model_options(parser)


def apply(parser: Parser) -> None:
    parser.add_argument("file", metavar="FILE", help="the file to apply to (read, never written)")
    parser.add_argument("block", metavar="BLOCK_FILE", help="the code block ('-' reads standard input)")
    parser.add_argument(
        "--line", type=int, metavar="N", help="the cursor's line (1-based): where code goes that has no place"
    )
    parser.add_argument("--diff", action="store_true", help="print a unified diff instead of the whole new text")
    parser.add_argument("--language", metavar="LANG", help="the file's language (default: from its name)")


def serve(parser: Parser) -> None:
    parser.add_argument("--model", required=True, metavar="PATH")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080, metavar="N")
    parser.add_argument(
        "--api-key",
        metavar="K",
        help="the key clients send (default: a random one, printed); optional for clients on 127.0.0.1",
    )
    parser.add_argument(
        "--require-key",
        action="store_true",
        help="check the key on 127.0.0.1 too (a shared computer); other addresses always need it",
    )
    # Every load flag defaults to the settings file's value (the window's), so `serve` loads
    # the model as the window does: a flag given overrides that one setting.
    parser.add_argument(
        "--ctx", type=int, metavar="N", help="the context's tokens (default: the settings file's; 0 there: 4096)"
    )
    parser.add_argument(
        "--completion-ctx",
        type=int,
        metavar="N",
        help="the completion context's tokens (editor FIM with other files' chunks; default 2048, at most --ctx)",
    )
    parser.add_argument(
        "--gpu-layers",
        type=gpu_layers_arg,
        metavar="N|auto|all",
        help=GPU_LAYERS_HELP + " (default: the settings file's, automatic unless changed)",
    )
    parser.add_argument("--threads", type=int, metavar="N", help="decode threads (default: the settings file's)")
    parser.add_argument(
        "--kv-cache-type", choices=KV_CACHE_TYPES, help="the KV cache's type (default: the settings file's, f16)"
    )
    parser.add_argument(
        "--prompt-cache-mib",
        type=int,
        default=None,
        metavar="N",
        help="RAM for recent prompts' states (default: the settings file's; 0 there: 10%% of RAM, at most 2 GiB)",
    )
    parser.add_argument(
        "--prompt-cache-disk-mib",
        type=int,
        default=None,
        metavar="N",
        help="disk for prompt states kept across restarts, all models together (default: the settings file's; 0: off)",
    )


def probe(parser: Parser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--purpose", choices=PURPOSES, default="chat", help="what the model is for (default: chat)")
    parser.add_argument(
        "--ctx-cap", type=int, default=None, metavar="N", help="largest context to plan for (default: 16384)"
    )
    parser.add_argument("--measure", action="store_true", help="measure this machine's speed again")
    # The frozen build's children run as `dscoder probe --gpu-child` and `dscoder probe --speed-child ...`.
    parser.add_argument("--gpu-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--speed-child", nargs=argparse.REMAINDER, default=None, help=argparse.SUPPRESS)


def estimate(parser: Parser) -> None:
    parser.add_argument("--model", required=True, metavar="PATH|CATALOG_ID", help="a .gguf file or a catalog id")
    parser.add_argument("--ctx", type=int, default=4096, metavar="N", help="context size in tokens (default: 4096)")
    parser.add_argument(
        "--gpu-layers",
        type=gpu_layers_arg,
        default=0,
        metavar="N|auto|all",
        help=GPU_LAYERS_HELP + "; auto plans for this machine's GPUs and needs a .gguf file (default: 0)",
    )
    parser.add_argument("--kv-type", choices=KV_CACHE_TYPES, default="f16", help="KV cache type (default: f16)")
    parser.add_argument("--batch", type=int, default=None, metavar="N", help="n_batch (default: from settings)")
    parser.add_argument("--ubatch", type=int, default=None, metavar="N", help="n_ubatch (default: from settings)")
    parser.add_argument("--flash-attn", action="store_true", default=None, help="assume flash attention")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def models(parser: Parser) -> None:
    parser.set_defaults(handler="run_catalog", json=False)
    actions = parser.add_subparsers(dest="models_command", metavar="ACTION")

    def action(name: str, help_text: str, handler: str) -> Parser:
        sub = actions.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:] + ".")
        sub.add_argument("--json", action="store_true", help="print JSON instead of text")
        sub.set_defaults(handler=handler)
        return sub

    action("list", "list the models in the models folder", "run_list")
    action("catalog", "list the DeepSeek-Coder models the app offers", "run_catalog")
    download = action("download", "download a catalog model, or a file from a hub repo", "run_download")
    download.add_argument(
        "catalog_id", nargs="?", metavar="CATALOG_ID", help="for example deepseek-coder-6.7b-instruct:Q4_K_M"
    )
    download.add_argument(
        "--repo", metavar="R", help="a hub repo, for example TheBloke/deepseek-coder-6.7B-instruct-GGUF"
    )
    download.add_argument("--file", metavar="F", help="the file in the repo (a shard or part brings its whole set)")
    download.add_argument("--revision", metavar="REV", default=None, help="branch, tag or commit (default: main)")
    download.add_argument("--sha256", metavar="H", help="the file's expected sha256 (default: the hub's LFS hash)")
    verify = action("verify", "hash an installed model again and compare it with its reference", "run_verify")
    verify.add_argument("model", metavar="MODEL", help="path, file name or catalog id")
    remove = action("remove", "delete an installed model (a referenced import is only forgotten)", "run_remove")
    remove.add_argument("model", metavar="MODEL", help="path, file name or catalog id")
    imported = action("import", "add a GGUF file from disk to the library", "run_import")
    imported.add_argument("path", metavar="PATH", type=Path, help="the .gguf file (the first shard of a split model)")
    imported.add_argument("--reference", action="store_true", help="leave the file where it is instead of copying it")
    search = action("search", "search the hub for other DeepSeek-Coder GGUF repos", "run_search")
    search.add_argument("query", nargs="?", default="deepseek-coder", metavar="QUERY")
    search.add_argument("--limit", type=int, default=20, metavar="N")


def doctor(parser: Parser) -> None:
    parser.add_argument("--json", action="store_true", help="print a JSON list of findings")
    # `dscoder doctor --qt-child` is the child process that tries Qt (see app/diagnostics/doctor.py).
    parser.add_argument("--qt-child", action="store_true", help=argparse.SUPPRESS)


def edit(parser: Parser) -> None:
    parser.add_argument(
        "instruction", nargs="?", metavar="INSTRUCTION", help="the change to make; '-' reads it from stdin"
    )
    parser.add_argument("--instruction-file", metavar="F", help="read the instruction from a file")
    parser.add_argument("--dir", default=".", metavar="D", help="the project folder (default: the current one)")
    parser.add_argument(
        "--file",
        action="append",
        default=[],
        metavar="F",
        help="a file the edit may change, relative to D (repeatable; default: the project map picks them)",
    )
    parser.add_argument(
        "--read", action="append", default=[], metavar="F", help="a file shown as context only (repeatable)"
    )
    parser.add_argument("--test-cmd", metavar="CMD", help="the command that runs the tests, in D, after each round")
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        metavar="N",
        help="feedback rounds after the first try while the tests fail (default: 2; 0 is one shot)",
    )
    parser.add_argument(
        "--tries",
        type=int,
        default=DEFAULT_FEEDBACK_TRIES,
        metavar="K",
        help="fresh tries in a feedback round whose answer still fails; the tests pick the best"
        f" (default: {DEFAULT_FEEDBACK_TRIES}; 0: only the answer in the conversation)",
    )
    parser.add_argument(
        "--timeout", type=float, default=600.0, metavar="S", help="the limit of each test run in seconds (default: 600)"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="work and test in a temporary copy of D; print the diffs; write nothing"
    )
    parser.add_argument(
        "--max-tokens", type=int, default=sampling.CHAT_MAX_TOKENS, metavar="N", help="each answer's length limit"
    )
    parser.add_argument("--json", action="store_true", help="end with one JSON line of the figures")
    add_model_options(parser)


def check(parser: Parser) -> None:
    add_model_options(parser)
    parser.add_argument("--suite", choices=("quick", "full"), default="quick", help="quick: 24 problems; full: all 164")
    parser.add_argument(
        "--limit",
        type=int,
        default=None,
        metavar="N",
        help="only the suite's first N problems (a smoke run; kept as its own suite, apart from full checks)",
    )
    parser.add_argument("--json", action="store_true", help="end with one JSON line of the figures")
