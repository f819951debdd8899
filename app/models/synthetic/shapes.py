"""GGUF headers with the exact DeepSeek-Coder shapes, for the reader and the estimator.

The header and the tensor table are written with the `gguf` package's GGUFWriter;
the tensor data is not written. The file is then extended to the length its tensor
table declares with a sparse truncate, so a 33B-shaped file is "20 GB" long for
GGUFReader's memmap but uses a few MB of disk.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType, GGUFWriter, LlamaFileType

from app.models.synthetic.writer import LlamaHeader, add_size_keys
from app.protocol.deepseek import DS_BOS, DS_EOS, DS_EOT, DS_FIM_BEGIN, DS_FIM_END, DS_FIM_HOLE

Q = GGMLQuantizationType

# The special tokens at their ids in the real vocabularies (32,256 for v1, 102,400 for V2).
DEEPSEEK_V1_SPECIALS = {
    32013: DS_BOS,
    32014: DS_EOS,
    32015: DS_FIM_HOLE,
    32016: DS_FIM_BEGIN,
    32017: DS_FIM_END,
    32018: "<pad>",
    32021: DS_EOT,
}
DEEPSEEK_V2_SPECIALS = {
    100000: DS_BOS,
    100001: DS_EOS,
    100002: DS_FIM_HOLE,
    100003: DS_FIM_BEGIN,
    100004: DS_FIM_END,
}


@dataclass(frozen=True)
class ModelShape:
    arch: str
    n_layer: int
    n_embd: int
    n_head: int
    n_head_kv: int
    n_ff: int
    vocab: int
    n_ctx_train: int
    head_dim: int = 128
    # deepseek2 only
    mla: bool = False
    kv_lora_rank: int = 0
    qk_rope: int = 0
    qk_nope: int = 0
    v_head: int = 0
    n_expert: int = 0
    n_expert_shared: int = 0
    n_expert_used: int = 0
    expert_ff: int = 0
    leading_dense: int = 0
    tied_embeddings: bool = False


SHAPE_1_3B = ModelShape("llama", 24, 2048, 16, 16, 5504, 32256, 16384)
SHAPE_6_7B = ModelShape("llama", 32, 4096, 32, 32, 11008, 32256, 16384)
SHAPE_33B = ModelShape("llama", 62, 7168, 56, 8, 19200, 32256, 16384)
SHAPE_7B_V15 = ModelShape("llama", 30, 4096, 32, 32, 11008, 102400, 4096)
SHAPE_V2_LITE = ModelShape(
    "deepseek2",
    27,
    2048,
    16,
    16,
    10944,
    102400,
    163840,
    kv_lora_rank=512,
    qk_rope=64,
    qk_nope=128,
    v_head=128,
    n_expert=64,
    n_expert_shared=2,
    n_expert_used=6,
    expert_ff=1408,
    leading_dense=1,
)
SHAPE_V2_LITE_MLA = replace(SHAPE_V2_LITE, mla=True)
SHAPE_TINY = ModelShape("llama", 2, 64, 4, 4, 128, 300, 2048, head_dim=16)


def _nbytes(ne: Sequence[int], qtype: GGMLQuantizationType) -> int:
    block, type_size = GGML_QUANT_SIZES[qtype]
    return int(np.prod(ne)) * type_size // block


def _fit(qtype: GGMLQuantizationType, row: int) -> GGMLQuantizationType:
    """The quant type llama.cpp's quantizer falls back to when a row is not a block multiple."""
    if row % GGML_QUANT_SIZES[qtype][0] == 0:
        return qtype
    return Q.Q8_0 if row % 32 == 0 else Q.F16


