"""Everything the app asks the Hugging Face hub, through `huggingface_hub`.

The endpoint, token and offline switch are read at call time (not when
`huggingface_hub` was imported), so `HF_ENDPOINT`, `HF_TOKEN` and `HF_HUB_OFFLINE`
set after start-up, and the app's own settings, take effect. Proxy variables
(`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`) are honoured by the HTTP
client `huggingface_hub` uses. Every failure leaves here as a `DscoderError` that says
what happened and what to do.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass

import httpx2
from huggingface_hub import HfApi, constants, hf_hub_url
from huggingface_hub.errors import (
    EntryNotFoundError,
    GatedRepoError,
    HfHubHTTPError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.hf_api import RepoFile

from app.config.settings import Settings, load_settings
from app.utils.errors import DscoderError

# Transport failures worth a reconnect: the peer vanished, timed out or cut the body short.
TRANSIENT_NETWORK_ERRORS: tuple[type[Exception], ...] = (
    httpx2.TimeoutException,
    httpx2.NetworkError,
    httpx2.RemoteProtocolError,
    httpx2.ProxyError,
)
# Status codes that say "try again later" rather than "this will never work".
TRANSIENT_STATUS_CODES = frozenset({408, 425, 429, 500, 502, 503, 504})

_TRUE = {"1", "on", "yes", "true"}

log = logging.getLogger(__name__)


def _saved_token() -> str | None:
    """The hub token saved in the settings dialog (keyring or the 0600 secrets file)."""
    from app.utils.secrets import HUB_TOKEN, default_secret_store

    try:
        return default_secret_store().get(HUB_TOKEN) or None
    except Exception:  # noqa: BLE001 - a broken keyring must not block downloads
        log.warning("could not read the saved hub token", exc_info=True)
        return None


@dataclass(frozen=True)
class HubConfig:
    """Where the hub is and whether the app may talk to it."""

    endpoint: str
    token: str | None
    offline: bool
    offline_reason: str = ""

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> HubConfig:
        settings = settings if settings is not None else load_settings()
        endpoint = (settings.hub_endpoint or os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")
        token = os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN") or _saved_token()
        reason = ""
        if settings.hub_offline:
            reason = "the app's offline mode is on"
        elif os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE:
            reason = "HF_HUB_OFFLINE is set"
        elif constants.is_offline_mode():
            reason = "huggingface_hub is in offline mode (HF_HUB_OFFLINE was set when the app started)"
        return cls(endpoint=endpoint, token=token, offline=bool(reason), offline_reason=reason)

    def require_online(self, action: str) -> None:
        """Refuse before any connection is attempted when the hub is off limits."""
        if self.offline:
            raise DscoderError(
                f"Cannot {action}: {self.offline_reason}",
                "Turn off offline mode in Settings (and unset HF_HUB_OFFLINE) to use the hub, "
                "or import a GGUF file you already have with `dscoder models import PATH`",
            )

    def api(self) -> HfApi:
        # token=False: no token from the local login cache either, only HF_TOKEN when set.
        return HfApi(endpoint=self.endpoint, token=self.token or False)

    def auth_headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"} if self.token else {}


@dataclass(frozen=True)
class RemoteFile:
    """One file of a hub repo at a revision: its size and (for LFS files) sha256."""

    name: str
    size: int
    sha256: str | None


@dataclass(frozen=True)
class HubRepo:
    """A hub repo found by search, with its GGUF files."""

    repo_id: str
    downloads: int | None
    likes: int | None
    files: tuple[RemoteFile, ...]


def resolve_url(config: HubConfig, repo: str, filename: str, revision: str) -> str:
    return hf_hub_url(repo, filename, revision=revision, endpoint=config.endpoint)


def remote_files(config: HubConfig, repo: str, names: Iterable[str], revision: str) -> dict[str, RemoteFile]:
    """Size and LFS sha256 of each named file at the pinned revision (paths-info API)."""
    names = list(names)
    config.require_online(f"look up {', '.join(names)} in {repo}")
    try:
        entries = config.api().get_paths_info(repo, names, revision=revision)
    except Exception as exc:  # noqa: BLE001 - translated into a user message right here
        raise hub_error(
            exc, config, repo=repo, revision=revision, filename=names[0] if len(names) == 1 else None
        ) from exc
    found = {entry.path: _remote_file(entry) for entry in entries if isinstance(entry, RepoFile)}
    missing = [name for name in names if name not in found]
    if missing:
        raise DscoderError(
            f"{', '.join(missing)} was not found in {repo} at revision {revision}",
            "Check the file name and revision on the repository's page (or with `dscoder models search`)",
        )
    return found


def _remote_file(entry: RepoFile) -> RemoteFile:
    sha256 = entry.lfs.sha256 if entry.lfs is not None else None
    return RemoteFile(name=entry.path, size=int(entry.size), sha256=sha256)


def search_gguf_repos(config: HubConfig, query: str = "deepseek-coder", limit: int = 20) -> list[HubRepo]:
    """Hub repos matching `query` that hold GGUF files, each with its GGUF files and sizes."""
    config.require_online("search the hub")
    api = config.api()
    repos: list[HubRepo] = []
    try:
        for model in api.list_models(search=query, filter="gguf", sort="downloads", limit=limit):
            files = tuple(
                _remote_file(entry)
                for entry in api.list_repo_tree(model.id, recursive=True)
                if isinstance(entry, RepoFile) and _is_gguf_name(entry.path)
            )
            if files:
                repos.append(HubRepo(model.id, model.downloads, model.likes, files))
    except DscoderError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise hub_error(exc, config, repo=None, revision=None, filename=None) from exc
    return repos


def _is_gguf_name(name: str) -> bool:
    return name.endswith(".gguf") or re.search(r"\.gguf\.part\d+of\d+$", name) is not None


def http_status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def hub_error(
    exc: BaseException,
    config: HubConfig,
    *,
    repo: str | None,
    revision: str | None,
    filename: str | None,
) -> DscoderError:
    """One clear message for a failed hub call."""
    if isinstance(exc, DscoderError):
        return exc
    what_file = f"{filename} from {repo}" if filename and repo else (repo or "the hub")
    if isinstance(exc, OfflineModeIsEnabled):
        return DscoderError(
            f"Cannot reach the hub for {what_file}: huggingface_hub is in offline mode",
            "Unset HF_HUB_OFFLINE and restart the app to download models",
        )
    refused = _refusal(exc, config, repo, revision, filename)
    return refused or _transport_error(exc, config, what_file)


def _refusal(
    exc: BaseException, config: HubConfig, repo: str | None, revision: str | None, filename: str | None
) -> DscoderError | None:
    """The hub answered no: missing, private, gated or unknown revision."""
    status = http_status(exc)
    if isinstance(exc, RepositoryNotFoundError) and not isinstance(exc, GatedRepoError) and status == 401:
        # The hub answers 401 alike for missing, private and gated repos.
        return DscoderError(
            f"The repository {repo} was not found on {config.endpoint}, or it is private or gated (HTTP 401)",
            "Check the repository name; for a private or gated repo, set HF_TOKEN to an access token that can read it",
        )
    if isinstance(exc, GatedRepoError) or status in (401, 403):
        return DscoderError(
            f"The hub refused access to {repo or 'the repository'} (HTTP {status or 401}): "
            "it is gated or private, or the token is not accepted",
            "Accept the model's license on its hub page, then set HF_TOKEN to an access token with read permission",
        )
    if isinstance(exc, RevisionNotFoundError):
        return DscoderError(
            f"Revision {revision} of {repo} does not exist on {config.endpoint}",
            "Check the revision (a branch, tag or commit id)",
        )
    if isinstance(exc, RepositoryNotFoundError) or (status == 404 and not filename):
        return DscoderError(
            f"The repository {repo} was not found on {config.endpoint} (HTTP 404)",
            "Check the repository name; if it is private, set HF_TOKEN to a token that can read it",
        )
    if isinstance(exc, EntryNotFoundError) or status == 404:
        return DscoderError(
            f"{filename or 'The file'} was not found in {repo} at revision {revision} (HTTP 404)",
            "Check the repository, file name and revision",
        )
    return None


def _transport_error(exc: BaseException, config: HubConfig, what_file: str) -> DscoderError:
    """The hub could not be reached, or failed on its side."""
    status = http_status(exc)
    if status is not None and status >= 500:
        return DscoderError(
            f"The hub answered with a server error (HTTP {status}) for {what_file}",
            "The hub may be down: try again later, or set HF_ENDPOINT to a mirror",
        )
    if isinstance(exc, HfHubHTTPError):
        return DscoderError(
            f"The hub refused the request for {what_file} (HTTP {status})",
            "Try again later; if it keeps failing, check the repository on the hub's website",
            detail=str(exc),
        )
    if isinstance(exc, httpx2.ProxyError):
        return DscoderError(
            f"The proxy refused the connection to {config.endpoint}: {exc}",
            "Check HTTPS_PROXY / HTTP_PROXY, or unset them",
        )
    if isinstance(exc, TRANSIENT_NETWORK_ERRORS) or isinstance(exc, OSError):
        return DscoderError(
            f"Cannot connect to {config.endpoint}: {exc or type(exc).__name__}",
            "Check your network connection and proxy settings (or HF_ENDPOINT), then try again",
        )
    return DscoderError(f"The hub request for {what_file} failed: {exc}", "Try again later", detail=repr(exc))
