"""A lean reader of a GGUF file's header: its key/value metadata and its tensor table.

Why not `gguf.GGUFReader`: it builds a numpy view for every element of every array, so a
model with a 150,000-token vocabulary (Qwen2.5, DeepSeek-Coder-V2) takes seconds of CPU
and tens of MB to open, and the app reads headers on the load path (the memory check
before the engine starts, the record of a load). This reader walks the same format
(https://github.com/ggml-org/ggml/blob/master/docs/gguf.md) once and keeps only what the
app reads: scalar values, short arrays, the vocabulary's size and the ids of a few token
texts it looks for; long arrays (token scores, merges) are skipped over. The quantization
block sizes come from the `gguf` package, so only the container format is read here.
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SHORT_ARRAY = 4096  # numeric arrays up to this long are kept (per-layer head counts...); longer ones skipped
DEFAULT_ALIGNMENT = 32
# GGUF value types -> struct formats (little-endian); 8 is a string, 9 an array.
_SCALAR = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9
TOKENS_KEY = "tokenizer.ggml.tokens"


@dataclass(frozen=True)
class TensorEntry:
    name: str
    shape: tuple[int, ...]  # GGUF order: ne0 first
    type: int  # a GGMLQuantizationType value
    data_offset: int  # from the start of the file
    n_elements: int
    n_bytes: int
    type_name: str = ""  # the GGMLQuantizationType's name: "Q4_K", "F32", ...


@dataclass
class GgufHeader:
    version: int
    fields: dict[str, Any] = field(default_factory=dict)  # key -> value; a skipped array reads as None
    token_count: int = 0  # the length of tokenizer.ggml.tokens
    token_ids: dict[str, int] = field(default_factory=dict)  # wanted token text -> its first id
    tensors: list[TensorEntry] = field(default_factory=list)


class _Cursor:
    def __init__(self, data: Any) -> None:
        self.data = data
        self.pos = 0

    def unpack(self, fmt: str) -> Any:
        value = struct.unpack_from(fmt, self.data, self.pos)[0]
        self.pos += struct.calcsize(fmt)
        return value

    def raw_string(self) -> bytes:
        length = self.unpack("<Q")
        if self.pos + length > len(self.data):
            raise ValueError("a string runs past the end of the file")
        value = bytes(self.data[self.pos : self.pos + length])
        self.pos += length
        return value

    def string(self) -> str:
        return self.raw_string().decode("utf-8")

    def skip_strings(self, count: int) -> None:
        for _ in range(count):
            self.pos += struct.unpack_from("<Q", self.data, self.pos)[0] + 8
        if self.pos > len(self.data):
            raise ValueError("a string array runs past the end of the file")


def read_header(path: Path, wanted_tokens: Iterable[str] = ()) -> GgufHeader:
    """Parse `path`'s header. Raises ValueError (or struct.error) when it is cut short or corrupt."""
    wanted = {text.encode("utf-8"): text for text in wanted_tokens}
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        cursor = _Cursor(data)
        if bytes(data[:4]) != b"GGUF":
            raise ValueError("not a GGUF file")
        cursor.pos = 4
        header = GgufHeader(version=cursor.unpack("<I"))
        if header.version < 2:
            raise ValueError(f"GGUF version {header.version} is too old (llama.cpp reads version 2 and 3)")
        tensor_count, kv_count = cursor.unpack("<Q"), cursor.unpack("<Q")
        for _ in range(kv_count):
            key = cursor.string()
            value_type = cursor.unpack("<I")
            if key == TOKENS_KEY and value_type == _ARRAY:
                header.token_count = _read_tokens(cursor, wanted, header.token_ids)
                header.fields[key] = None
            else:
                header.fields[key] = _read_value(cursor, value_type)
        header.tensors = _read_tensors(cursor, tensor_count, len(data), header.fields)
    return header


def _read_value(cursor: _Cursor, value_type: int) -> Any:
    if value_type in _SCALAR:
        return cursor.unpack(_SCALAR[value_type])
    if value_type == _STRING:
        return cursor.raw_string().decode("utf-8", errors="replace")
    if value_type != _ARRAY:
        raise ValueError(f"unknown GGUF value type {value_type}")
    element_type, count = cursor.unpack("<I"), cursor.unpack("<Q")
    if element_type == _STRING:
        if count > SHORT_ARRAY:
            cursor.skip_strings(count)
            return None
        return [cursor.raw_string().decode("utf-8", errors="replace") for _ in range(count)]
    if element_type not in _SCALAR:
        raise ValueError(f"unsupported GGUF array of type {element_type}")
    fmt = _SCALAR[element_type]
    size = struct.calcsize(fmt)
    if count > SHORT_ARRAY:
        cursor.pos += size * count
        return None
    values = list(struct.unpack_from(f"<{count}{fmt[1:]}", cursor.data, cursor.pos))
    cursor.pos += size * count
    return values


def _read_tokens(cursor: _Cursor, wanted: dict[bytes, str], found: dict[str, int]) -> int:
    """Walk the vocabulary's strings once, noting the ids of the wanted texts; returns its size."""
    element_type, count = cursor.unpack("<I"), cursor.unpack("<Q")
    if element_type != _STRING:
        raise ValueError("tokenizer.ggml.tokens is not a list of strings")
    data, pos = cursor.data, cursor.pos
    lengths = {len(text) for text in wanted}
    for index in range(count):
        length = struct.unpack_from("<Q", data, pos)[0]
        pos += 8
        if length in lengths:
            text = wanted.get(bytes(data[pos : pos + length]))
            if text is not None and text not in found:
                found[text] = index
        pos += length
    if pos > len(data):
        raise ValueError("the vocabulary runs past the end of the file")
    cursor.pos = pos
    return count


def _read_tensors(cursor: _Cursor, count: int, file_size: int, fields: dict[str, Any]) -> list[TensorEntry]:
    infos = []
    for _ in range(count):
        name = cursor.string()
        n_dims = cursor.unpack("<I")
        shape = tuple(cursor.unpack("<Q") for _ in range(n_dims))
        infos.append((name, shape, cursor.unpack("<I"), cursor.unpack("<Q")))
    from gguf import GGML_QUANT_SIZES, GGMLQuantizationType  # numpy with it: only when a header is read

    alignment = fields.get("general.alignment") or DEFAULT_ALIGNMENT
    data_start = -(-cursor.pos // alignment) * alignment
    tensors = []
    for name, shape, tensor_type, offset in infos:
        ggml_type = GGMLQuantizationType(tensor_type)
        block, type_size = GGML_QUANT_SIZES[ggml_type]
        n_elements = 1
        for dim in shape:
            n_elements *= dim
        n_bytes = n_elements * type_size // block
        tensors.append(TensorEntry(name, shape, tensor_type, data_start + offset, n_elements, n_bytes, ggml_type.name))
    return tensors