def tensor_table(
    shape: ModelShape, weight_type: GGMLQuantizationType = Q.Q4_K, output_type: GGMLQuantizationType = Q.Q6_K
) -> list[tuple[str, tuple[int, ...], GGMLQuantizationType]]:
    """(name, ne in GGUF order (ne0 first), type) for every tensor of the model."""
    s = shape
    out: list[tuple[str, tuple[int, ...], GGMLQuantizationType]] = []

    def add(name: str, ne: tuple[int, ...], qtype: GGMLQuantizationType = weight_type) -> None:
        out.append((name, ne, Q.F32 if len(ne) == 1 else _fit(qtype, ne[0])))

    add("token_embd.weight", (s.n_embd, s.vocab), weight_type)
    for il in range(s.n_layer):
        p = f"blk.{il}."
        add(p + "attn_norm.weight", (s.n_embd,))
        add(p + "ffn_norm.weight", (s.n_embd,))
        if s.arch == "llama":
            add(p + "attn_q.weight", (s.n_embd, s.n_head * s.head_dim))
            add(p + "attn_k.weight", (s.n_embd, s.n_head_kv * s.head_dim))
            add(p + "attn_v.weight", (s.n_embd, s.n_head_kv * s.head_dim), output_type)
            add(p + "attn_output.weight", (s.n_head * s.head_dim, s.n_embd))
            add(p + "ffn_gate.weight", (s.n_embd, s.n_ff))
            add(p + "ffn_up.weight", (s.n_embd, s.n_ff))
            add(p + "ffn_down.weight", (s.n_ff, s.n_embd), output_type)
            continue
        q_head = s.qk_nope + s.qk_rope
        add(p + "attn_q.weight", (s.n_embd, s.n_head * q_head))
        add(p + "attn_kv_a_mqa.weight", (s.n_embd, s.kv_lora_rank + s.qk_rope))
        add(p + "attn_kv_a_norm.weight", (s.kv_lora_rank,))
        if s.mla:
            add(p + "attn_k_b.weight", (s.qk_nope, s.kv_lora_rank, s.n_head), Q.Q8_0)
            add(p + "attn_v_b.weight", (s.kv_lora_rank, s.v_head, s.n_head), Q.Q8_0)
        else:
            add(p + "attn_kv_b.weight", (s.kv_lora_rank, s.n_head * (s.qk_nope + s.v_head)))
        add(p + "attn_output.weight", (s.n_head * s.v_head, s.n_embd))
        if il < s.leading_dense:
            add(p + "ffn_gate.weight", (s.n_embd, s.n_ff))
            add(p + "ffn_up.weight", (s.n_embd, s.n_ff))
            add(p + "ffn_down.weight", (s.n_ff, s.n_embd), output_type)
            continue
        add(p + "ffn_gate_inp.weight", (s.n_embd, s.n_expert), Q.F32)
        add(p + "ffn_gate_exps.weight", (s.n_embd, s.expert_ff, s.n_expert))
        add(p + "ffn_up_exps.weight", (s.n_embd, s.expert_ff, s.n_expert))
        add(p + "ffn_down_exps.weight", (s.expert_ff, s.n_embd, s.n_expert), output_type)
        shared_ff = s.expert_ff * s.n_expert_shared
        add(p + "ffn_gate_shexp.weight", (s.n_embd, shared_ff))
        add(p + "ffn_up_shexp.weight", (s.n_embd, shared_ff))
        add(p + "ffn_down_shexp.weight", (shared_ff, s.n_embd), output_type)
    add("output_norm.weight", (s.n_embd,))
    if not s.tied_embeddings:
        add("output.weight", (s.n_embd, s.vocab), output_type)
    return out


def _vocabulary(shape: ModelShape, full_vocab: bool) -> list[str]:
    specials = DEEPSEEK_V2_SPECIALS if shape.vocab > 50000 else DEEPSEEK_V1_SPECIALS
    if not full_vocab:
        # A short list keeps the reader fast; the ids of the special tokens match when
        # the list is long enough to hold them, which is what full_vocab asks for.
        return [f"t{i}" for i in range(min(shape.vocab, 256))]
    tokens = [f"t{i}" for i in range(shape.vocab)]
    for index, text in specials.items():
        if index < shape.vocab:
            tokens[index] = text
    return tokens


