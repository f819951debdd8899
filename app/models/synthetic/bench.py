"""The synthetic model the machine-speed benchmark runs: a llama-shaped GGUF of Q4_K weights.

It has the width of a 1.3B DeepSeek-Coder (2048 wide, 128-wide heads, a 5632 FFN)
and as many layers as it takes to reach the size asked for (256 MB by default:
larger than any CPU cache, so every token streams its weights from RAM as a real
model does). The weights are random bytes with small, finite block scales, and the
vocabulary is a byte-level SentencePiece list, so llama.cpp loads it like any model.
Written in well under a second; the benchmark child deletes it when it is done.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gguf
import numpy as np

from app.hardware.speed import DEFAULT_WEIGHTS_BYTES
from app.models.synthetic.writer import LlamaHeader, add_spm_vocabulary, byte_tokens, llama_writer

Q4_K = gguf.GGMLQuantizationType.Q4_K
Q4_K_BLOCK_VALUES, Q4_K_BLOCK_BYTES = gguf.GGML_QUANT_SIZES[Q4_K]  # 256 values in 144 bytes
N_EMBD = 2048
N_HEAD = 16
N_FF = 5632
N_VOCAB = 512  # the 256 byte tokens, two controls, padding to a round number
CONTEXT_LENGTH = 4096
_RANDOM_CHUNK_BYTES = 1 << 20  # random bytes, tiled: distinct pages, no 256 MB of random numbers


@dataclass(frozen=True)
class BenchModel:
    path: Path
    n_layer: int
    weight_bytes: int  # every tensor's bytes
    streamed_bytes_per_token: int  # what one decoded token reads: all but the embedding rows
    matmul_params_per_token: int  # weights one prompt token multiplies by (no output layer)


def _layer_matrices() -> list[tuple[str, int, int]]:
    return [
        ("attn_q", N_EMBD, N_EMBD),
        ("attn_k", N_EMBD, N_EMBD),
        ("attn_v", N_EMBD, N_EMBD),
        ("attn_output", N_EMBD, N_EMBD),
        ("ffn_gate", N_FF, N_EMBD),
        ("ffn_up", N_FF, N_EMBD),
        ("ffn_down", N_EMBD, N_FF),
    ]


def q4k_bytes(rows: int, cols: int) -> int:
    return rows * cols // Q4_K_BLOCK_VALUES * Q4_K_BLOCK_BYTES


def layers_for(weights_bytes: int) -> int:
    per_layer = sum(q4k_bytes(rows, cols) for _name, rows, cols in _layer_matrices())
    return max(1, round(weights_bytes / per_layer))


def _q4k_data(rows: int, cols: int, chunk: np.ndarray, offset: int) -> np.ndarray:
    """Q4_K blocks: tiled random bytes whose two fp16 scales are set small and finite."""
    n_blocks = rows * cols // Q4_K_BLOCK_VALUES
    flat = np.resize(np.roll(chunk, offset), n_blocks * Q4_K_BLOCK_BYTES)
    blocks = flat.reshape(n_blocks, Q4_K_BLOCK_BYTES)
    blocks[:, 0:4] = np.array([0.002, 0.001], dtype=np.float16).view(np.uint8)  # d, dmin
    return blocks.reshape(rows, cols // Q4_K_BLOCK_VALUES * Q4_K_BLOCK_BYTES)


def _vocabulary(writer: gguf.GGUFWriter) -> None:
    tokens = ["<unk>", "<s>", "</s>", *byte_tokens()]
    types = [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL]
    types += [gguf.TokenType.BYTE] * 256
    while len(tokens) < N_VOCAB:
        tokens.append(f"▁w{len(tokens)}")
        types.append(gguf.TokenType.NORMAL)
    add_spm_vocabulary(writer, tokens, types, bos=1, eos=2)


def write_bench_gguf(path: Path, weights_bytes: int = DEFAULT_WEIGHTS_BYTES, seed: int = 7) -> BenchModel:
    """Write the benchmark model to `path` (tensor by tensor: little memory)."""
    n_layer = layers_for(weights_bytes)
    header = LlamaHeader(
        "dscoder-speed-benchmark",
        CONTEXT_LENGTH,
        N_EMBD,
        n_layer,
        N_FF,
        N_HEAD,
        N_HEAD,
        gguf.LlamaFileType.MOSTLY_Q4_K_M,
    )
    writer = llama_writer(path, header)
    _vocabulary(writer)

    tensors: list[tuple[str, int, int]] = [("token_embd.weight", N_VOCAB, N_EMBD)]
    for layer in range(n_layer):
        tensors += [(f"blk.{layer}.{name}.weight", rows, cols) for name, rows, cols in _layer_matrices()]
        tensors += [(f"blk.{layer}.attn_norm.weight", 0, N_EMBD), (f"blk.{layer}.ffn_norm.weight", 0, N_EMBD)]
    tensors += [("output_norm.weight", 0, N_EMBD), ("output.weight", N_VOCAB, N_EMBD)]
    for name, rows, cols in tensors:  # rows 0: an f32 norm vector
        if rows:
            writer.add_tensor_info(name, (rows, cols), np.dtype(np.float32), q4k_bytes(rows, cols), raw_dtype=Q4_K)
        else:
            writer.add_tensor_info(name, (cols,), np.dtype(np.float32), cols * 4)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    chunk = np.random.default_rng(seed).integers(0, 256, _RANDOM_CHUNK_BYTES, dtype=np.uint8)
    total = 0
    for index, (_name, rows, cols) in enumerate(tensors):
        data = _q4k_data(rows, cols, chunk, index * 4099) if rows else np.ones(cols, dtype=np.float32)
        writer.write_tensor_data(data)
        total += data.nbytes
    writer.close()
    layer_bytes = sum(q4k_bytes(rows, cols) for _name, rows, cols in _layer_matrices()) * n_layer
    params = sum(rows * cols for _name, rows, cols in _layer_matrices()) * n_layer
    return BenchModel(
        path=Path(path),
        n_layer=n_layer,
        weight_bytes=total,
        streamed_bytes_per_token=layer_bytes + q4k_bytes(N_VOCAB, N_EMBD),
        matmul_params_per_token=params,
    )
