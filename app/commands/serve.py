"""`dscoder serve`: run the engine in the foreground for other tools (Continue, scripts)."""

from __future__ import annotations

import argparse
import secrets
import sys

from app.config.settings import load_settings
from app.llm.supervisor import check_model_file
from app.models.planning.preflight import plan_and_check_load
from app.protocol.options import MIB, LoadOptions


def run(args: argparse.Namespace) -> int:
    # The engine runs in this process: its code is imported only now (see app/cli.py).
    from app.engine.main import serve

    check_model_file(args.model)
    api_key = args.api_key or secrets.token_urlsafe(24)
    settings = load_settings()
    ram_mib = args.prompt_cache_mib if args.prompt_cache_mib is not None else settings.prompt_cache_bytes // MIB
    disk_mib = args.prompt_cache_disk_mib if args.prompt_cache_disk_mib is not None else settings.prompt_cache_disk_mib
    options = plan_and_check_load(
        LoadOptions(
            model_path=args.model,
            n_ctx=args.ctx,
            n_gpu_layers=args.gpu_layers,
            n_threads=args.threads,
            kv_cache_type=args.kv_cache_type,
            prompt_cache_bytes=ram_mib * MIB if ram_mib > 0 else -1,  # 0: automatic, as in the settings
            prompt_cache_spill_bytes=max(0, disk_mib) * MIB,
        )
    )
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: serving on {args.host} makes the model reachable from other machines", file=sys.stderr)

    def ready(port: int, info: dict[str, object]) -> None:
        host = f"[{args.host}]" if ":" in args.host else args.host
        print(f"Serving {info.get('model_name')} at http://{host}:{port}/v1", flush=True)
        print(f"API key: {api_key}", flush=True)
        print("Press Ctrl+C to stop.", flush=True)

    serve(options, args.host, args.port, api_key, on_ready=ready)
    return 0
