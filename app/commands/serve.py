"""`dscoder serve`: run the engine in the foreground for other tools: editors through
OpenAI's, Ollama's or llama-server's API (docs/editors.md), scripts.

On a loopback address (the default) the key is optional, since Ollama's clients send
none; on any other address every request needs it.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from dataclasses import replace

from app.config.settings import Settings, load_settings
from app.config.validation import is_loopback
from app.llm.supervisor import check_model_file
from app.models.planning.preflight import plan_and_check_load
from app.protocol.options import MIB, LoadOptions, load_options_for
from app.utils.allocator import limit_malloc_growth


def model_id(path: str) -> str:
    """The name clients use for the model (the file name without .gguf; see app.engine.streaming)."""
    return os.path.splitext(os.path.basename(path))[0]


def serve_options(args: argparse.Namespace, settings: Settings) -> LoadOptions:
    """What the engine loads with: the window's options from the settings file (batch sizes,
    threads, KV type, flash attention, drafting, caches), where a flag given overrides one."""
    options = load_options_for(
        settings, args.model, n_ctx=args.ctx or None, n_gpu_layers=args.gpu_layers, n_threads=args.threads
    )
    flags = {
        "completion_ctx": args.completion_ctx,
        "kv_cache_type": args.kv_cache_type,
        "prompt_cache_bytes": None if args.prompt_cache_mib is None else (args.prompt_cache_mib * MIB or -1),
        "prompt_cache_spill_bytes": None
        if args.prompt_cache_disk_mib is None
        else max(0, args.prompt_cache_disk_mib) * MIB,
    }
    return replace(options, **{name: value for name, value in flags.items() if value is not None})


def run(args: argparse.Namespace) -> int:
    # The engine runs in this process: its code is imported only now (see app/cli.py).
    from app.engine.main import serve

    check_model_file(args.model)
    api_key = args.api_key or secrets.token_urlsafe(24)
    options = plan_and_check_load(serve_options(args, load_settings()))
    keyless = is_loopback(args.host) and not args.require_key
    if not is_loopback(args.host):
        print(f"warning: serving on {args.host} makes the model reachable from other machines", file=sys.stderr)

    def ready(port: int, info: dict[str, object]) -> None:
        host = f"[{args.host}]" if ":" in args.host else args.host
        base = f"http://{host}:{port}"
        print(f"Serving {info.get('model_name')} as {model_id(str(info.get('model_path') or ''))}", flush=True)
        print(f"  OpenAI:       {base}/v1", flush=True)
        print(f"  Ollama:       {base} (model name: dscoder)", flush=True)
        print(f"  llama-server: {base}/infill", flush=True)
        note = " (optional for clients on this computer)" if keyless else " (every request must send it)"
        print(f"API key: {api_key}{note}", flush=True)
        print("Press Ctrl+C to stop.", flush=True)

    limit_malloc_growth()  # the engine runs in this process: the supervisor's malloc settings, set here
    serve(options, args.host, args.port, api_key, on_ready=ready, keyless=keyless)
    return 0
