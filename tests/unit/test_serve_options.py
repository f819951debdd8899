"""`dscoder serve` loads the model as the window does: the settings file's load options,
with only the flags given overriding them."""

from __future__ import annotations

from dataclasses import replace

from app.cli import build_parser
from app.commands.serve import serve_options
from app.config.settings import Settings
from app.protocol.options import MIB, load_options_for


def _options(settings: Settings, *flags: str):
    return serve_options(build_parser().parse_args(["serve", "--model", "m.gguf", *flags]), settings)


def test_without_flags_serve_loads_with_the_windows_options() -> None:
    settings = replace(
        Settings(), n_batch=256, n_ubatch=128, flash_attn=True, kv_cache_type="q8_0", n_ctx=8192, prompt_lookup=False
    )
    options = _options(settings)
    assert options == load_options_for(settings, "m.gguf")
    assert (options.n_batch, options.n_ubatch, options.flash_attn) == (256, 128, True)
    assert (options.kv_cache_type, options.n_ctx, options.prompt_lookup) == ("q8_0", 8192, False)


def test_a_flag_overrides_only_its_own_setting() -> None:
    settings = replace(Settings(), n_batch=256, kv_cache_type="q8_0", n_ctx=8192, prompt_cache_disk_mib=512)
    options = _options(
        settings, "--ctx", "2048", "--kv-cache-type", "f16", "--threads", "3", "--prompt-cache-disk-mib", "0"
    )
    assert (options.n_ctx, options.kv_cache_type, options.n_threads) == (2048, "f16", 3)
    assert options.prompt_cache_spill_bytes == 0
    assert options.n_batch == 256  # not given: the setting's
    assert _options(settings, "--prompt-cache-mib", "64").prompt_cache_bytes == 64 * MIB
    assert _options(settings, "--prompt-cache-mib", "0").prompt_cache_bytes == -1  # 0: automatic
