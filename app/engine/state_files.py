"""Prompt states on disk: the file format, its checks, and the folder they live in.

A state file survives engine and app restarts, so it is checked before llama.cpp sees it:
a file that is cut short, damaged, of another format version, or of another context (another
model file, other KV settings, another llama.cpp) is dropped and logged, never loaded.

    MAGIC, u32 header length, header (JSON: version, context tag, token count, state bytes,
    digest of the state), the tokens (int32, little-endian), the state bytes

The folder is `<cache>/prompt-states/<model key>/`; the model key is the file's size and a
hash of its first MiB (the GGUF header: architecture, vocabulary, tensor table), so a model
that is replaced under the same name starts with an empty folder. The disk cap is shared by
all models' folders: at start, the other models' files are trimmed, oldest first, to half of
it at most, and the loaded model may use the rest.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psutil

from app.utils.atomic import atomic_write_bytes

log = logging.getLogger(__name__)

MAGIC = b"DSCODER-PROMPT-STATE\n"
VERSION = 1
SUFFIX = ".state"
HEADER_LIMIT = 1 << 16
MODEL_KEY_BYTES = 1 << 20


class BadStateFile(ValueError):
    """A state file that must not be loaded; the message says why."""


@dataclass(frozen=True)
class StateFileHeader:
    context: str
    tokens: np.ndarray  # int32
    blob_bytes: int
    digest: str
    data_offset: int  # where the state bytes start


def model_key(model_path: str) -> str:
    """Size and hash of the start of the model file (its GGUF header)."""
    size = os.path.getsize(model_path)
    with open(model_path, "rb") as handle:
        head = handle.read(MODEL_KEY_BYTES)
    return f"{size:x}-{hashlib.blake2b(head, digest_size=8).hexdigest()}"


def state_file_name(context: str, tokens: np.ndarray) -> str:
    key = hashlib.blake2b(context.encode(), digest_size=16)
    key.update(np.ascontiguousarray(tokens, dtype="<i4").tobytes())
    return key.hexdigest() + SUFFIX


def _digest(blob: bytes | bytearray) -> str:
    return hashlib.blake2b(blob, digest_size=16).hexdigest()


def write_state_file(path: Path, context: str, tokens: np.ndarray, blob: bytes | bytearray) -> None:
    """Write atomically (a failure, a full disk included, leaves no partial file); raises OSError."""
    header = json.dumps(
        {
            "version": VERSION,
            "context": context,
            "n_tokens": len(tokens),
            "blob_bytes": len(blob),
            "digest": _digest(blob),
        }
    ).encode()
    token_bytes = np.ascontiguousarray(tokens, dtype="<i4").tobytes()
    atomic_write_bytes(path, [MAGIC, struct.pack("<I", len(header)), header, token_bytes, blob])


def read_state_header(path: Path, expected_context: str | None = None) -> StateFileHeader:
    """The header and tokens of a state file, checked against its size and `expected_context`."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            if handle.read(len(MAGIC)) != MAGIC:
                raise BadStateFile("not a prompt-state file")
            (length,) = struct.unpack("<I", handle.read(4) or b"\0\0\0\0")
            if not 0 < length <= HEADER_LIMIT:
                raise BadStateFile("its header is damaged")
            fields = json.loads(handle.read(length))
            n_tokens, blob_bytes = int(fields["n_tokens"]), int(fields["blob_bytes"])
            tokens = np.frombuffer(handle.read(4 * n_tokens), dtype="<i4").astype(np.int32)
    except (OSError, ValueError, KeyError, TypeError, struct.error) as exc:
        raise BadStateFile(f"it is unreadable ({exc})") from exc
    if fields.get("version") != VERSION:
        raise BadStateFile(f"it has format version {fields.get('version')}, not {VERSION}")
    if expected_context is not None and fields.get("context") != expected_context:
        raise BadStateFile("it belongs to another model or other context settings")
    data_offset = len(MAGIC) + 4 + length + 4 * n_tokens
    if len(tokens) != n_tokens or size != data_offset + blob_bytes:
        raise BadStateFile(f"it is {size} bytes where its header says {data_offset + blob_bytes} (cut short?)")
    return StateFileHeader(str(fields["context"]), tokens, blob_bytes, str(fields["digest"]), data_offset)


def read_state_blob(path: Path, header: StateFileHeader) -> bytes:
    """The state bytes, checked against the header's digest."""
    try:
        with open(path, "rb") as handle:
            handle.seek(header.data_offset)
            blob = handle.read(header.blob_bytes + 1)
    except OSError as exc:
        raise BadStateFile(f"it is unreadable ({exc})") from exc
    if len(blob) != header.blob_bytes or _digest(blob) != header.digest:
        raise BadStateFile("its state bytes do not match their digest (damaged or changed)")
    return blob


def state_folder(cache_root: Path, key: str, cap_bytes: int) -> tuple[Path, int]:
    """This model's folder, and the bytes it may use of the cap shared by every model's folder.

    Leftovers go first: old per-process spill folders of engines that are gone, and partial
    files of interrupted writes."""
    root = cache_root / "prompt-states"
    folder = root / f"model-{key}"
    folder.mkdir(parents=True, exist_ok=True)
    others: list[tuple[float, int, Path]] = []
    for child in root.iterdir():
        pid = child.name.partition("-")[0]
        if child.name.count("-") == 1 and pid.isdigit() and not psutil.pid_exists(int(pid)):
            shutil.rmtree(child, ignore_errors=True)  # a spill folder of an engine before persistence
            continue
        if not child.is_dir():
            continue
        for file in child.iterdir():
            if file.name.endswith(".tmp"):
                file.unlink(missing_ok=True)
            elif child != folder and file.suffix == SUFFIX:
                stat = file.stat()
                others.append((stat.st_mtime, stat.st_size, file))
    others.sort()
    other_bytes = sum(size for _, size, _ in others)
    for _, size, file in others:
        if other_bytes <= cap_bytes // 2:
            break
        file.unlink(missing_ok=True)
        other_bytes -= size
        log.info("prompt state %s removed: the disk cap is shared, and it was the oldest", file)
    return folder, max(0, cap_bytes - other_bytes)
