"""The shipped catalog: every DeepSeek-Coder variant and quant from the reference."""

from __future__ import annotations

import re

import pytest

from app.models.catalog import QUANT_ORDER, CatalogEntry, load_catalog
from app.utils.errors import DscoderError

VARIANTS = {
    "deepseek-coder-1.3b-base",
    "deepseek-coder-1.3b-instruct",
    "deepseek-coder-6.7b-base",
    "deepseek-coder-6.7b-instruct",
    "deepseek-coder-33b-base",
    "deepseek-coder-33b-instruct",
    "deepseek-coder-7b-base-v1.5",
    "deepseek-coder-7b-instruct-v1.5",
    "deepseek-coder-v2-lite-base",
    "deepseek-coder-v2-lite-instruct",
    "deepseek-coder-v2-instruct",
}
# Exact sizes and hashes the reference gives at the pinned revisions.
EXACT = {
    "deepseek-coder-1.3b-instruct:Q4_K_M": (
        873_582_624,
        "04cebb6fafa40ae628cf6bfeb76032ec792852f54020c559ad0a56b9f2839118",
    ),
    "deepseek-coder-6.7b-instruct:Q4_K_M": (
        4_083_015_904,
        "92da6238854f2fa902d8b2ad79d548536af1d3ab06821f323bd5bbcea2013276",
    ),
    "deepseek-coder-v2-lite-instruct:Q8_0": (
        16_702_518_016,
        "af12f49d16dc54f2148af3f6dc3ee5de9461e8586a1d13e279b7e7623bf796fb",
    ),
    "deepseek-coder-6.7b-instruct:Q8_0": (7_163_879_648, None),
    "deepseek-coder-v2-lite-instruct:Q2_K": (6_430_464_768, None),
}
# KV cache bytes per token (f16) from the reference, for the conversions the catalog lists.
KV_PER_TOKEN = {
    "1.3b": 196_608,
    "6.7b": 524_288,
    "33b": 253_952,
    "7b-v1.5": 491_520,
    "v2-lite": 276_480,
    "v2": 4_915_200,
}


def test_every_variant_and_quant_is_listed() -> None:
    catalog = load_catalog()
    assert set(catalog.variants()) == VARIANTS
    for variant in VARIANTS - {"deepseek-coder-7b-instruct-v1.5"}:
        assert {e.quant for e in catalog.for_variant(variant)} == set(QUANT_ORDER), variant
    assert {e.quant for e in catalog.for_variant("deepseek-coder-7b-instruct-v1.5")} == set(QUANT_ORDER) - {"Q2_K"}


def test_ids_are_variant_colon_quant_and_unique() -> None:
    entries = load_catalog().entries
    assert len({e.id for e in entries}) == len(entries)
    for entry in entries:
        assert entry.id == f"{entry.variant}:{entry.quant}"


@pytest.mark.parametrize(("entry_id", "expected"), EXACT.items())
def test_reference_sizes_and_hashes(entry_id: str, expected: tuple[int, str | None]) -> None:
    entry = load_catalog().get(entry_id)
    size, sha = expected
    assert entry.size == size
    assert entry.size_exact
    assert entry.is_pinned and re.fullmatch(r"[0-9a-f]{40}", entry.revision)
    assert entry.files[0].sha256 == sha


def test_approximate_sizes_are_marked_and_unpinned_revisions_say_so() -> None:
    for entry in load_catalog().entries:
        if entry.variant.startswith("deepseek-coder-33b"):
            assert not entry.size_exact
        if not entry.is_pinned:
            assert entry.revision == "main"
            assert "unpinned" in entry.comment


def test_split_and_concat_files() -> None:
    catalog = load_catalog()
    split = catalog.get("deepseek-coder-v2-instruct:Q4_K_M")
    assert split.join == "split"
    assert [f.name.rsplit("-", 3)[-3:] for f in split.files][0] == ["00001", "of", "00004.gguf"]
    assert split.local_file_name == "DeepSeek-Coder-V2-Instruct-Q4_K_M-00001-of-00004.gguf"
    assert round(split.size / 1e9, 1) == 142.4 or round(split.size / 1e9, 2) == 142.45
    concat = catalog.get("deepseek-coder-v2-instruct:Q8_0")
    assert concat.join == "concat"
    assert [f.name for f in concat.files][-1].endswith(".gguf.part6of6")
    assert concat.local_file_name == "DeepSeek-Coder-V2-Instruct.Q8_0.gguf"
    assert round(concat.size / 1e9, 1) == 250.7
    assert catalog.get("deepseek-coder-6.7b-instruct:Q4_K_M").join is None


def test_size_is_the_sum_of_files() -> None:
    for entry in load_catalog().entries:
        assert entry.size == sum(f.size for f in entry.files) > 0


def test_purpose_and_fim() -> None:
    catalog = load_catalog()
    base = catalog.get("deepseek-coder-6.7b-base:Q4_K_M")
    assert base.purpose == ("completion",) and base.fim is True
    instruct = catalog.get("deepseek-coder-6.7b-instruct:Q4_K_M")
    assert instruct.purpose == ("chat",) and instruct.fim == "unofficial"
    lite = catalog.get("deepseek-coder-v2-lite-instruct:Q4_K_M")
    assert set(lite.purpose) == {"chat", "completion"} and lite.fim is True
    assert catalog.get("deepseek-coder-7b-instruct-v1.5:Q4_K_M").fim is False
    big = catalog.get("deepseek-coder-v2-instruct:Q4_K_M")
    assert big.fim is False and big.remote_only
    assert not any(e.remote_only for e in catalog.entries if e.family != "v2")


def test_hyperparameters_give_the_reference_kv_sizes() -> None:
    for entry in load_catalog().entries:
        hp = entry.hyperparameters
        per_token = hp.n_layer * hp.n_head_kv * (hp.key_length + hp.value_length) * 2
        assert per_token == KV_PER_TOKEN[entry.family], entry.id
        assert entry.context_length <= hp.n_ctx_train


def test_context_limits_and_scores() -> None:
    catalog = load_catalog()
    assert catalog.get("deepseek-coder-7b-base-v1.5:Q4_K_M").context_length == 4096
    assert catalog.get("deepseek-coder-33b-instruct:Q8_0").context_length == 16384
    assert catalog.get("deepseek-coder-33b-instruct:Q8_0").scores["humaneval_python"] == 79.3
    assert catalog.get("deepseek-coder-v2-lite-base:Q8_0").scores["humaneval_fim"] == 86.4
    assert all(e.license for e in catalog.entries)


def test_unknown_id_lists_close_ids() -> None:
    with pytest.raises(DscoderError) as caught:
        load_catalog().get("deepseek-coder-6.7b-instruct:Q4_K")
    assert "deepseek-coder-6.7b-instruct:Q4_K_M" in caught.value.todo


def test_catalog_is_cached_and_frozen() -> None:
    catalog = load_catalog()
    assert load_catalog() is catalog
    entry: CatalogEntry = catalog.entries[0]
    with pytest.raises(AttributeError):
        entry.quant = "Q8_0"  # type: ignore[misc]


def test_find_by_file_name() -> None:
    catalog = load_catalog()
    assert (
        catalog.find_by_file_name("deepseek-coder-6.7b-instruct.Q4_K_M.gguf").id
        == "deepseek-coder-6.7b-instruct:Q4_K_M"
    )
    assert catalog.find_by_file_name("unknown.gguf") is None
