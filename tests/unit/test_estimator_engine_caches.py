"""The estimate counts what the engine adds to the weights: its completion context and the
prompt-state cache budget (the weights themselves are shared, so they count once)."""

from __future__ import annotations

from app.models.catalog import load_catalog
from app.models.planning.estimator import estimate_memory, kv_cache_bytes
from app.models.planning.shape import model_shape
from app.protocol.options import ALL_GPU_LAYERS, prompt_cache_budget
from app.utils.units import GIB, MIB

ENTRY = "deepseek-coder-6.7b-instruct:Q4_K_M"


def test_the_prompt_cache_budget_is_its_own_line_of_host_ram():
    entry = load_catalog().get(ENTRY)
    plain = estimate_memory(entry, n_ctx=4096)
    cached = estimate_memory(entry, n_ctx=4096, prompt_cache_bytes=512 * MIB)
    assert cached.ram_bytes == plain.ram_bytes  # real use, less what the cache holds
    assert cached.prompt_cache_bytes == 512 * MIB and plain.prompt_cache_bytes == 0
    assert cached.worst_case_ram_bytes - plain.worst_case_ram_bytes == 512 * MIB  # every context and the cache full
    json = cached.cli_dict()
    assert json["prompt_cache_bytes"] == 512 * MIB and json["worst_case_ram_bytes"] == cached.ram_bytes + 512 * MIB
    assert "prompt cache is its own line" in str(json["ram_includes"])
    on_gpu = estimate_memory(entry, n_ctx=4096, n_gpu_layers=ALL_GPU_LAYERS, prompt_cache_bytes=512 * MIB)
    assert on_gpu.vram_bytes == estimate_memory(entry, n_ctx=4096, n_gpu_layers=ALL_GPU_LAYERS).vram_bytes


def test_the_completion_context_adds_its_kv_and_compute_not_the_weights():
    entry = load_catalog().get(ENTRY)
    shape = model_shape(entry)
    plain = estimate_memory(entry, n_ctx=4096)
    both = estimate_memory(entry, n_ctx=4096, completion_ctx=2048)
    assert both.weights_bytes == plain.weights_bytes
    assert both.completion_kv_bytes == kv_cache_bytes(shape, 2048) == 1 * GIB  # 512 KiB a token, f16
    assert both.ram_bytes - plain.ram_bytes == both.completion_kv_bytes + both.completion_compute_bytes
    assert both.kv_bytes == plain.kv_bytes + 1 * GIB  # the engine's KV: both contexts
    assert estimate_memory(entry, n_ctx=4096, completion_ctx=None).completion_ctx == 2048  # the engine's default
    offloaded = estimate_memory(entry, n_ctx=4096, n_gpu_layers=ALL_GPU_LAYERS, completion_ctx=2048)
    all_gpu = estimate_memory(entry, n_ctx=4096, n_gpu_layers=ALL_GPU_LAYERS)
    assert offloaded.vram_bytes - all_gpu.vram_bytes >= 1 * GIB  # its KV sits with the layers, on the GPU
    assert offloaded.ram_bytes - all_gpu.ram_bytes < 64 * MIB


def test_the_default_budget_is_a_tenth_of_ram_up_to_two_gib():
    assert prompt_cache_budget(-1, 8 * GIB) == int(0.8 * GIB)
    assert prompt_cache_budget(-1, 64 * GIB) == 2 * GIB
    assert prompt_cache_budget(0, 64 * GIB) == 0
    assert prompt_cache_budget(300 * MIB, 64 * GIB) == 300 * MIB
