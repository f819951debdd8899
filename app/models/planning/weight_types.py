"""Which ggml weight types a model's matrices are, and what each costs on this CPU.

llama.cpp's CPU kernels are often compute-bound, so a byte of Q8_0 weights decodes
faster than a byte of Q4_K and a Q5_0 matrix multiplies slower per parameter: the
benchmark measures each type's decode and prompt rate as a factor of Q4_K's
(app/hardware/machine_speed.py `TypeFactor`). A model read from its GGUF header knows the bytes
of each type in its repeating layers and the type of its output matrix; a catalog entry
derives them from its quantization's name as llama.cpp's quantizer mixes the types
(src/llama-quant.cpp, llama_tensor_get_type).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from app.hardware.machine_speed import TypeFactor

REFERENCE_TYPE = "Q4_K"  # the type the machine's main rates are measured with
TypeBytes = tuple[tuple[str, int], ...]  # (ggml type name, bytes), a model's repeating layers

# Shares of the repeating layers' bytes per type, by quantization name. The _M mixes keep
# attn_v and ffn_down one or two types higher in about half of the layers (the first and
# last eighth and every third between), about a fifth of a llama-shaped model's bytes.
_CATALOG_LAYER_MIX: dict[str, tuple[tuple[str, float], ...]] = {
    "Q2_K": (("Q2_K", 0.8), ("Q3_K", 0.2)),
    "Q3_K_S": (("Q3_K", 1.0),),
    "Q3_K_M": (("Q3_K", 0.7), ("Q4_K", 0.3)),
    "Q3_K_L": (("Q3_K", 0.6), ("Q5_K", 0.4)),
    "Q4_K_S": (("Q4_K", 1.0),),
    "Q4_K_M": (("Q4_K", 0.8), ("Q6_K", 0.2)),
    "Q5_K_S": (("Q5_K", 1.0),),
    "Q5_K_M": (("Q5_K", 0.8), ("Q6_K", 0.2)),
    "Q6_K": (("Q6_K", 1.0),),
    "Q8_0": (("Q8_0", 1.0),),
    "Q4_0": (("Q4_0", 1.0),),
    "Q5_0": (("Q5_0", 1.0),),
    "F16": (("F16", 1.0),),
    "BF16": (("BF16", 1.0),),
}
# The output matrix: Q6_K for every k-quant (and the legacy types), else the file's own type.
_CATALOG_OUTPUT_TYPE = {"Q8_0": "Q8_0", "F16": "F16", "BF16": "BF16"}
DEFAULT_OUTPUT_TYPE = "Q6_K"


def catalog_layer_types(quant: str, layer_bytes: int) -> TypeBytes:
    """The repeating layers' bytes per type for a catalog quantization (unknown: all Q4_K)."""
    mix = _CATALOG_LAYER_MIX.get(quant.upper(), ((REFERENCE_TYPE, 1.0),))
    return tuple((type_name, int(layer_bytes * share)) for type_name, share in mix)


def catalog_output_type(quant: str) -> str:
    return _CATALOG_OUTPUT_TYPE.get(quant.upper(), DEFAULT_OUTPUT_TYPE)


@functools.cache
def bits_per_weight(type_name: str) -> float:
    """Bits one weight of a ggml type takes (ggml's block sizes); Q4_K's for an unknown name."""
    from gguf import GGML_QUANT_SIZES, GGMLQuantizationType  # numpy with it: only when a model is planned

    try:
        block_values, block_bytes = GGML_QUANT_SIZES[GGMLQuantizationType[type_name]]
    except KeyError:
        return bits_per_weight(REFERENCE_TYPE)
    return block_bytes * 8 / block_values


def _factor_of(factors: Sequence[TypeFactor], type_name: str) -> TypeFactor:
    """A type's measured factors; 1.0 for a type the benchmark did not measure (IQ*, F16...)."""
    return next((f for f in factors if f.type_name == type_name), TypeFactor(type_name, 1.0, 1.0))


def decode_cost(types: TypeBytes, factors: Sequence[TypeFactor]) -> float:
    """Seconds a byte of these layers takes to decode, as a multiple of a Q4_K byte's."""
    total = sum(n_bytes for _name, n_bytes in types)
    if not factors or total <= 0:
        return 1.0
    return sum(n_bytes / _factor_of(factors, name).decode for name, n_bytes in types) / total


def prompt_cost(types: TypeBytes, factors: Sequence[TypeFactor]) -> float:
    """Seconds a parameter of these layers takes on a prompt, as a multiple of a Q4_K one's
    (each type weighs by its parameters: its bytes over its bits per weight)."""
    params = [(name, n_bytes * 8 / bits_per_weight(name)) for name, n_bytes in types]
    total = sum(count for _name, count in params)
    if not factors or total <= 0:
        return 1.0
    return sum(count / _factor_of(factors, name).prompt for name, count in params) / total


def output_decode_cost(type_name: str, factors: Sequence[TypeFactor]) -> float:
    """Seconds a byte of the output matrix takes to decode, as a multiple of a Q4_K byte's."""
    return 1.0 / _factor_of(factors, type_name).decode if type_name else 1.0