def write_synthetic_gguf(
    path: Path,
    shape: ModelShape,
    *,
    file_type: LlamaFileType = LlamaFileType.MOSTLY_Q4_K_M,
    weight_type: GGMLQuantizationType = Q.Q4_K,
    output_type: GGMLQuantizationType = Q.Q6_K,
    name: str = "synthetic",
    full_vocab: bool = False,
    chat_template: str | None = None,
    fim_keys: dict[str, int] | None = None,
    tokenizer_pre: str | None = None,
    tokens: list[str] | None = None,
    extend: bool = True,
) -> Path:
    """Write a header-only GGUF with `shape`'s tensors; extend it sparsely to full length.

    full_vocab writes every token (with DeepSeek's special tokens at their real ids);
    otherwise a short list keeps reading fast. `tokens` replaces the vocabulary.
    extend=False leaves the file cut short after its tensor table (a broken download).
    """
    path = Path(path)
    writer = GGUFWriter(path, shape.arch)
    header = LlamaHeader(
        name, shape.n_ctx_train, shape.n_embd, shape.n_layer, shape.n_ff, shape.n_head, shape.n_head_kv, file_type
    )
    add_size_keys(writer, header)
    writer.add_vocab_size(shape.vocab)
    if shape.arch == "llama":
        writer.add_head_count_kv(shape.n_head_kv)
        writer.add_rope_dimension_count(shape.head_dim)
    else:
        writer.add_kv_lora_rank(shape.kv_lora_rank)
        writer.add_rope_dimension_count(shape.qk_rope)
        writer.add_expert_count(shape.n_expert)
        writer.add_expert_shared_count(shape.n_expert_shared)
        writer.add_expert_used_count(shape.n_expert_used)
        writer.add_expert_feed_forward_length(shape.expert_ff)
        writer.add_leading_dense_block_count(shape.leading_dense)
        if shape.mla:
            # llama.cpp's MLA layout: one KV head holding the compressed latent + rope part.
            writer.add_head_count_kv(1)
            writer.add_key_length(shape.kv_lora_rank + shape.qk_rope)
            writer.add_value_length(shape.kv_lora_rank)
            writer.add_key_length_mla(shape.qk_nope + shape.qk_rope)
            writer.add_value_length_mla(shape.v_head)
        else:
            writer.add_head_count_kv(shape.n_head_kv)
            writer.add_key_length(shape.qk_nope + shape.qk_rope)
            writer.add_value_length(shape.v_head)
    writer.add_tokenizer_model("llama" if shape.vocab < 50000 else "gpt2")
    if tokenizer_pre:
        writer.add_tokenizer_pre(tokenizer_pre)
    writer.add_token_list(tokens if tokens is not None else _vocabulary(shape, full_vocab))
    if shape.vocab > 50000:
        writer.add_bos_token_id(100000)
        writer.add_eos_token_id(100001)
    else:
        writer.add_bos_token_id(32013)
        writer.add_eos_token_id(32014 if chat_template is None else 32021)
    for part, token_id in (fim_keys or {}).items():
        writer.add_uint32(f"tokenizer.ggml.fim_{part}_token_id", token_id)
    if chat_template is not None:
        writer.add_chat_template(chat_template)

    data_bytes = 0
    for tensor_name, ne, qtype in tensor_table(shape, weight_type, output_type):
        nbytes = _nbytes(ne, qtype)
        writer.add_tensor_info(tensor_name, tuple(reversed(ne)), np.dtype(np.float32), nbytes, raw_dtype=qtype)
        data_bytes += GGUFWriter.ggml_pad(nbytes, writer.data_alignment)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    writer.close()
    if extend:
        header_len = path.stat().st_size
        data_start = GGUFWriter.ggml_pad(header_len, writer.data_alignment)
        with path.open("r+b") as handle:
            handle.truncate(data_start + data_bytes)  # sparse: no blocks are written
    return path
