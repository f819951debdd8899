"""The memory estimator on GGUF headers with the exact DeepSeek shapes."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.models.catalog import load_catalog
from app.models.gguf import GgufInfo, read_gguf_info
from app.models.planning.estimator import estimate_memory, kv_cache_bytes, pad_ctx
from app.models.planning.shape import model_shape
from app.models.synthetic.shapes import (
    SHAPE_1_3B,
    SHAPE_6_7B,
    SHAPE_7B_V15,
    SHAPE_33B,
    SHAPE_V2_LITE,
    SHAPE_V2_LITE_MLA,
    ModelShape,
    write_synthetic_gguf,
)
from app.utils.units import GIB

SHAPES: dict[str, ModelShape] = {
    "1.3b": SHAPE_1_3B,
    "6.7b": SHAPE_6_7B,
    "33b": SHAPE_33B,
    "7b-v1.5": SHAPE_7B_V15,
    "v2-lite": SHAPE_V2_LITE,
    "v2-lite-mla": SHAPE_V2_LITE_MLA,
}
# The reference's KV table: bytes per token (f16), GiB at 4K, GiB at 16K.
REFERENCE_KV = {
    "1.3b": (196_608, 0.75, 3.0),
    "6.7b": (524_288, 2.0, 8.0),
    "33b": (253_952, 0.97, 3.9),
    "7b-v1.5": (491_520, 1.9, None),
    "v2-lite": (276_480, 1.05, 4.2),
}
# MLA files: the reference derives 58,752 B/token assuming a V cache (key 576 + value 512).
# llama.cpp allocates no V cache for MLA (src/llama-kv-cache.cpp: has_v = !is_mla), so the
# cache holds only the 576-wide compressed K: 27 x 576 x 2 = 31,104 B/token.
MLA_KV_PER_TOKEN = 31_104


@pytest.fixture(scope="module")
def headers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, GgufInfo]:
    folder = tmp_path_factory.mktemp("shapes")
    return {key: read_gguf_info(write_synthetic_gguf(folder / f"{key}.gguf", shape)) for key, shape in SHAPES.items()}


@pytest.mark.parametrize("key", sorted(REFERENCE_KV))
def test_kv_cache_matches_the_reference_table(headers: dict[str, GgufInfo], key: str) -> None:
    per_token, gib_4k, gib_16k = REFERENCE_KV[key]
    info = headers[key]
    assert info.kv_bytes_per_token_f16 == per_token
    assert estimate_memory(info, n_ctx=4096).kv_bytes == per_token * 4096
    assert round(estimate_memory(info, n_ctx=4096).kv_bytes / GIB, 2) == pytest.approx(gib_4k, abs=0.03)
    if gib_16k is not None:
        assert round(estimate_memory(info, n_ctx=16384).kv_bytes / GIB, 1) == pytest.approx(gib_16k, abs=0.05)


def test_mla_file_keeps_only_the_compressed_k(headers: dict[str, GgufInfo]) -> None:
    mla = headers["v2-lite-mla"]
    assert mla.kv_bytes_per_token_f16 == MLA_KV_PER_TOKEN
    assert estimate_memory(mla, n_ctx=4096).kv_bytes == MLA_KV_PER_TOKEN * 4096
    pre_mla = estimate_memory(headers["v2-lite"], n_ctx=16384).kv_bytes
    assert estimate_memory(mla, n_ctx=16384).kv_bytes < pre_mla / 8


def test_context_is_padded_to_256(headers: dict[str, GgufInfo]) -> None:
    info = headers["1.3b"]
    assert pad_ctx(1000) == 1024 and pad_ctx(1024) == 1024 and pad_ctx(1) == 256
    assert estimate_memory(info, n_ctx=1000).kv_bytes == estimate_memory(info, n_ctx=1024).kv_bytes
    assert estimate_memory(info, n_ctx=1000).n_ctx == 1024


def test_quantized_kv_cache(headers: dict[str, GgufInfo]) -> None:
    shape = model_shape(headers["6.7b"])
    f16 = kv_cache_bytes(shape, 4096, "f16")
    assert kv_cache_bytes(shape, 4096, "q8_0") == f16 * 34 // 64
    assert kv_cache_bytes(shape, 4096, "q4_0") == f16 * 18 // 64
    with pytest.raises(ValueError):
        kv_cache_bytes(shape, 4096, "q5_1")


def test_cpu_only_keeps_everything_in_ram(headers: dict[str, GgufInfo]) -> None:
    info = headers["6.7b"]
    est = estimate_memory(info, n_gpu_layers=0, n_ctx=4096)
    assert est.vram_bytes == 0 and est.weights_vram_bytes == 0
    assert est.weights_ram_bytes == info.tensor_data_bytes
    assert est.ram_bytes == est.weights_bytes + est.kv_bytes + est.compute_bytes + est.overhead_ram_bytes
    # The ram estimate covers file size + KV at full context, as the reference's rule of thumb.
    assert est.ram_bytes > info.file_size + est.kv_bytes


def test_full_offload_moves_layers_and_output_not_embeddings(headers: dict[str, GgufInfo]) -> None:
    info = headers["6.7b"]
    est = estimate_memory(info, n_gpu_layers=-1, n_ctx=4096)
    assert est.full_gpu and est.n_gpu_layers == 33
    assert est.weights_vram_bytes == sum(info.layer_tensor_bytes.values()) + info.output_bytes
    assert est.weights_ram_bytes == info.token_embd_bytes  # the input layer stays on the CPU
    assert est.kv_ram_bytes == 0 and est.kv_vram_bytes == est.kv_bytes
    assert estimate_memory(info, n_gpu_layers=999, n_ctx=4096) == est


def test_one_gpu_layer_is_the_output_layer(headers: dict[str, GgufInfo]) -> None:
    info = headers["1.3b"]
    est = estimate_memory(info, n_gpu_layers=1, n_ctx=2048)
    assert est.weights_vram_bytes == info.output_bytes
    assert est.kv_vram_bytes == 0


def test_partial_offload_takes_the_last_layers(headers: dict[str, GgufInfo]) -> None:
    info = headers["v2-lite"]  # layer 0 is dense and smaller than the MoE layers
    est = estimate_memory(info, n_gpu_layers=11, n_ctx=4096)
    last_ten = sum(info.layer_tensor_bytes[i] for i in range(17, 27))
    assert est.weights_vram_bytes == last_ten + info.output_bytes
    assert est.kv_vram_bytes == est.kv_bytes * 10 // 27
    assert est.weights_ram_bytes + est.weights_vram_bytes == info.tensor_data_bytes


def test_more_layers_move_memory_from_ram_to_vram(headers: dict[str, GgufInfo]) -> None:
    info = headers["33b"]
    previous = estimate_memory(info, n_gpu_layers=1, n_ctx=4096)
    for layers in (10, 30, 50, 63):
        est = estimate_memory(info, n_gpu_layers=layers, n_ctx=4096)
        assert est.vram_bytes > previous.vram_bytes
        assert est.weights_ram_bytes < previous.weights_ram_bytes
        previous = est


def test_memory_grows_with_context(headers: dict[str, GgufInfo]) -> None:
    info = headers["6.7b"]
    sizes = [estimate_memory(info, n_ctx=ctx).ram_bytes for ctx in (512, 2048, 4096, 8192, 16384)]
    assert sizes == sorted(sizes) and len(set(sizes)) == len(sizes)


def test_flash_attention_shrinks_the_compute_buffer(headers: dict[str, GgufInfo]) -> None:
    info = headers["6.7b"]
    plain = estimate_memory(info, n_ctx=16384, n_gpu_layers=-1)
    flash = estimate_memory(info, n_ctx=16384, n_gpu_layers=-1, flash_attn=True)
    assert flash.compute_bytes < plain.compute_bytes
    assert flash.kv_bytes == plain.kv_bytes
    small_batch = estimate_memory(info, n_ctx=16384, n_gpu_layers=-1, n_batch=128, n_ubatch=128)
    assert small_batch.compute_bytes < plain.compute_bytes


def test_two_gpus_pay_two_runtime_contexts(headers: dict[str, GgufInfo]) -> None:
    info = headers["33b"]
    one = estimate_memory(info, n_gpu_layers=-1, n_ctx=4096, n_gpus=1)
    two = estimate_memory(info, n_gpu_layers=-1, n_ctx=4096, n_gpus=2)
    assert two.vram_bytes > one.vram_bytes
    assert two.weights_vram_bytes == one.weights_vram_bytes


def test_unified_memory_has_no_separate_gpu_runtime(headers: dict[str, GgufInfo]) -> None:
    info = headers["6.7b"]
    discrete = estimate_memory(info, n_gpu_layers=-1, n_ctx=4096)
    unified = estimate_memory(info, n_gpu_layers=-1, n_ctx=4096, unified_memory=True)
    assert unified.overhead_vram_bytes == 0 and unified.vram_bytes < discrete.vram_bytes


@pytest.mark.parametrize("entry_id", ["deepseek-coder-1.3b-instruct:Q4_K_M", "deepseek-coder-6.7b-instruct:Q4_K_M"])
def test_catalog_entry_estimate_is_close_to_the_header_estimate(headers: dict[str, GgufInfo], entry_id: str) -> None:
    entry = load_catalog().get(entry_id)
    info = headers["1.3b" if "1.3b" in entry_id else "6.7b"]
    from_catalog = estimate_memory(entry, n_ctx=8192, n_gpu_layers=-1)
    from_header = estimate_memory(info, n_ctx=8192, n_gpu_layers=-1)
    assert from_catalog.kv_bytes == from_header.kv_bytes
    assert from_catalog.vram_bytes == pytest.approx(from_header.vram_bytes, rel=0.08)
    assert from_catalog.weights_bytes == pytest.approx(entry.size, rel=0.01)


def test_catalog_v2_lite_is_mostly_experts() -> None:
    shape = model_shape(load_catalog().get("deepseek-coder-v2-lite-instruct:Q4_K_M"))
    assert 0.8 < shape.expert_bytes / shape.weights_bytes < 1.0
    assert shape.expert_used_fraction == pytest.approx(6 / 64)


def test_cli_dict_has_exactly_the_issue_keys(tmp_path: Path, headers: dict[str, GgufInfo]) -> None:
    keys = set(estimate_memory(headers["1.3b"]).cli_dict())
    assert keys == {"weights_bytes", "kv_bytes", "compute_bytes", "ram_bytes", "vram_bytes"} | {
        "prompt_cache_bytes",  # issue 20: the cache on its own line, and what RAM counts
        "worst_case_ram_bytes",
        "ram_includes",
    }
