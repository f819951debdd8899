"""Fetch one hub file into a partial file that survives pauses, drops and kill -9.

Why not `hf_hub_download`: the installed `huggingface_hub` (2.x) downloads into a
process-unique temporary file and deletes it on any failure, so nothing is left to
resume after a pause, a crash or a killed app; it also buffers 10 MB per progress
step. Here the same library's HTTP layer (`http_stream_backoff`, its shared client
with proxy support, `hf_raise_for_status` for the hub's error codes) streams into a
partial file that is opened for append, and every (re)connection asks for
`Range: bytes=<size of the partial file>-`. The partial is always a prefix of the
file, because it is only ever appended to.

Stalls: the read timeout is the stall threshold, so "no bytes for N seconds" ends the
attempt and the next one reconnects and resumes. Retries back off exponentially;
the count resets whenever an attempt brought new bytes.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx2
from huggingface_hub.errors import HfHubHTTPError
from huggingface_hub.utils import hf_raise_for_status, http_stream_backoff

from app.models.download.hub import (
    TRANSIENT_NETWORK_ERRORS,
    TRANSIENT_STATUS_CODES,
    HubConfig,
    http_status,
    hub_error,
    resolve_url,
)
from app.utils.errors import DscoderError
from app.utils.jobs import JobControl

log = logging.getLogger(__name__)

WRITE_BUFFER = 256 * 1024  # small: a killed app loses at most this much of what it received


@dataclass(frozen=True)
class RetryPolicy:
    stall_seconds: float = 30.0  # no bytes for this long: reconnect and resume
    max_attempts: int = 6  # failed attempts in a row (without new bytes) before giving up
    backoff_base: float = 1.0
    backoff_max: float = 30.0


@dataclass(frozen=True)
class FileSource:
    repo: str
    revision: str
    filename: str


def fetch_resumable(
    hub: HubConfig,
    source: FileSource,
    partial: Path,
    *,
    expected_size: int,
    control: JobControl,
    on_position: Callable[[int], None],
    policy: RetryPolicy,
) -> None:
    """Append the missing bytes of `source` to `partial` until it holds `expected_size` bytes.

    `on_position` gets the partial file's length after every chunk received.
    """
    hub.require_online(f"download {source.filename}")
    url = resolve_url(hub, source.repo, source.filename, source.revision)
    failures = 0
    delay = policy.backoff_base
    last_error: BaseException | None = None
    while True:
        control.raise_if_stopped()
        have = partial.stat().st_size if partial.exists() else 0
        if have == expected_size:
            return
        if have > expected_size:  # cannot be a prefix of the right file
            partial.unlink()
            have = 0
        try:
            gained = _one_attempt(hub, url, partial, have, control, on_position, policy)
        except TRANSIENT_NETWORK_ERRORS as exc:
            gained, last_error = _bytes_gained(partial, have), exc
            log.info("download of %s interrupted (%s); will resume", source.filename, exc)
        except HfHubHTTPError as exc:
            if http_status(exc) not in TRANSIENT_STATUS_CODES:
                raise hub_error(exc, hub, repo=source.repo, revision=source.revision, filename=source.filename) from exc
            gained, last_error = _bytes_gained(partial, have), exc
            log.info("hub answered HTTP %s for %s; will retry", http_status(exc), source.filename)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise DscoderError(
                    f"The disk filled up while downloading {source.filename}; the part already downloaded is kept",
                    f"Free some space in {partial.parent.parent} and run the download again: it resumes where it stopped",
                ) from exc
            raise
        else:
            if partial.stat().st_size >= expected_size:
                continue  # the loop head checks the size once more
            last_error = None
            log.info("connection for %s closed early; will resume", source.filename)
        if gained > 0:
            failures, delay = 0, policy.backoff_base
            continue  # it was moving: reconnect at once
        failures += 1
        if failures >= policy.max_attempts:
            raise _gave_up(hub, source, failures, last_error)
        control.sleep(delay)
        delay = min(delay * 2, policy.backoff_max)


def _bytes_gained(partial: Path, before: int) -> int:
    return (partial.stat().st_size if partial.exists() else 0) - before


def _one_attempt(
    hub: HubConfig,
    url: str,
    partial: Path,
    have: int,
    control: JobControl,
    on_position: Callable[[int], None],
    policy: RetryPolicy,
) -> int:
    headers = hub.auth_headers()
    if have:
        headers["Range"] = f"bytes={have}-"
    # Retries belong to the caller's loop (which resumes and can be interrupted), so none here.
    with http_stream_backoff(
        "GET",
        url,
        headers=headers,
        timeout=httpx2.Timeout(policy.stall_seconds),
        max_retries=0,
        retry_on_exceptions=(),
        retry_on_status_codes=(),
    ) as response:
        hf_raise_for_status(response)
        if have and response.status_code != 206:
            # The server ignored the Range header and sends the whole file: start over.
            log.info("server ignored Range for %s; restarting from byte 0", url)
            have = 0
        gained = 0
        with partial.open("r+b" if partial.exists() else "wb", buffering=WRITE_BUFFER) as handle:
            handle.seek(have)
            handle.truncate()
            for chunk in response.iter_bytes():
                if control.stop_requested:
                    break
                handle.write(chunk)
                gained += len(chunk)
                on_position(have + gained)
        control.raise_if_stopped()
        return gained


def _gave_up(hub: HubConfig, source: FileSource, attempts: int, last_error: BaseException | None) -> DscoderError:
    status = http_status(last_error) if last_error is not None else None
    if last_error is not None and status is not None and status >= 500:
        error = hub_error(last_error, hub, repo=source.repo, revision=source.revision, filename=source.filename)
        return DscoderError(f"{error.what}, {attempts} times in a row", error.todo)
    cause = f" ({last_error or type(last_error).__name__})" if last_error is not None else ""
    if isinstance(last_error, httpx2.ConnectError):
        return DscoderError(
            f"Cannot connect to {hub.endpoint} to download {source.filename}; gave up after {attempts} attempts{cause}",
            "Check your network connection and proxy settings (or HF_ENDPOINT), then run the download again",
        )
    return DscoderError(
        f"Lost the connection to {hub.endpoint} while downloading {source.filename}; "
        f"gave up after {attempts} attempts{cause}",
        "Check your network connection or proxy, then run the download again: it resumes where it stopped",
    )
