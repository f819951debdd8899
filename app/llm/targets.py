"""What the engine worker connects to: a local model (LoadOptions) or a remote server.

A `RemoteTarget` goes through the same worker and controller path as a local model:
"loading" it checks the server off the GUI thread (`probe_remote`: the key, the model,
and how fill-in-the-middle works there), and chat then streams from it with the same
OpenAIClient code. The local supervisor factory here also serves the loaded model to
other tools (VS Code + Continue) on a fixed port with a fixed key when the settings ask.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.config.remotes import RemoteEngine, api_key_for, find_remote
from app.config.settings import Settings
from app.config.validation import is_loopback
from app.llm.fim_formats import fim_format
from app.llm.info import FIM_OFF, FIM_RAW, EngineAccess, EngineInfo
from app.llm.remote_probe import FimSupport, check_fim_support
from app.llm.supervisor import EngineSupervisor
from app.protocol.options import AUTO_GPU_LAYERS, LoadOptions
from app.utils.errors import DscoderError

if TYPE_CHECKING:
    from app.llm.client import OpenAIClient

LOCAL_HOST = "127.0.0.1"


@dataclass(frozen=True)
class RemoteTarget:
    """A remote OpenAI-compatible engine to chat with instead of a local model."""

    remote: RemoteEngine
    api_key: str | None

    @property
    def model_path(self) -> str:  # what the status bar names while "loading"
        return self.remote.model or self.remote.name


EngineTarget = LoadOptions | RemoteTarget


def remote_target(settings: Settings) -> RemoteTarget | None:
    """The remote engine the settings select (active_engine), or None for the local one."""
    if not settings.active_engine:
        return None
    remote = find_remote(settings.remote_engines, settings.active_engine)
    return None if remote is None else RemoteTarget(remote, api_key_for(remote))


def local_server_key() -> str:
    from app.utils.secrets import default_secret_store, local_server_api_key

    return local_server_api_key(default_secret_store())


# Makes auto GPU layers a count (app.models.planning.gpu_layers.resolve_auto_gpu_layers, passed in by
# the window: the llm layer does not import the planner).
GpuLayerPlanner = Callable[[LoadOptions], LoadOptions]


def supervisor_factory(
    settings: Settings, log_path: Callable[[], Any], plan_gpu_layers: GpuLayerPlanner
) -> Callable[[LoadOptions], EngineSupervisor]:
    """Supervisors that, with "serve the loaded model" on, listen on the chosen port with the
    user's lasting key (so other tools keep working across restarts); else a random port and key.
    Called on the worker thread, so the GPU probe for "auto" layers (`plan_gpu_layers`, the
    planner's) never blocks the window; auto never reaches the engine."""

    def make(options: LoadOptions) -> EngineSupervisor:
        if options.n_gpu_layers == AUTO_GPU_LAYERS:
            options = plan_gpu_layers(options)
        if not settings.local_server_enabled:
            return EngineSupervisor(options, log_path=log_path())
        host = settings.local_server_host or LOCAL_HOST
        supervisor = EngineSupervisor(options, log_path=log_path(), host=host, port=settings.local_server_port)
        supervisor.api_key = local_server_key()
        supervisor.keyless = is_loopback(host)  # Ollama's clients send no key; other machines must
        return supervisor

    return make


def completion_client(info: EngineInfo, access: EngineAccess) -> OpenAIClient | None:
    """A client of its own for inline completion (the chat's client lives on the worker
    thread), speaking FIM the way the engine takes it; None where completion is off."""
    from app.llm.client import OpenAIClient

    if not access.base_url or info.fim_mode == FIM_OFF:
        return None
    if info.fim_mode != FIM_RAW:
        return OpenAIClient(access.base_url, access.api_key or None, access.model or None)
    client = _raw_fim_client_class()(access.base_url, access.api_key or None, access.model or None)
    client.fim = fim_format(info.fim_format)
    return client


@functools.cache
def _raw_fim_client_class() -> type:
    from app.llm.client import OpenAIClient

    class _RawFimClient(OpenAIClient):
        """Sends the model family's FIM prompts as raw text, for servers that ignore `suffix`
        or build a wrong prompt from it (app.llm.remote_probe finds out which)."""

        fim = fim_format("deepseek")

        def stream_completion(self, prompt: str, suffix: str | None = None, *args: Any, **kwargs: Any) -> Iterator[Any]:
            if suffix is None:
                return super().stream_completion(prompt, None, *args, **kwargs)
            return super().stream_completion(self.fim.prompt(prompt, suffix), None, *args, **kwargs)

    return _RawFimClient


def endpoint_completion_client(endpoint: str, api_key: str | None, model: str | None = None) -> tuple[Any, FimSupport]:
    """A completion client for a server given by its URL (`dscoder complete --endpoint`),
    speaking FIM the way the server's answers showed it takes it (app.llm.remote_probe);
    raises a DscoderError that says why when completion is unavailable there."""
    from app.llm.client import OpenAIClient

    probe = OpenAIClient(endpoint, api_key, model, read_timeout=60.0)
    try:
        fim = check_fim_support(probe, RemoteEngine("endpoint", endpoint, model or ""))
    finally:
        probe.close()
    if not fim.enabled:
        raise DscoderError(fim.reason, "Use a server and model that can fill in the middle")
    info = EngineInfo(model_name=model or endpoint, model_path=endpoint, fim_mode=fim.mode, fim_format=fim.format)
    return completion_client(info, EngineAccess(endpoint, api_key, model)), fim
