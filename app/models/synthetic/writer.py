"""What every synthetic GGUF shares: the llama hyper-parameters and a SentencePiece vocabulary."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import gguf


@dataclass(frozen=True)
class LlamaHeader:
    """The hyper-parameters llama.cpp reads for a llama-architecture model (a deepseek2
    file shares those `add_size_keys` writes)."""

    name: str
    context_length: int
    n_embd: int
    n_layer: int
    n_ff: int
    n_head: int
    n_head_kv: int
    file_type: gguf.LlamaFileType
    rope_freq_base: float | None = None  # None: llama.cpp's default


def add_size_keys(writer: gguf.GGUFWriter, header: LlamaHeader) -> None:
    """The keys every architecture's file has: name, file type, trained context, layers,
    widths and query heads (the KV heads and rope differ between llama and deepseek2)."""
    writer.add_name(header.name)
    writer.add_file_type(int(header.file_type))
    writer.add_context_length(header.context_length)
    writer.add_block_count(header.n_layer)
    writer.add_embedding_length(header.n_embd)
    writer.add_feed_forward_length(header.n_ff)
    writer.add_head_count(header.n_head)


def llama_writer(path: Path | str, header: LlamaHeader) -> gguf.GGUFWriter:
    """A GGUFWriter for `path` with the llama keys of `header` added (vocabulary and tensors follow)."""
    writer = gguf.GGUFWriter(str(path), "llama")
    add_size_keys(writer, header)
    writer.add_head_count_kv(header.n_head_kv)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_rope_dimension_count(header.n_embd // header.n_head)
    if header.rope_freq_base is not None:
        writer.add_rope_freq_base(header.rope_freq_base)
    return writer


def byte_tokens() -> list[str]:
    """SentencePiece's 256 byte-fallback tokens, <0x00> to <0xFF>: any text can be encoded."""
    return [f"<0x{byte:02X}>" for byte in range(256)]


def add_spm_vocabulary(
    writer: gguf.GGUFWriter,
    tokens: Sequence[str],
    types: Sequence[int],
    *,
    bos: int,
    eos: int,
    scores: Sequence[float] | None = None,
) -> None:
    """A llama (SentencePiece) vocabulary; token 0 is <unk>. Scores default to 0."""
    writer.add_tokenizer_model("llama")
    writer.add_token_list(list(tokens))
    writer.add_token_scores(list(scores) if scores is not None else [0.0] * len(tokens))
    writer.add_token_types(list(types))
    writer.add_unk_token_id(0)
    writer.add_bos_token_id(bos)
    writer.add_eos_token_id(eos)
