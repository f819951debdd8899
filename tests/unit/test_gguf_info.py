"""read_gguf_info on real GGUF headers written by the gguf package."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.models.gguf import GgufInfo, quant_label, read_gguf_info
from app.models.synthetic.shapes import (
    SHAPE_1_3B,
    SHAPE_33B,
    SHAPE_TINY,
    SHAPE_V2_LITE,
    SHAPE_V2_LITE_MLA,
    write_synthetic_gguf,
)
from app.utils.errors import ModelFileError

V1_TEMPLATE = "{{ bos_token }}{% for m in messages %}### Instruction:\n{{ m['content'] }}\n{% endfor %}### Response:\n"


@pytest.fixture(scope="module")
def v1_instruct(tmp_path_factory: pytest.TempPathFactory) -> GgufInfo:
    path = tmp_path_factory.mktemp("gguf") / "deepseek-coder-1.3b-instruct.Q4_K_M.gguf"
    write_synthetic_gguf(
        path, SHAPE_1_3B, full_vocab=True, chat_template=V1_TEMPLATE, name="deepseek-coder-1.3b-instruct"
    )
    return read_gguf_info(path)


def test_reads_llama_hyperparameters_and_quant(v1_instruct: GgufInfo) -> None:
    info = v1_instruct
    assert info.architecture == "llama"
    assert info.name == "deepseek-coder-1.3b-instruct"
    assert info.quant == "Q4_K_M"
    assert (info.block_count, info.embedding_length, info.head_count, info.head_count_kv) == (24, 2048, 16, 16)
    assert (info.key_length, info.value_length) == (128, 128)  # defaults: embedding / heads
    assert info.context_length == 16384
    assert info.vocab_size == 32256
    assert 1.3e9 < info.parameter_count < 1.4e9
    assert info.kv_lora_rank is None and not info.is_mla


def test_groups_tensor_bytes_by_layer(v1_instruct: GgufInfo) -> None:
    info = v1_instruct
    assert sorted(info.layer_tensor_bytes) == list(range(24))
    assert len(set(info.layer_tensor_bytes.values())) == 1  # all v1 layers are alike
    assert set(info.non_layer_tensor_bytes) == {"token_embd.weight", "output_norm.weight", "output.weight"}
    total = sum(info.layer_tensor_bytes.values()) + sum(info.non_layer_tensor_bytes.values())
    assert total == info.tensor_data_bytes <= info.file_size
    assert info.output_bytes > info.token_embd_bytes  # output is Q6_K, embeddings Q4_K
    assert info.has_output_tensor


def test_finds_deepseek_fim_and_special_tokens_by_text(v1_instruct: GgufInfo) -> None:
    info = v1_instruct
    # DeepSeek's PSM order: begin = prefix, hole = suffix, end = middle.
    assert info.fim_tokens == {"pre": 32016, "suf": 32015, "mid": 32017}
    assert info.has_fim
    assert (info.bos_token_id, info.eos_token_id, info.eot_token_id) == (32013, 32021, 32021)
    assert info.chat_template == V1_TEMPLATE
    assert info.tokenizer_model == "llama"
    assert info.tokenizer_pre is None  # late-2023 files carry no pre-tokenizer


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (["<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"], {"pre": 3, "suf": 4, "mid": 5}),  # Qwen, StarCoder
        (["▁<PRE>", "▁<SUF>", "▁<MID>"], {"pre": 3, "suf": 4, "mid": 5}),  # CodeLlama
        (["<PRE>", "x", "y"], {"pre": 3, "suf": None, "mid": None}),
    ],
)
def test_finds_other_families_fim_tokens(tmp_path: Path, texts: list[str], expected: dict[str, int | None]) -> None:
    tokens = ["a", "b", "c", *texts] + [f"t{i}" for i in range(300 - 6)]
    info = read_gguf_info(write_synthetic_gguf(tmp_path / "m.gguf", SHAPE_TINY, tokens=tokens))
    assert info.fim_tokens == expected
    assert info.has_fim == all(v is not None for v in expected.values())


def test_fim_keys_win_over_token_texts(tmp_path: Path) -> None:
    path = write_synthetic_gguf(
        tmp_path / "m.gguf", SHAPE_TINY, fim_keys={"pre": 7, "suf": 8, "mid": 9}, tokenizer_pre="deepseek-coder"
    )
    info = read_gguf_info(path)
    assert info.fim_tokens == {"pre": 7, "suf": 8, "mid": 9}
    assert info.tokenizer_pre == "deepseek-coder"


def test_no_fim_tokens(tmp_path: Path) -> None:
    info = read_gguf_info(write_synthetic_gguf(tmp_path / "m.gguf", SHAPE_TINY))
    assert info.fim_tokens == {"pre": None, "suf": None, "mid": None}
    assert not info.has_fim


def test_deepseek2_pre_mla_header(tmp_path: Path) -> None:
    info = read_gguf_info(write_synthetic_gguf(tmp_path / "lite.gguf", SHAPE_V2_LITE))
    assert info.architecture == "deepseek2"
    assert (info.head_count_kv, info.key_length, info.value_length) == (16, 192, 128)
    assert not info.is_mla
    assert (info.kv_lora_rank, info.rope_dimension_count) == (512, 64)
    assert (info.expert_count, info.expert_used_count, info.expert_shared_count) == (64, 6, 2)
    assert info.leading_dense_block_count == 1
    assert 15.5e9 < info.parameter_count < 16e9
    assert info.expert_tensor_bytes > 0.8 * info.tensor_data_bytes
    # The dense first layer is smaller than the MoE layers after it.
    assert info.layer_tensor_bytes[0] < info.layer_tensor_bytes[1]


def test_deepseek2_mla_header(tmp_path: Path) -> None:
    info = read_gguf_info(write_synthetic_gguf(tmp_path / "mla.gguf", SHAPE_V2_LITE_MLA))
    assert info.is_mla
    assert (info.head_count_kv, info.key_length, info.value_length) == (1, 576, 512)
    assert (info.key_length_mla, info.value_length_mla) == (192, 128)


def test_33b_header_is_read_from_a_sparse_file(tmp_path: Path) -> None:
    path = write_synthetic_gguf(tmp_path / "33b.gguf", SHAPE_33B)
    info = read_gguf_info(path)
    assert info.file_size > 19e9
    assert os.stat(path).st_blocks * 512 < 64 * 1024 * 1024  # the data is a hole, not on disk
    assert (info.block_count, info.head_count, info.head_count_kv) == (62, 56, 8)
    assert 33e9 < info.parameter_count < 34e9


def test_quant_labels() -> None:
    assert quant_label(15) == "Q4_K_M"
    assert quant_label(7) == "Q8_0"
    assert quant_label(1) == "F16"
    assert quant_label(0) == "F32"
    assert quant_label(None) is None
    assert quant_label(999) is None


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="does not exist") as caught:
        read_gguf_info(tmp_path / "nope.gguf")
    assert caught.value.todo


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="folder"):
        read_gguf_info(tmp_path)


def test_not_gguf(tmp_path: Path) -> None:
    path = tmp_path / "model.gguf"
    path.write_bytes(b"PK\x03\x04 this is a zip file" * 10)
    with pytest.raises(ModelFileError, match="not a GGUF"):
        read_gguf_info(path)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "model.gguf"
    path.write_bytes(b"")
    with pytest.raises(ModelFileError, match="empty"):
        read_gguf_info(path)


def test_byte_split_part_is_explained(tmp_path: Path) -> None:
    path = tmp_path / "DeepSeek-Coder-V2-Instruct.Q8_0.gguf.part2of6"
    path.write_bytes(b"\x00" * 64)
    with pytest.raises(ModelFileError) as caught:
        read_gguf_info(path)
    assert "split download" in str(caught.value)


@pytest.mark.parametrize("keep", [10, 24, 200, 2000])
def test_truncated_header(tmp_path: Path, keep: int) -> None:
    full = write_synthetic_gguf(tmp_path / "full.gguf", SHAPE_TINY, extend=False)
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(full.read_bytes()[:keep])
    with pytest.raises(ModelFileError, match="damaged or incomplete") as caught:
        read_gguf_info(cut)
    assert "Download it again" in str(caught.value)


def test_file_shorter_than_its_tensor_data(tmp_path: Path) -> None:
    path = write_synthetic_gguf(tmp_path / "m.gguf", SHAPE_1_3B)
    os.truncate(path, path.stat().st_size // 2)
    with pytest.raises(ModelFileError, match="incomplete"):
        read_gguf_info(path)
