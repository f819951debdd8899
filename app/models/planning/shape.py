"""A model's shape, as the memory estimate and the speed prediction need it.

From a GGUF header (`GgufInfo`: real tensor sizes per layer and their types) or, before
a download, a catalog entry (hyperparameters and file size: the per-layer sizes and the
weight types are then derived from the quantization's name).
"""

from __future__ import annotations

from dataclasses import dataclass

from app.models.catalog import CatalogEntry
from app.models.gguf import GgufInfo
from app.models.planning.weight_types import TypeBytes, catalog_layer_types, catalog_output_type

# Bits per weight of the main tensor type of each quant (ggml block sizes), used to
# split a catalog entry's file size between embeddings, output and layers before download.
QUANT_BITS = {"Q2_K": 2.625, "Q3_K_M": 3.4375, "Q4_K_M": 4.5, "Q5_K_M": 5.5, "Q6_K": 6.5625, "Q8_0": 8.5, "F16": 16.0}
# llama.cpp's quantizer keeps output.weight at Q6_K for k-quants (Q8_0 stays Q8_0).
OUTPUT_BITS = {"Q8_0": 8.5, "F16": 16.0}
DEFAULT_OUTPUT_BITS = 6.5625


@dataclass(frozen=True)
class ModelMemoryShape:
    """What the estimator needs from a model, from a GGUF header or a catalog entry."""

    n_layer: int
    n_embd: int
    n_head: int
    n_ff: int
    vocab: int
    n_ctx_train: int
    layer_bytes: tuple[int, ...]
    token_embd_bytes: int
    output_bytes: int  # output.weight + output_norm (the "+1" layer)
    tied_output: bool  # no output.weight: llama.cpp duplicates token_embd on the output device
    kv_k_per_layer: int  # cached K elements per token per layer (n_head_kv * key_length)
    kv_v_per_layer: int  # 0 for MLA
    expert_bytes: int  # routed-expert bytes (MoE)
    expert_used_fraction: float  # experts used per token / experts
    file_size: int
    n_params: int = 0  # every tensor's elements; 0: unknown (then derived from the bytes)
    layer_types: TypeBytes = ()  # the repeating layers' bytes per ggml type; (): unknown (Q4_K)
    output_type: str = ""  # the output matrix's ggml type (token_embd's when tied); "": unknown

    @property
    def weights_bytes(self) -> int:
        return sum(self.layer_bytes) + self.token_embd_bytes + self.output_bytes

    @property
    def active_fraction(self) -> float:
        """Share of the repeating layers' weights one token uses: 1 for a dense model,
        the shared part plus the used experts for a MoE."""
        layers = max(1, sum(self.layer_bytes))
        return 1.0 - self.expert_bytes * (1.0 - self.expert_used_fraction) / layers

    @property
    def layer_params(self) -> int:
        """Parameters in the repeating layers (the matrices a prompt token multiplies by)."""
        embedding = self.vocab * self.n_embd
        if self.n_params > 0:
            return max(0, self.n_params - embedding * (1 if self.tied_output else 2))
        return int(sum(self.layer_bytes) * 8 / QUANT_BITS["Q4_K_M"])  # unknown: assume the common quant


def shape_from_gguf(info: GgufInfo) -> ModelMemoryShape:
    n_layer = info.block_count
    layers = tuple(info.layer_tensor_bytes.get(i, 0) for i in range(n_layer))
    kv_k = info.head_count_kv * info.key_length
    kv_v = 0 if info.is_mla else info.head_count_kv * info.value_length
    used = (info.expert_used_count or 0) / info.expert_count if info.expert_count else 1.0
    return ModelMemoryShape(
        n_layer=n_layer,
        n_embd=info.embedding_length,
        n_head=info.head_count,
        n_ff=info.feed_forward_length or 4 * info.embedding_length,
        vocab=info.vocab_size,
        n_ctx_train=info.context_length or 4096,
        layer_bytes=layers,
        token_embd_bytes=info.token_embd_bytes,
        output_bytes=info.output_bytes,
        tied_output=not info.has_output_tensor,
        kv_k_per_layer=kv_k,
        kv_v_per_layer=kv_v,
        expert_bytes=info.expert_tensor_bytes,
        expert_used_fraction=used,
        file_size=info.file_size,
        n_params=info.parameter_count,
        layer_types=tuple(info.layer_type_bytes.items()),
        output_type=info.output_type,
    )


def shape_from_catalog(entry: CatalogEntry) -> ModelMemoryShape:
    hp = entry.hyperparameters
    bits = QUANT_BITS.get(entry.quant, 4.5)
    out_bits = OUTPUT_BITS.get(entry.quant, DEFAULT_OUTPUT_BITS)
    token_embd = int(hp.vocab * hp.n_embd * bits / 8)
    output = int(hp.vocab * hp.n_embd * out_bits / 8) + hp.n_embd * 4
    per_layer = max(0, entry.size - token_embd - output) // hp.n_layer
    if hp.is_mla:
        kv_k, kv_v = hp.n_head_kv * hp.key_length, 0
    else:
        kv_k, kv_v = hp.n_head_kv * hp.key_length, hp.n_head_kv * hp.value_length
    used = (hp.expert_used_count or 0) / hp.expert_count if hp.expert_count else 1.0
    expert = 0
    if hp.expert_count and hp.active_params and hp.total_params:
        # Share of the weights in routed experts, from total vs active parameters:
        # active = total - experts * (1 - used)  =>  experts = (total - active) / (1 - used).
        expert_params = (hp.total_params - hp.active_params) / (1 - used)
        expert = int(per_layer * hp.n_layer * min(1.0, expert_params / hp.total_params))
    return ModelMemoryShape(
        n_layer=hp.n_layer,
        n_embd=hp.n_embd,
        n_head=hp.n_head,
        n_ff=4 * hp.n_embd,
        vocab=hp.vocab,
        n_ctx_train=hp.n_ctx_train,
        layer_bytes=(per_layer,) * hp.n_layer,
        token_embd_bytes=token_embd,
        output_bytes=output,
        tied_output=False,
        kv_k_per_layer=kv_k,
        kv_v_per_layer=kv_v,
        expert_bytes=expert,
        expert_used_fraction=used,
        file_size=entry.size,
        n_params=int(hp.total_params or entry.parameters or 0),
        layer_types=catalog_layer_types(entry.quant, per_layer * hp.n_layer),
        output_type=catalog_output_type(entry.quant),
    )


_catalog_shapes: dict[tuple[str, int], ModelMemoryShape] = {}


def model_shape(model: GgufInfo | CatalogEntry | ModelMemoryShape) -> ModelMemoryShape:
    if isinstance(model, ModelMemoryShape):
        return model
    if isinstance(model, CatalogEntry):
        key = (model.id, model.size)
        if key not in _catalog_shapes:
            _catalog_shapes[key] = shape_from_catalog(model)
        return _catalog_shapes[key]
    return shape_from_gguf(model)
