"""The synthetic models the machine-speed benchmark runs: llama-shaped GGUFs of one weight type.

They have the width of a 1.3B DeepSeek-Coder (2048 wide, 128-wide heads, a 5632 FFN).
The main one is Q4_K with as many layers as it takes to reach the size asked for
(256 MB by default: larger than any CPU cache, so every token streams its weights from
RAM as a real model does); small ones of a couple of layers, one per weight type the
benchmark compares (`BENCH_TYPES`), say how much faster or slower each type runs than
Q4_K. The weights are random bytes whose fp16 block scales are set small and finite
(no NaN or infinity in the activations), and the vocabulary is a byte-level
SentencePiece list, so llama.cpp loads them like any model. Written in well under a
second each; the benchmark child deletes them when it is done.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gguf
import numpy as np

from app.hardware.machine_speed import CPU_BENCH_TYPES, DEFAULT_WEIGHTS_BYTES
from app.models.synthetic.writer import LlamaHeader, add_spm_vocabulary, byte_tokens, llama_writer

QuantType = gguf.GGMLQuantizationType
Q4_K = QuantType.Q4_K
N_EMBD = 2048
N_HEAD = 16
N_FF = 5632
N_VOCAB = 512  # the 256 byte tokens, two controls, padding to a round number
CONTEXT_LENGTH = 4096
_RANDOM_CHUNK_BYTES = 1 << 20  # random bytes, tiled: distinct pages, no 256 MB of random numbers

# Where each block layout keeps its fp16 scales (byte offsets in a block, as ggml-common.h
# lays the blocks out); the rest of a block is quants and sub-block scales, random bytes.
_SCALE_OFFSETS: dict[QuantType, tuple[int, ...]] = {
    QuantType.Q2_K: (80, 82),  # scales[16], qs[64], then d, dmin
    QuantType.Q3_K: (108,),  # hmask[32], qs[64], scales[12], then d
    QuantType.Q4_K: (0, 2),  # d, dmin, then scales[12], qs[128]
    QuantType.Q5_K: (0, 2),  # d, dmin, then scales[12], qh[32], qs[128]
    QuantType.Q6_K: (208,),  # ql[128], qh[64], scales[16], then d
    QuantType.Q8_0: (0,),  # d, then qs[32]
    QuantType.Q4_0: (0,),  # d, then qs[16]
    QuantType.Q5_0: (0,),  # d, then qh[4], qs[16]
}
_SCALE_VALUES = (0.002, 0.001)  # d, dmin: small and finite
# The types the benchmark compares with Q4_K (llama.cpp's CPU kernels differ per type).
BENCH_TYPES: tuple[QuantType, ...] = tuple(QuantType.__members__[name] for name in CPU_BENCH_TYPES)
_FILE_TYPES = {
    QuantType.Q2_K: gguf.LlamaFileType.MOSTLY_Q2_K,
    QuantType.Q3_K: gguf.LlamaFileType.MOSTLY_Q3_K_M,
    QuantType.Q4_K: gguf.LlamaFileType.MOSTLY_Q4_K_M,
    QuantType.Q5_K: gguf.LlamaFileType.MOSTLY_Q5_K_M,
    QuantType.Q6_K: gguf.LlamaFileType.MOSTLY_Q6_K,
    QuantType.Q8_0: gguf.LlamaFileType.MOSTLY_Q8_0,
    QuantType.Q4_0: gguf.LlamaFileType.MOSTLY_Q4_0,
    QuantType.Q5_0: gguf.LlamaFileType.MOSTLY_Q5_0,
}


@dataclass(frozen=True)
class BenchShape:
    """The widths of a benchmark model; the default is a 1.3B DeepSeek-Coder's with a byte vocabulary."""

    n_embd: int = N_EMBD
    n_ff: int = N_FF
    n_head: int = N_HEAD
    n_head_kv: int = N_HEAD
    n_vocab: int = N_VOCAB
    output_quant: QuantType | None = None  # None: the layers' type

    @property
    def kv_width(self) -> int:
        return self.n_embd // self.n_head * self.n_head_kv


DEFAULT_SHAPE = BenchShape()
# Models whose decoded token is almost all fixed cost: 128 wide, so a layer's matrices are
# 0.2 MB and its time is the per-layer work besides streaming weights (a dozen small
# operations, each ending in a sync of the threads); one with a 64K-row output matrix of
# that width, whose time beside it is the cost per output row (one dot product each, the
# logits copied out), apart from the matrix's few bytes.
# DeepSeek-Coder-1.3B's shape as a Q4_K_M file has it: 24 layers of 2048 (the FFN padded to
# 5632, a multiple of 256, so every matrix is Q4_K), a 32,256-token vocabulary, a Q6_K output.
DEEPSEEK_1P3B_SHAPE = BenchShape(n_vocab=32256, output_quant=QuantType.Q6_K)
DEEPSEEK_1P3B_LAYERS = 24
# Their heads are 64 wide, as a real model's are (64 or 128): ggml's f16 dot product works in
# steps of 64 values with AVX-512, and a narrower head's runs element by element, several
# times slower per value (the decode-attention benchmark measures on the many-layer one).
THIN_SHAPE = BenchShape(n_embd=128, n_ff=256, n_head=2, n_head_kv=2, n_vocab=N_VOCAB, output_quant=QuantType.Q8_0)
THIN_BIG_VOCAB_SHAPE = BenchShape(
    n_embd=128, n_ff=256, n_head=2, n_head_kv=2, n_vocab=65536, output_quant=QuantType.Q8_0
)


