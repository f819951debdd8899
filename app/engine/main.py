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
import dataclasses
import json
import logging
import os
import socket
import sys
import threading
from collections.abc import Callable
from typing import Any

from app.protocol.options import KV_CACHE_TYPES, LoadOptions
from app.protocol.startup_marks import FAILED_MARK, READY_MARK
from app.utils.errors import DscoderError, EngineError


def build_arg_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dscoder-engine", description="DeepSeek-Coder Desktop engine process")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--api-key", default=os.environ.get("DSCODER_ENGINE_API_KEY"))
    parser.add_argument(
        "--keyless-loopback",
        action="store_true",
        help="let requests that carry no key in (for Ollama's clients); only on a loopback address",
    )
    parser.add_argument("--watch-stdin", action="store_true", help="exit when stdin closes (the parent died)")
    # One flag per load option, exactly as LoadOptions.to_argv() writes them.
    defaults = LoadOptions(model_path="")
    for f in dataclasses.fields(LoadOptions):
        flag = "--" + f.name.replace("_", "-")
        default = getattr(defaults, f.name)
        if f.name == "model_path":
            parser.add_argument(flag, required=True)
        elif f.name == "kv_cache_type":
            parser.add_argument(flag, choices=KV_CACHE_TYPES, default=default)
        elif isinstance(default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default)
        else:
            parser.add_argument(flag, type=type(default), default=default)
    return parser


def options_from_args(args: argparse.Namespace) -> LoadOptions:
    return LoadOptions(**{f.name: getattr(args, f.name) for f in dataclasses.fields(LoadOptions)})


QUIT_SAVE_S = 4.0  # at quit, the prompt states are written for this long at most (the app waits 5 s)


class _Running:
    """The model being served, for the stdin watcher to close at quit."""

    model: Any = None


def _exit_when_stdin_closes() -> None:
    def watch() -> None:
        try:
            while sys.stdin.buffer.read(1024):
                pass
        except (OSError, ValueError):
            pass
        # The app quit (or died): stop the generations, keep the prompt states for the next
        # start, and leave; no orphan engine. A crash in the save must not keep it alive.
        model = _Running.model
        if model is not None:
            try:
                model.close(save_timeout=QUIT_SAVE_S)
            except Exception:  # noqa: BLE001 - leaving matters more than the save
                logging.getLogger(__name__).exception("closing the model at quit failed")
        os._exit(0)

    threading.Thread(target=watch, name="stdin-watch", daemon=True).start()


def _announce(mark: str, payload: dict[str, Any]) -> None:
    sys.stdout.write(f"{mark} {json.dumps(payload)}\n")
    sys.stdout.flush()


def check_listen(host: str, api_key: str | None, keyless: bool) -> None:
    """Only a loopback address may serve without a key: anything else reaches other machines."""
    from app.config.validation import is_loopback

    if not is_loopback(host) and (keyless or not api_key):
        raise EngineError(
            f"Serving on {host} reaches other machines, so every request must carry the API key",
            "Set an API key, or listen on 127.0.0.1",
        )


def serve(
    options: LoadOptions,
    host: str,
    port: int,
    api_key: str | None,
    on_ready: Callable[[int, dict[str, Any]], None] | None = None,
    keyless: bool = False,
) -> None:
    """Load the model, bind, announce readiness, serve until stopped."""
    from app.engine.runtime import EngineModel

    check_listen(host, api_key, keyless)
    model = EngineModel(options)
    _Running.model = model
    try:
        _serve_model(model, host, port, api_key, on_ready, keyless)
    finally:
        model.close()  # saves the prompt states (`dscoder serve` stopped with Ctrl+C)


def _serve_model(
    model: Any,
    host: str,
    port: int,
    api_key: str | None,
    on_ready: Callable[[int, dict[str, Any]], None] | None,
    keyless: bool,
) -> None:
    import uvicorn

    from app.engine.server import create_app

    app = create_app(model, api_key, keyless)
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
            # The ready line goes to the parent that started the engine (it knows the paths);
            # clients over HTTP get public_info (app.engine.access).
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
            keyless=args.keyless_loopback,
        )
    except DscoderError as exc:
        _announce(FAILED_MARK, {"what": exc.what, "todo": exc.todo, "kind": type(exc).__name__})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
