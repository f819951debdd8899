"""Writes tiny but real llama-architecture GGUF models, for the tests and `--self-test`.

The models have random weights, a byte-level SentencePiece vocabulary (256 byte
tokens plus printable characters and a few code words) and the DeepSeek-Coder
special tokens, so llama.cpp loads them in milliseconds and streams tokens through
exactly the code paths a real DeepSeek-Coder file uses: chat templates, FIM tokens,
stop tokens, cancel, crash. Variants cover the bad inputs the app must survive.

The output rows of every special token are zero, so greedy decoding never picks
one: answers run until max_tokens, which keeps stream and cancel tests
deterministic.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from pathlib import Path

import gguf
import numpy as np

from app.models.synthetic.writer import LlamaHeader, add_spm_vocabulary, byte_tokens, llama_writer
from app.protocol.deepseek import DS_BOS as BOS
from app.protocol.deepseek import DS_EOS as EOS
from app.protocol.deepseek import DS_EOT as EOT
from app.protocol.deepseek import DS_FIM_BEGIN as FIM_BEGIN
from app.protocol.deepseek import DS_FIM_END as FIM_END
from app.protocol.deepseek import DS_FIM_HOLE as FIM_HOLE
from app.protocol.deepseek import TEMPLATES_DIR as TEMPLATES

PAD = "<pad>"

# Template text that tries to escape the Jinja sandbox; it must never run.
HOSTILE_TEMPLATE = "{{ ''.__class__.__mro__[1].__subclasses__() }}{% for m in messages %}{{ m['content'] }}{% endfor %}"

_WORDS = [
    "▁def",
    "▁return",
    "▁class",
    "▁import",
    "▁if",
    "▁else",
    "▁for",
    "▁in",
    "▁the",
    "▁self",
    "▁print",
    "▁int",
    "▁str",
    "▁None",
    "▁True",
    "▁False",
    "()",
    "):",
    "▁=",
    "▁+",
    "▁-",
    "▁a",
    "▁b",
    "▁x",
    "▁y",
    "▁0",
    "▁1",
    "in",
    "er",
    "on",
    "re",
    "at",
]


@dataclass
class TinyModelSpec:
    """Shape and flavour of a tiny GGUF."""

    family: str = "deepseek-v1"  # deepseek-v1 | deepseek-v2 | plain (no DeepSeek tokens)
    chat_template: str | None = "family"  # "family": the family's template; None: no template
    n_embd: int = 64
    n_layer: int = 2
    n_head: int = 4
    n_head_kv: int = 4
    n_ff: int = 128
    context_length: int = 4096
    fim_tokens: bool = True
    dtype: type = np.float32
    seed: int = 1234
    extra_kv: dict[str, str] = field(default_factory=dict)


def _vocabulary(spec: TinyModelSpec) -> tuple[list[str], list[float], list[int], dict[str, int]]:
    tokens: list[str] = ["<unk>", *byte_tokens()]
    types: list[int] = [gguf.TokenType.UNKNOWN, *[gguf.TokenType.BYTE] * 256]
    pieces = ["▁"] + [c for c in string.printable if c not in string.whitespace] + _WORDS
    for piece in dict.fromkeys(pieces):
        tokens.append(piece)
        types.append(gguf.TokenType.NORMAL)
    specials: list[str] = []
    if spec.family in ("deepseek-v1", "deepseek-v2"):
        specials = [BOS, EOS]
        if spec.fim_tokens:
            specials += [FIM_HOLE, FIM_BEGIN, FIM_END]
        specials.append(PAD)
        if spec.family == "deepseek-v1":
            specials.append(EOT)
    else:
        specials = ["<s>", "</s>"]
    ids: dict[str, int] = {}
    for special in specials:
        ids[special] = len(tokens)
        tokens.append(special)
        types.append(gguf.TokenType.CONTROL)
    # SentencePiece merges prefer higher scores: longer pieces score higher.
    scores = [float(len(t)) if ty == gguf.TokenType.NORMAL else 0.0 for t, ty in zip(tokens, types, strict=False)]
    return tokens, scores, types, ids


def write_tiny_gguf(path: Path, spec: TinyModelSpec | None = None) -> Path:
    """Write a loadable tiny model to `path` and return it."""
    spec = spec or TinyModelSpec()
    rng = np.random.default_rng(spec.seed)
    tokens, scores, types, ids = _vocabulary(spec)
    n_vocab = len(tokens)
    head_dim = spec.n_embd // spec.n_head
    n_embd_kv = head_dim * spec.n_head_kv

    file_type = gguf.LlamaFileType.ALL_F32 if spec.dtype == np.float32 else gguf.LlamaFileType.MOSTLY_F16
    header = LlamaHeader(
        f"tiny-{spec.family}",
        spec.context_length,
        spec.n_embd,
        spec.n_layer,
        spec.n_ff,
        spec.n_head,
        spec.n_head_kv,
        file_type,
        rope_freq_base=10000.0,
    )
    writer = llama_writer(path, header)
    if spec.family in ("deepseek-v1", "deepseek-v2"):
        # The v1 instruct GGUFs end turns with <|EOT|>; V2 with its end-of-sentence token.
        eos = ids[EOT] if spec.family == "deepseek-v1" else ids[EOS]
        add_spm_vocabulary(writer, tokens, types, bos=ids[BOS], eos=eos, scores=scores)
        writer.add_pad_token_id(ids[PAD])
    else:
        add_spm_vocabulary(writer, tokens, types, bos=ids["<s>"], eos=ids["</s>"], scores=scores)
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(False)
    template = spec.chat_template
    if template == "family":
        template = (TEMPLATES / f"{spec.family}.jinja").read_text(encoding="utf-8") if spec.family != "plain" else None
    if template is not None:
        writer.add_chat_template(template)
    for key, value in spec.extra_kv.items():
        writer.add_string(key, value)

    def weight(rows: int, cols: int, scale: float = 0.5) -> np.ndarray:
        return (rng.standard_normal((rows, cols)) * scale / np.sqrt(cols)).astype(spec.dtype)

    def norm(n: int) -> np.ndarray:
        return np.ones(n, dtype=np.float32)

    writer.add_tensor("token_embd.weight", weight(n_vocab, spec.n_embd, 1.0))
    for layer in range(spec.n_layer):
        prefix = f"blk.{layer}"
        writer.add_tensor(f"{prefix}.attn_norm.weight", norm(spec.n_embd))
        writer.add_tensor(f"{prefix}.attn_q.weight", weight(spec.n_embd, spec.n_embd))
        writer.add_tensor(f"{prefix}.attn_k.weight", weight(n_embd_kv, spec.n_embd))
        writer.add_tensor(f"{prefix}.attn_v.weight", weight(n_embd_kv, spec.n_embd))
        writer.add_tensor(f"{prefix}.attn_output.weight", weight(spec.n_embd, spec.n_embd))
        writer.add_tensor(f"{prefix}.ffn_norm.weight", norm(spec.n_embd))
        writer.add_tensor(f"{prefix}.ffn_gate.weight", weight(spec.n_ff, spec.n_embd))
        writer.add_tensor(f"{prefix}.ffn_up.weight", weight(spec.n_ff, spec.n_embd))
        writer.add_tensor(f"{prefix}.ffn_down.weight", weight(spec.n_embd, spec.n_ff))
    writer.add_tensor("output_norm.weight", norm(spec.n_embd))
    output = weight(n_vocab, spec.n_embd, 4.0)
    for token_id, token_type in enumerate(types):
        if token_type != gguf.TokenType.NORMAL:
            output[token_id, :] = 0  # never chosen greedily: answers run to max_tokens
    writer.add_tensor("output.weight", output)

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def write_truncated_gguf(path: Path, source: Path, keep_fraction: float = 0.5) -> Path:
    """A copy of `source` cut short, as a dropped download leaves it."""
    data = source.read_bytes()
    path.write_bytes(data[: int(len(data) * keep_fraction)])
    return path


# Shapes used by the tests.
TINY = TinyModelSpec()
TINY_V2 = TinyModelSpec(family="deepseek-v2")
TINY_NO_TEMPLATE = TinyModelSpec(chat_template=None)
TINY_HOSTILE = TinyModelSpec(chat_template=HOSTILE_TEMPLATE)
TINY_NO_FIM = TinyModelSpec(family="plain", fim_tokens=False)
# Large enough that a few thousand prompt tokens take seconds to process on 2 cores.
SLOW_PROMPT = TinyModelSpec(n_embd=512, n_layer=8, n_head=8, n_head_kv=8, n_ff=1536, dtype=np.float16)
