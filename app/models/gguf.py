"""What a GGUF file says about itself, read from its header without loading weights.

`read_gguf_info` reads the key/value metadata and the tensor table with the lean reader
in gguf_header.py (the tensor data is never read, long arrays are skipped over). The result is a frozen `GgufInfo` that the estimator, the planner,
the prompt builder (FIM tokens, chat template) and the model manager use.

Every failure is a `ModelFileError` that says what is wrong with the file and what
to do (download it again, pick another file).
"""

from __future__ import annotations

import logging
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.models.gguf_header import GgufHeader, read_header
from app.utils.errors import ModelFileError

log = logging.getLogger(__name__)

GGUF_MAGIC = b"GGUF"

# Token texts that llama.cpp (src/llama-vocab.cpp) recognises as FIM tokens when the
# header has no tokenizer.ggml.fim_*_token_id keys. DeepSeek's PSM order is
# begin = prefix, hole = suffix, end = middle.
FIM_PRE_TEXTS = ("<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>")
FIM_SUF_TEXTS = ("<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>")
FIM_MID_TEXTS = ("<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>")
# DeepSeek v1 ends an instruct turn with `<|EOT|>` (ASCII bars) but its GGUFs carry no
# eot key; llama.cpp's own EOT text list does not include it either.
EOT_TEXTS = ("<|EOT|>",)

# Tensors that llama.cpp places with the output layer (the "+1" of n_gpu_layers).
OUTPUT_TENSOR_PREFIXES = ("output.", "output_norm.")
TOKEN_EMBD_PREFIX = "token_embd."

_LAYER_TENSOR = re.compile(r"^blk\.(\d+)\.")


@dataclass(frozen=True)
class GgufInfo:
    """The header facts of one GGUF file. Sizes are bytes; ids are token ids."""

    path: Path
    file_size: int
    architecture: str
    name: str | None
    file_type: int | None  # general.file_type (a gguf.LlamaFileType value)
    quant: str | None  # "Q4_K_M", "Q8_0", "F16", ...; None when the header does not say
    parameter_count: int  # sum of all tensors' elements
    tensor_count: int
    tensor_data_bytes: int  # sum of all tensors' bytes (what the loader copies)
    context_length: int | None
    block_count: int
    embedding_length: int
    feed_forward_length: int | None
    head_count: int
    head_count_kv: int
    key_length: int  # per head, as the KV cache stores it (MLA files: kv_lora_rank + rope)
    value_length: int
    # deepseek2 (MLA) keys; None when absent
    kv_lora_rank: int | None
    q_lora_rank: int | None
    key_length_mla: int | None  # present only in files converted with llama.cpp's MLA layout
    value_length_mla: int | None
    rope_dimension_count: int | None
    expert_count: int | None
    expert_used_count: int | None
    expert_shared_count: int | None
    leading_dense_block_count: int | None
    vocab_size: int
    chat_template: str | None
    tokenizer_model: str | None
    tokenizer_pre: str | None
    bos_token_id: int | None
    eos_token_id: int | None
    eot_token_id: int | None
    fim_tokens: dict[str, int | None]  # keys 'pre', 'suf', 'mid'
    layer_tensor_bytes: dict[int, int]  # blk.N.* bytes per layer N
    expert_tensor_bytes: int  # bytes of routed-expert tensors (*_exps), all layers; 0 for dense models
    non_layer_tensor_bytes: dict[str, int]  # tensor name -> bytes, for token_embd, output, ...
    metadata_keys: tuple[str, ...] = field(default=(), repr=False)
    layer_type_bytes: dict[str, int] = field(default_factory=dict)  # ggml type name -> bytes, blk.* tensors
    non_layer_tensor_types: dict[str, str] = field(default_factory=dict)  # tensor name -> ggml type name

    @property
    def has_fim(self) -> bool:
        return all(self.fim_tokens.get(part) is not None for part in ("pre", "suf", "mid"))

    @property
    def is_mla(self) -> bool:
        """True when llama.cpp runs this file with MLA (one compressed KV head)."""
        return bool(self.key_length_mla and self.value_length_mla)

    @property
    def output_bytes(self) -> int:
        """Bytes of the output layer (output.weight + output_norm), which llama.cpp offloads first."""
        return sum(
            size for name, size in self.non_layer_tensor_bytes.items() if name.startswith(OUTPUT_TENSOR_PREFIXES)
        )

    @property
    def token_embd_bytes(self) -> int:
        return sum(size for name, size in self.non_layer_tensor_bytes.items() if name.startswith(TOKEN_EMBD_PREFIX))

    @property
    def output_type(self) -> str:
        """The ggml type of the output matrix: output.weight's, or token_embd's when tied ("" if unknown)."""
        types = self.non_layer_tensor_types
        return types.get("output.weight") or types.get("token_embd.weight", "")

    @property
    def has_output_tensor(self) -> bool:
        """False for tied embeddings: llama.cpp then duplicates token_embd as the output."""
        return "output.weight" in self.non_layer_tensor_bytes

    @property
    def kv_bytes_per_token_f16(self) -> int:
        """f16 KV cache bytes per token of context, as llama.cpp allocates it.

        MLA files keep only the compressed K (kv_lora_rank + rope dims) per layer:
        llama.cpp allocates no V cache for them (`has_v = !is_mla` in llama-kv-cache.cpp).
        """
        per_layer = self.head_count_kv * (self.key_length if self.is_mla else self.key_length + self.value_length)
        return self.block_count * per_layer * 2


