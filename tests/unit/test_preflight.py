"""Never an out-of-memory load: a load is checked against the memory free right now."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.hardware.gpus import BackendInfo, GpuDiscovery, GpuInfo
from app.hardware.probe import MemoryInfo
from app.models.planning.preflight import check_load, plan_and_check_load, require_fits_now
from app.models.synthetic.shapes import SHAPE_6_7B, write_synthetic_gguf
from app.protocol.options import ALL_GPU_LAYERS, AUTO_GPU_LAYERS, LoadOptions
from app.utils.errors import DscoderError
from app.utils.units import GIB

pytestmark = pytest.mark.slow  # check_load finds the GPUs in a child process (discover_gpus_isolated)


def free_ram(gib: float) -> MemoryInfo:
    return MemoryInfo(32 * GIB, int(gib * GIB), 0, 0)


def one_gpu(free_gib: float) -> GpuDiscovery:
    """What the GPU driver reports now (the one fake here: there is no GPU on the test machine)."""
    gpu = GpuInfo("NVIDIA GeForce RTX 3060", "nvidia", 12 * GIB, int(free_gib * GIB), backend_usable=True)
    return GpuDiscovery((gpu,), BackendInfo(True, ("CUDA", "CPU"), ("CUDA0: NVIDIA", "CPU")))


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_gguf(tmp_path_factory.mktemp("preflight") / "six-seven.gguf", SHAPE_6_7B)


def test_a_load_that_fits_now_passes(model: Path) -> None:
    check = check_load(LoadOptions(model_path=str(model), n_ctx=4096), memory=lambda: free_ram(20))
    assert check.fits and check.offers() == []
    require_fits_now(LoadOptions(model_path=str(model), n_ctx=4096), memory=lambda: free_ram(20))


def test_ram_taken_since_the_plan_offers_a_smaller_context(model: Path) -> None:
    options = LoadOptions(model_path=str(model), n_ctx=16384)  # 3.8 GB of weights + 8 GiB of KV
    check = check_load(options, memory=lambda: free_ram(7))
    assert not check.fits and check.fewer_layers is None
    assert check.smaller_context is not None and 1024 <= check.smaller_context.n_ctx < 8192
    assert check_load(check.smaller_context, memory=lambda: free_ram(7)).fits
    ctx = (
        f"{check.smaller_context.n_ctx // 1024}K"
        if check.smaller_context.n_ctx % 1024 == 0
        else str(check.smaller_context.n_ctx)
    )
    with pytest.raises(DscoderError) as caught:
        require_fits_now(options, memory=lambda: free_ram(7))
    message = str(caught.value)
    assert "would not fit in memory now" in message and "of RAM at 16K context" in message
    assert "free right now" in message and f"Load it with a {ctx} context" in message


def test_vram_taken_since_the_plan_offers_fewer_gpu_layers(model: Path) -> None:
    options = LoadOptions(model_path=str(model), n_ctx=4096, n_gpu_layers=ALL_GPU_LAYERS)
    check = check_load(options, memory=lambda: free_ram(20), discover=lambda: one_gpu(3))
    assert not check.fits
    assert check.fewer_layers is not None and 0 < check.fewer_layers.n_gpu_layers < 33
    assert check_load(check.fewer_layers, memory=lambda: free_ram(20), discover=lambda: one_gpu(3)).fits
    assert "of VRAM" in check.problem() and f"{check.fewer_layers.n_gpu_layers} GPU layers" in str(check.error())
    assert check_load(options, memory=lambda: free_ram(20), discover=lambda: one_gpu(11)).fits


def test_the_engines_layer_planner_checks_the_load_too(model: Path) -> None:
    options = LoadOptions(model_path=str(model), n_ctx=2048, n_gpu_layers=AUTO_GPU_LAYERS)
    planned = plan_and_check_load(options)  # "auto": the GPUs this build can drive (none here)
    assert planned.n_ctx == 2048 and planned.n_gpu_layers >= 0
    with pytest.raises(DscoderError) as caught:
        plan_and_check_load(LoadOptions(model_path=str(model), n_ctx=1 << 20))  # 512 GiB of KV cache
    assert "would not fit in memory now" in str(caught.value)
