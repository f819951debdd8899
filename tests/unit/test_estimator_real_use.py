"""Issue 20's memory model: repacked weights count twice in RSS (not in what a load needs), the CPU's
compute buffer holds the larger of the attention scores and the activations, the vocabulary costs RAM."""

from __future__ import annotations

from app.models.catalog import load_catalog
from app.models.planning.estimator import (
    ACTIVATION_LIVE_TENSORS,
    COMPUTE_FIXED_BYTES,
    KQ_LIVE_COPIES,
    MIB,
    VOCAB_RSS_BYTES_PER_TOKEN,
    compute_buffer_bytes,
    estimate_memory,
    repacked_types,
)
from app.models.planning.shape import model_shape

Q4_K_M_1P3B = "deepseek-coder-1.3b-instruct:Q4_K_M"


def test_which_types_repack_follows_the_cpu() -> None:
    assert repacked_types(("sse4_2", "avx", "avx2", "fma", "avx512f")) == {"Q2_K", "Q4_0", "Q4_K", "IQ4_NL"}
    assert repacked_types(("avx2", "avx512f", "amx_tile")) == frozenset()  # loaded without the extra buffers
    assert "Q4_0" in repacked_types(("neon",), "arm64")
    assert repacked_types(("sse4_2", "avx")) == frozenset()


def test_repacked_weights_count_twice_in_rss_but_not_in_what_a_load_needs() -> None:
    entry = load_catalog().get(Q4_K_M_1P3B)
    plain = estimate_memory(entry, n_ctx=4096)
    repacked = estimate_memory(entry, n_ctx=4096, repacked=repacked_types(("avx2",)))
    shape = model_shape(entry)
    q4_k_share = dict(shape.layer_types)["Q4_K"] / sum(n for _t, n in shape.layer_types)
    assert repacked.repacked_ram_bytes == int(sum(shape.layer_bytes) * q4_k_share)  # the Q4_K layers; Q6_K does not
    assert repacked.ram_bytes == plain.ram_bytes + repacked.repacked_ram_bytes
    assert repacked.needed_ram_bytes == plain.ram_bytes
    assert estimate_memory(entry, n_ctx=4096, n_gpu_layers=-1, repacked=("Q4_K",)).repacked_ram_bytes == 0  # on the GPU


def test_scores_and_activations_share_the_cpu_compute_buffer() -> None:
    shape = model_shape(load_catalog().get(Q4_K_M_1P3B))
    scores = 4096 * 512 * shape.n_head * 4
    activations = 512 * (shape.n_embd + shape.n_ff) * 4
    logits = shape.vocab * 4
    long = compute_buffer_bytes(shape, 4096, 512, flash_attn=False)
    assert (
        long == int(max(scores * KQ_LIVE_COPIES, activations * ACTIVATION_LIVE_TENSORS)) + logits + COMPUTE_FIXED_BYTES
    )
    flash = compute_buffer_bytes(shape, 4096, 512, flash_attn=True)
    assert flash == int(activations * ACTIVATION_LIVE_TENSORS) + logits + COMPUTE_FIXED_BYTES < long


def test_a_large_vocabulary_costs_the_engine_ram() -> None:
    entry = load_catalog().get(Q4_K_M_1P3B)
    est = estimate_memory(entry, n_ctx=4096)
    assert est.overhead_ram_bytes == 80 * MIB + VOCAB_RSS_BYTES_PER_TOKEN * model_shape(entry).vocab