def quant_label(file_type: int | None) -> str | None:
    """'Q4_K_M' for general.file_type 15, using gguf.LlamaFileType's names."""
    if file_type is None:
        return None
    from gguf import LlamaFileType

    try:
        name = LlamaFileType(file_type).name
    except ValueError:
        return None
    if name == "ALL_F32":
        return "F32"
    return name.removeprefix("MOSTLY_")


def read_gguf_info(path: str | Path) -> GgufInfo:
    """Read a GGUF file's header. Raises ModelFileError when it is not a usable GGUF."""
    path = Path(path).expanduser()
    shown = str(path)
    if not path.exists():
        raise ModelFileError(f"The model file {shown} does not exist", "Check the path, or download the model again")
    if path.is_dir():
        raise ModelFileError(f"{shown} is a folder, not a model file", "Choose the .gguf file inside it")
    file_size = path.stat().st_size
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except OSError as exc:
        raise ModelFileError(
            f"Cannot read the model file {shown}: {exc.strerror or exc}", "Check the file's permissions"
        ) from exc
    if file_size == 0:
        raise ModelFileError(f"The model file {shown} is empty", "Download it again")
    if magic != GGUF_MAGIC:
        hint = (
            "It looks like one part of a split download"
            if re.search(r"\.part\d+of\d+$", path.name)
            else "Choose a .gguf model file"
        )
        raise ModelFileError(f"{shown} is not a GGUF model file", hint)

    try:
        header = read_header(path, FIM_PRE_TEXTS + FIM_SUF_TEXTS + FIM_MID_TEXTS + EOT_TEXTS)
    except (ValueError, IndexError, KeyError, OverflowError, struct.error) as exc:
        raise ModelFileError(
            f"The model file {shown} ({file_size:,} bytes) is damaged or incomplete: "
            "its header or tensor table is cut short or corrupt",
            "Download it again",
            detail=f"{type(exc).__name__}: {exc}",
        ) from exc
    except OSError as exc:
        raise ModelFileError(
            f"Cannot read the model file {shown}: {exc.strerror or exc}", "Check the file's permissions"
        ) from exc
    return _info_from_header(path, file_size, header)


class _Fields:
    """Typed reads of a GGUF's metadata; a missing or unreadable key reads as None."""

    def __init__(self, fields: Mapping[str, Any], arch: str = "") -> None:
        self.fields = fields
        self.arch = arch

    def value(self, key: str) -> Any:
        return self.fields.get(key)

    def integer(self, key: str) -> int | None:
        v = self.value(key)
        if isinstance(v, list):  # per-layer arrays (e.g. head_count_kv): take the largest
            v = max(v) if v else None
        return int(v) if isinstance(v, (int, float)) else None

    def arch_int(self, key: str) -> int | None:
        return self.integer(f"{self.arch}.{key}")

    def text(self, key: str) -> str | None:
        v = self.value(key)
        return v if isinstance(v, str) else None


@dataclass
class _TensorTotals:
    data_end: int = 0
    param_count: int = 0
    data_bytes: int = 0
    expert_bytes: int = 0
    layer_bytes: dict[int, int] = field(default_factory=dict)
    layer_type_bytes: dict[str, int] = field(default_factory=dict)
    other_bytes: dict[str, int] = field(default_factory=dict)
    other_types: dict[str, str] = field(default_factory=dict)


def _tensor_totals(tensors: Any) -> _TensorTotals:
    totals = _TensorTotals()
    for tensor in tensors:
        n_bytes = int(tensor.n_bytes)
        totals.data_end = max(totals.data_end, int(tensor.data_offset) + n_bytes)
        totals.param_count += int(tensor.n_elements)
        totals.data_bytes += n_bytes
        if "_exps." in tensor.name:
            totals.expert_bytes += n_bytes
        match = _LAYER_TENSOR.match(tensor.name)
        if match:
            layer = int(match.group(1))
            totals.layer_bytes[layer] = totals.layer_bytes.get(layer, 0) + n_bytes
            totals.layer_type_bytes[tensor.type_name] = totals.layer_type_bytes.get(tensor.type_name, 0) + n_bytes
        else:
            totals.other_bytes[tensor.name] = totals.other_bytes.get(tensor.name, 0) + n_bytes
            totals.other_types[tensor.name] = tensor.type_name
    return totals


