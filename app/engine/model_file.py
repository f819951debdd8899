"""Why a model file failed to load, in words a person can act on.

llama.cpp answers every unreadable file with the same "failed to load model". After
such a failure (never before a load: reading a large header in Python takes seconds)
the engine reads the GGUF header with the `gguf` package and compares the size the
tensor table implies with the size on disk, so a cut-off download says so, with both
sizes.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType, GGUFReader

from app.utils.errors import DscoderError, EngineError, ModelFileError
from app.utils.units import exact_file_size

VERIFY_HINT = "Download it again, or verify it (Model Manager, or `dscoder models verify`)"


class _TensorTableReader(GGUFReader):
    """GGUFReader that reads the header and tensor table but maps no tensor data, so a
    file cut short in its data still tells where its data should end (`data_end`)."""

    data_end = 0

    def _build_tensors(self, start_offs: int, fields: list[Any]) -> None:
        end = start_offs
        for field in fields:
            _name_len, _name, _n_dims, dims, raw_dtype, offset = field.parts
            block, type_size = GGML_QUANT_SIZES[GGMLQuantizationType(int(raw_dtype[0]))]
            n_bytes = int(np.prod(dims, dtype=np.uint64)) * type_size // block
            end = max(end, start_offs + int(offset[0]) + n_bytes)
        self.data_end = end


def expected_size(path: str) -> int | None:
    """The file size the GGUF header implies, or None when the header itself is cut short."""
    try:
        reader = _TensorTableReader(path, "r")
    except (ValueError, IndexError, KeyError, OverflowError, UnicodeDecodeError, TypeError):
        return None
    try:
        return int(reader.data_end)
    finally:
        mm = getattr(reader.data, "_mmap", None)
        del reader
        if mm is not None:
            try:
                mm.close()
            except (BufferError, ValueError):
                pass


def load_failure(path: str, cause: Exception) -> DscoderError:
    """The error to show when llama.cpp could not load `path`."""
    name = os.path.basename(path)
    try:
        on_disk = os.path.getsize(path)
    except OSError as exc:
        return ModelFileError(f"Cannot read the model file {name}: {exc.strerror or exc}", "Check the file")
    implied = expected_size(path)
    if implied is None:
        return ModelFileError(
            f"The model file {name} is truncated or damaged: it ends after {exact_file_size(on_disk)}, inside its header, "
            "so even the size it should have cannot be read",
            VERIFY_HINT,
        )
    if implied > on_disk:
        return ModelFileError(
            f"The model file {name} is truncated: its header describes {exact_file_size(implied)} "
            f"but the file on disk has {exact_file_size(on_disk)}, {on_disk / implied:.0%} of it",
            VERIFY_HINT,
        )
    return EngineError(f"llama.cpp could not load {name}: {cause}", "The engine's log has details")
