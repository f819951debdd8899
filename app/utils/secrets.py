"""Secrets (remote API keys, the hub token, the local server's key), never in settings.json.

They go to the system keyring through the `keyring` package when it has a working
backend (Secret Service, KWallet, macOS Keychain, Windows Credential Locker). Without
one (a headless box, a minimal desktop, keyring not installed) they go to a JSON file
in the config dir that only the user can read (mode 0600).

`DSCODER_HOME` moves all user data under one folder, which a system keyring cannot
follow; with it set, secrets use the file there, so tests never touch a real keyring.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import stat
import threading
from pathlib import Path
from typing import Any

from app.utils import paths
from app.utils.atomic import atomic_write_text
from app.utils.errors import DscoderError
from app.utils.json_files import read_json_object

log = logging.getLogger(__name__)

SERVICE = "dscoder"
SECRETS_FILE = "secrets.json"
HUB_TOKEN = "hub-token"
LOCAL_SERVER_KEY = "local-server-key"


def system_keyring() -> Any | None:
    """keyring's backend when one that really stores secrets is available, else None."""
    if os.environ.get("DSCODER_HOME"):
        return None
    try:
        import keyring
        from keyring.backends import chainer, fail, null
    except ImportError:
        return None
    try:
        backend = keyring.get_keyring()
    except Exception as exc:  # noqa: BLE001 - a broken keyring config must not stop the app
        log.warning("the system keyring is unusable: %s", exc)
        return None
    if isinstance(backend, (fail.Keyring, null.Keyring)):
        return None
    if isinstance(backend, chainer.ChainerBackend) and not backend.backends:
        return None
    return backend


class SecretStore:
    """Named secrets in the keyring `backend`, or in `file_path` when it is None."""

    def __init__(self, backend: Any | None, file_path: Path | None = None) -> None:
        self.backend = backend
        self.file_path = file_path or paths.config_dir() / SECRETS_FILE
        self._lock = threading.Lock()

    @property
    def where(self) -> str:
        """Where secrets are kept, in words for the settings dialog."""
        if self.backend is not None:
            return f"the system keyring ({type(self.backend).__module__.rsplit('.', 1)[-1]})"
        return f"{self.file_path} (readable only by you)"

    def get(self, name: str) -> str | None:
        if self.backend is not None:
            try:
                value = self.backend.get_password(SERVICE, name)
                if value is not None:
                    return str(value)
            except Exception as exc:  # noqa: BLE001 - locked or vanished keyring: use the file
                log.warning("could not read %s from the keyring: %s", name, exc)
        return self._read_file().get(name)

    def set(self, name: str, value: str | None) -> None:
        """Store `value` under `name`; None or '' removes it."""
        if not value:
            self.delete(name)
            return
        if self.backend is not None:
            try:
                self.backend.set_password(SERVICE, name, value)
            except Exception as exc:  # noqa: BLE001 - fall back to the private file
                log.warning("could not store %s in the keyring (%s); using %s", name, exc, self.file_path)
            else:
                self._drop_from_file(name)  # no stale copy outside the keyring
                return
        with self._lock:
            data = self._read_file()
            data[name] = value
            self._write_file(data)

    def delete(self, name: str) -> None:
        if self.backend is not None:
            try:
                self.backend.delete_password(SERVICE, name)
            except Exception:  # noqa: BLE001 - absent already, or keyring gone
                pass
        self._drop_from_file(name)

    # -- the private file -----------------------------------------------------------------
    def _drop_from_file(self, name: str) -> None:
        with self._lock:
            data = self._read_file()
            if name in data:
                del data[name]
                self._write_file(data)

    def _read_file(self) -> dict[str, str]:
        try:
            mode = self.file_path.stat().st_mode
            if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
                os.chmod(self.file_path, 0o600)  # someone loosened it: tighten again
        except FileNotFoundError:
            return {}
        except OSError as exc:
            log.warning("secrets file %s is unreadable (%s); its keys are not used", self.file_path, exc)
            return {}
        raw = read_json_object(self.file_path, "secrets file", "its keys are not used", log) or {}
        return {str(k): str(v) for k, v in raw.items()}

    def _write_file(self, data: dict[str, str]) -> None:
        self.file_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # Written 0600 from the first byte: the secret is never readable by others.
            atomic_write_text(self.file_path, json.dumps(data, indent=2, sort_keys=True))
        except OSError as exc:
            raise DscoderError(
                f"Could not save the secret to {self.file_path}: {exc.strerror}",
                "Check that the config folder is writable",
            ) from exc


def default_secret_store() -> SecretStore:
    return SecretStore(system_keyring())


def new_api_key() -> str:
    return "dsc-" + secrets.token_urlsafe(24)


def local_server_api_key(store: SecretStore) -> str:
    """The key clients of "Serve the loaded model" must send; made and kept on first use."""
    key = store.get(LOCAL_SERVER_KEY)
    if not key:
        key = new_api_key()
        store.set(LOCAL_SERVER_KEY, key)
    return key