def _vocabulary(fields: _Fields, header: GgufHeader) -> tuple[int, dict[str, int | None], int | None]:
    """(vocabulary size, the FIM token ids, the end-of-turn token id), by key or by token text."""
    vocab_size = fields.arch_int("vocab_size") or header.token_count
    if not vocab_size:
        embd = next((t for t in header.tensors if t.name == "token_embd.weight"), None)
        vocab_size = int(embd.shape[-1]) if embd is not None and len(embd.shape) > 1 else 0
    token_ids = header.token_ids

    def key_or_text(key: str, texts: tuple[str, ...]) -> int | None:
        found = fields.integer(key)
        return found if found is not None else _lookup(token_ids, texts)

    fim_tokens = {
        "pre": key_or_text("tokenizer.ggml.fim_pre_token_id", FIM_PRE_TEXTS),
        "suf": key_or_text("tokenizer.ggml.fim_suf_token_id", FIM_SUF_TEXTS),
        "mid": key_or_text("tokenizer.ggml.fim_mid_token_id", FIM_MID_TEXTS),
    }
    return vocab_size, fim_tokens, key_or_text("tokenizer.ggml.eot_token_id", EOT_TEXTS)


def _info_from_header(path: Path, file_size: int, header: GgufHeader) -> GgufInfo:
    fields = _Fields(header.fields)
    arch = fields.value("general.architecture")
    if not isinstance(arch, str) or not arch:
        raise ModelFileError(
            f"The model file {path} has no general.architecture", "Choose another GGUF file; this one is incomplete"
        )
    fields.arch = arch
    totals = _tensor_totals(header.tensors)  # the file must be long enough to hold every tensor it declares
    if totals.data_end > file_size:
        raise ModelFileError(
            f"The model file {path} is incomplete: it is {file_size:,} bytes but its tensors need {totals.data_end:,}",
            "Download it again",
        )
    embedding = fields.arch_int("embedding_length") or 0
    head_count = fields.arch_int("attention.head_count") or 0
    default_head_dim = embedding // head_count if head_count else 0
    layers = totals.layer_bytes
    vocab_size, fim_tokens, eot = _vocabulary(fields, header)
    file_type = fields.integer("general.file_type")
    return GgufInfo(
        path=path,
        file_size=file_size,
        architecture=arch,
        name=fields.text("general.name"),
        file_type=file_type,
        quant=quant_label(file_type),
        parameter_count=totals.param_count,
        tensor_count=len(header.tensors),
        tensor_data_bytes=totals.data_bytes,
        context_length=fields.arch_int("context_length"),
        block_count=fields.arch_int("block_count") or (max(layers) + 1 if layers else 0),
        embedding_length=embedding,
        feed_forward_length=fields.arch_int("feed_forward_length"),
        head_count=head_count,
        head_count_kv=fields.arch_int("attention.head_count_kv") or head_count,
        key_length=fields.arch_int("attention.key_length") or default_head_dim,
        value_length=fields.arch_int("attention.value_length") or default_head_dim,
        kv_lora_rank=fields.arch_int("attention.kv_lora_rank"),
        q_lora_rank=fields.arch_int("attention.q_lora_rank"),
        key_length_mla=fields.arch_int("attention.key_length_mla"),
        value_length_mla=fields.arch_int("attention.value_length_mla"),
        rope_dimension_count=fields.arch_int("rope.dimension_count"),
        expert_count=fields.arch_int("expert_count"),
        expert_used_count=fields.arch_int("expert_used_count"),
        expert_shared_count=fields.arch_int("expert_shared_count"),
        leading_dense_block_count=fields.arch_int("leading_dense_block_count"),
        vocab_size=vocab_size,
        chat_template=fields.text("tokenizer.chat_template"),
        tokenizer_model=fields.text("tokenizer.ggml.model"),
        tokenizer_pre=fields.text("tokenizer.ggml.pre"),
        bos_token_id=fields.integer("tokenizer.ggml.bos_token_id"),
        eos_token_id=fields.integer("tokenizer.ggml.eos_token_id"),
        eot_token_id=eot,
        fim_tokens=fim_tokens,
        layer_tensor_bytes=dict(sorted(layers.items())),
        expert_tensor_bytes=totals.expert_bytes,
        non_layer_tensor_bytes=totals.other_bytes,
        metadata_keys=tuple(header.fields),
        layer_type_bytes=dict(sorted(totals.layer_type_bytes.items())),
        non_layer_tensor_types=totals.other_types,
    )


def _lookup(token_ids: Mapping[str, int], texts: tuple[str, ...]) -> int | None:
    for text in texts:
        if text in token_ids:
            return token_ids[text]
    return None


__all__ = ["GgufInfo", "read_gguf_info", "quant_label"]