@dataclass(frozen=True)
class BenchModel:
    path: Path
    n_layer: int
    quant: QuantType  # every matrix's type
    weight_bytes: int  # every tensor's bytes
    streamed_bytes_per_token: int  # what one decoded token reads: all but the embedding rows
    matmul_params_per_token: int  # weights one prompt token multiplies by (no output layer)
    shape: BenchShape = DEFAULT_SHAPE
    output_bytes: int = 0  # the output matrix's share of streamed_bytes_per_token


def layer_matrices(shape: BenchShape = DEFAULT_SHAPE) -> list[tuple[str, int, int]]:
    width, ffn, kv = shape.n_embd, shape.n_ff, shape.kv_width
    return [
        ("attn_q", width, width),
        ("attn_k", kv, width),
        ("attn_v", kv, width),
        ("attn_output", width, width),
        ("ffn_gate", ffn, width),
        ("ffn_up", ffn, width),
        ("ffn_down", width, ffn),
    ]


def matrix_bytes(rows: int, cols: int, quant: QuantType = Q4_K) -> int:
    block_values, block_bytes = gguf.GGML_QUANT_SIZES[quant]
    return rows * cols // block_values * block_bytes


def layers_for(weights_bytes: int, quant: QuantType = Q4_K) -> int:
    per_layer = sum(matrix_bytes(rows, cols, quant) for _name, rows, cols in layer_matrices())
    return max(1, round(weights_bytes / per_layer))


def _matrix_data(quant: QuantType, rows: int, cols: int, chunk: np.ndarray, offset: int) -> np.ndarray:
    """Blocks of `quant`: tiled random bytes whose fp16 scales are set small and finite."""
    block_values, block_bytes = gguf.GGML_QUANT_SIZES[quant]
    n_blocks = rows * cols // block_values
    blocks = np.resize(np.roll(chunk, offset), n_blocks * block_bytes).reshape(n_blocks, block_bytes)
    for position, value in zip(_SCALE_OFFSETS[quant], _SCALE_VALUES, strict=False):
        blocks[:, position : position + 2] = np.array([value], dtype=np.float16).view(np.uint8)
    return blocks.reshape(rows, cols // block_values * block_bytes)


def _vocabulary(writer: gguf.GGUFWriter, n_vocab: int) -> None:
    tokens = ["<unk>", "<s>", "</s>", *byte_tokens()]
    types = [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL]
    types += [gguf.TokenType.BYTE] * 256
    while len(tokens) < n_vocab:
        tokens.append(f"▁w{len(tokens)}")
        types.append(gguf.TokenType.NORMAL)
    add_spm_vocabulary(writer, tokens, types, bos=1, eos=2)


def write_bench_gguf(
    path: Path,
    weights_bytes: int = DEFAULT_WEIGHTS_BYTES,
    seed: int = 7,
    *,
    quant: QuantType = Q4_K,
    n_layer: int | None = None,
    shape: BenchShape = DEFAULT_SHAPE,
) -> BenchModel:
    """Write a benchmark model of `quant` weights to `path` (tensor by tensor: little memory).

    It has `n_layer` layers, or as many as make about `weights_bytes`, of `shape`'s widths;
    its output matrix is of `shape.output_quant` (default: `quant`)."""
    n_layer = n_layer or layers_for(weights_bytes, quant)
    output_quant = shape.output_quant or quant
    width = shape.n_embd
    header = LlamaHeader(
        f"dscoder-speed-benchmark-{quant.name}",
        CONTEXT_LENGTH,
        width,
        n_layer,
        shape.n_ff,
        shape.n_head,
        shape.n_head_kv,
        _FILE_TYPES[quant],
    )
    writer = llama_writer(path, header)
    _vocabulary(writer, shape.n_vocab)

    tensors: list[tuple[str, int, int, QuantType]] = [("token_embd.weight", shape.n_vocab, width, output_quant)]
    for layer in range(n_layer):
        tensors += [(f"blk.{layer}.{name}.weight", rows, cols, quant) for name, rows, cols in layer_matrices(shape)]
        tensors += [
            (f"blk.{layer}.attn_norm.weight", 0, width, quant),
            (f"blk.{layer}.ffn_norm.weight", 0, width, quant),
        ]
    tensors += [("output_norm.weight", 0, width, quant), ("output.weight", shape.n_vocab, width, output_quant)]
    for name, rows, cols, tensor_quant in tensors:  # rows 0: an f32 norm vector
        if rows:
            n_bytes = matrix_bytes(rows, cols, tensor_quant)
            writer.add_tensor_info(name, (rows, cols), np.dtype(np.float32), n_bytes, raw_dtype=tensor_quant)
        else:
            writer.add_tensor_info(name, (cols,), np.dtype(np.float32), cols * 4)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    chunk = np.random.default_rng(seed).integers(0, 256, _RANDOM_CHUNK_BYTES, dtype=np.uint8)
    total = 0
    for index, (_name, rows, cols, tensor_quant) in enumerate(tensors):
        if rows:
            data = _matrix_data(tensor_quant, rows, cols, chunk, index * 4099)
        else:
            data = np.ones(cols, dtype=np.float32)
        writer.write_tensor_data(data)
        total += data.nbytes
    writer.close()
    matrices = layer_matrices(shape)
    layer_bytes = sum(matrix_bytes(rows, cols, quant) for _name, rows, cols in matrices) * n_layer
    output_bytes = matrix_bytes(shape.n_vocab, width, output_quant)
    return BenchModel(
        path=Path(path),
        n_layer=n_layer,
        quant=quant,
        weight_bytes=total,
        streamed_bytes_per_token=layer_bytes + output_bytes,
        matmul_params_per_token=sum(rows * cols for _name, rows, cols in matrices) * n_layer,
        shape=shape,
        output_bytes=output_bytes,
    )
