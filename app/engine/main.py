"""The engine process entry: `python -m app.engine.main --model-path FILE ...`.

The supervisor starts this (and `dscoder serve` calls `serve()` in the foreground).
It loads the model, binds 127.0.0.1 by default, and prints one line on stdout when
it is ready:

    DSCODER_ENGINE_READY {"port": 43121, ...}

or, when loading fails with a known cause:

    DSCODER_ENGINE_FAILED {"what": "...", "todo": "..."}
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import socket
import sys
import threading
from collections.abc import Callable
from typing import Any

from app.llm.options import KV_CACHE_TYPES, LoadOptions
from app.llm.protocol import FAILED_MARK, READY_MARK
from app.utils.errors import DscoderError, EngineError


def build_arg_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dscoder-engine", description="DeepSeek-Coder Desktop engine process")
    parser.add_argument("--model-path", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--api-key", default=os.environ.get("DSCODER_ENGINE_API_KEY"))
    parser.add_argument("--watch-stdin", action="store_true", help="exit when stdin closes (the parent died)")
    defaults = LoadOptions(model_path="")
    parser.add_argument("--n-ctx", type=int, default=defaults.n_ctx)
    parser.add_argument("--n-gpu-layers", type=int, default=defaults.n_gpu_layers)
    parser.add_argument("--n-threads", type=int, default=defaults.n_threads)
    parser.add_argument("--n-batch", type=int, default=defaults.n_batch)
    parser.add_argument("--n-ubatch", type=int, default=defaults.n_ubatch)
    parser.add_argument("--flash-attn", action=argparse.BooleanOptionalAction, default=defaults.flash_attn)
    parser.add_argument("--kv-cache-type", choices=KV_CACHE_TYPES, default=defaults.kv_cache_type)
    parser.add_argument("--use-mmap", action=argparse.BooleanOptionalAction, default=defaults.use_mmap)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    return parser


def options_from_args(args: argparse.Namespace) -> LoadOptions:
    return LoadOptions(
        model_path=args.model_path,
        n_ctx=args.n_ctx,
        n_gpu_layers=args.n_gpu_layers,
        n_threads=args.n_threads,
        n_batch=args.n_batch,
        n_ubatch=args.n_ubatch,
        flash_attn=args.flash_attn,
        kv_cache_type=args.kv_cache_type,
        use_mmap=args.use_mmap,
        seed=args.seed,
    )


def _exit_when_stdin_closes() -> None:
    def watch() -> None:
        try:
            while sys.stdin.buffer.read(1024):
                pass
        except (OSError, ValueError):
            pass
        os._exit(0)  # the parent is gone: leave at once, no orphan engine

    threading.Thread(target=watch, name="stdin-watch", daemon=True).start()


def _announce(mark: str, payload: dict[str, Any]) -> None:
    sys.stdout.write(f"{mark} {json.dumps(payload)}\n")
    sys.stdout.flush()


def serve(
    options: LoadOptions,
    host: str,
    port: int,
    api_key: str | None,
    on_ready: Callable[[int, dict[str, Any]], None] | None = None,
) -> None:
    """Load the model, bind, announce readiness, serve until stopped."""
    import uvicorn

    from app.engine.runtime import EngineModel
    from app.engine.server import create_app

    model = EngineModel(options)
    app = create_app(model, api_key)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        raise EngineError(f"Could not listen on {host}:{port}: {exc.strerror}", "Choose another port") from exc
    sock.listen(64)
    bound_port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1, access_log=False)
    server = uvicorn.Server(config)

    async def run() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not task.done():
            await asyncio.sleep(0.01)
        if server.started:
            (on_ready or (lambda p, i: None))(bound_port, model.info())
        await task

    asyncio.run(run())


def main(argv: list[str] | None = None) -> int:
    args = build_arg_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if args.watch_stdin:
        _exit_when_stdin_closes()
    options = options_from_args(args)
    try:
        serve(
            options,
            args.host,
            args.port,
            args.api_key,
            on_ready=lambda port, info: _announce(READY_MARK, {"port": port, "pid": os.getpid(), "info": info}),
        )
    except DscoderError as exc:
        _announce(FAILED_MARK, {"what": exc.what, "todo": exc.todo})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
