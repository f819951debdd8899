"""Memory estimate for running one model in the engine: RAM and VRAM.

Input is a model's shape (shape.py: from a GGUF header, real tensor sizes per layer,
or before a download from a catalog entry, per-layer sizes derived). The placement follows llama.cpp (src/llama-model.cpp, load_tensors):
with `n_gpu_layers = g`, the output layer is offloaded first, then the last g-1
repeating layers; token embeddings always stay on the CPU. Each layer's KV cache
lives with its layer. The KV cache size follows src/llama-kv-cache.cpp: context
padded to 256, K and V per layer, and no V cache for MLA files.

The constants marked "calibrate" are first guesses; tests/bench/memory_accuracy.py
measures the real engine's peak RSS against these estimates.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from app.models.catalog import CatalogEntry
from app.models.gguf import GgufInfo
from app.models.planning.shape import ModelMemoryShape, model_shape
from app.protocol.options import LoadOptions
from app.utils.units import MIB

KV_TYPES = ("f16", "q8_0", "q4_0")
# Bytes per cached element: f16 is 2; q8_0 and q4_0 are ggml blocks of 32 values in
# 34 and 18 bytes (GGML_QUANT_SIZES).
KV_BYTES_PER_ELEMENT = {"f16": 2.0, "q8_0": 34 / 32, "q4_0": 18 / 32}
CTX_PAD = 256  # llama_context pads n_ctx to a multiple of 256

# Fixed overheads and compute-buffer factors. The RAM side is calibrated on this
# project's engine, CPU only (tests/bench/memory_accuracy.py, README's accuracy table),
# re-measured for issue 20 on an AMD EPYC (AVX-512, 2 cores) with llama.cpp 0.3.x: the
# engine's RSS at load and as a context fills, step by step (the test model, a
# DeepSeek-Coder-1.3B shape). The GPU side is not measured yet: its constants follow the
# buffer sizes llama.cpp logs and must be calibrated on a GPU machine with the same script.
#
# Peak RSS of the engine process (Python, llama_cpp and the server stack) with a
# negligible model loaded: measured 80 MiB ...
ENGINE_BASELINE_RSS_BYTES = 80 * MIB
# ... and per token of the model's vocabulary (llama.cpp's token tables, the engine's own
# decoded pieces): 43 MiB more for the test model's 151,936 tokens.
VOCAB_RSS_BYTES_PER_TOKEN = 300
# Host memory the GPU runtime maps when a GPU backend is used (CUDA/ROCm libraries,
# pinned staging buffers). Not measured.
GPU_RUNTIME_RSS_BYTES = 300 * MIB
# VRAM taken by the GPU runtime per device before any tensor (CUDA context, cuBLAS
# workspace). Not measured.
GPU_CONTEXT_VRAM_BYTES = 350 * MIB
# Compute graph scratch beyond the terms below (ggml-alloc alignment, graph nodes).
COMPUTE_FIXED_BYTES = 8 * MIB
# The CPU compute buffer is reserved whole but only the pages a graph writes are resident,
# and ggml-alloc lays the attention scores and the feed-forward activations of a ubatch over
# the same memory: the peak is the larger of the two. Copies of the KQ score matrix
# (n_kv x n_ubatch x n_head, f32) resident at a full context, without flash attention:
# measured 1.5 (the scores and the softmax output overlap partly) ...
KQ_LIVE_COPIES = 1.5
# ... and the feed-forward side, in units of ubatch x (n_embd + n_ff) f32 values: measured
# 3.25 (gate, up, their product, the norms and residuals) at a short context.
ACTIVATION_LIVE_TENSORS = 3.25
# GPU compute buffers are allocated whole (every byte counts, touched or not); llama.cpp
# sizes them for the worst ubatch, where the scores and the logits do not overlap.
GPU_ACTIVATION_LIVE_TENSORS = 1.5
# llama.cpp's CPU backend copies the matrices of some weight types into an interleaved
# layout when it loads them (its "CPU_REPACK" buffer), for faster matrix kernels; the
# mapped file stays resident as well, so those weights count twice. Which types, by the
# kernels the CPU has (ggml-cpu/repack.cpp; on x86 checked with this project's benchmark
# models: Q2_K, Q4_0 and Q4_K repack with AVX2 or AVX-512, Q3_K, Q5_*, Q6_K and Q8_0 do not).
# A CPU with AMX loads without the extra buffers (app/engine/backends.py): nothing repacks.
X86_REPACKED_TYPES = frozenset({"Q2_K", "Q4_0", "Q4_K", "IQ4_NL"})
ARM_REPACKED_TYPES = frozenset({"Q4_0", "IQ4_NL", "Q4_K", "Q8_0"})


def repacked_types(cpu_flags: Collection[str], arch: str = "") -> frozenset[str]:
    """The weight types llama.cpp repacks on a CPU with these flags (probe.py's SIMD flags)."""
    flags = {flag.lower() for flag in cpu_flags}
    if any(flag.startswith("amx") for flag in flags):
        return frozenset()
    if "avx2" in flags:
        return X86_REPACKED_TYPES
    if "neon" in flags or arch.lower() in ("arm64", "aarch64"):
        return ARM_REPACKED_TYPES
    return frozenset()


@dataclass(frozen=True)
class MemoryEstimate:
    n_ctx: int  # padded context
    n_gpu_layers: int  # effective: 0 .. n_layer + 1
    n_layer: int
    kv_type: str
    flash_attn: bool
    weights_bytes: int
    weights_ram_bytes: int
    weights_vram_bytes: int
    kv_bytes: int
    kv_ram_bytes: int
    kv_vram_bytes: int
    compute_bytes: int
    compute_ram_bytes: int
    compute_vram_bytes: int
    overhead_ram_bytes: int
    overhead_vram_bytes: int
    ram_bytes: int  # expected peak RSS of the engine process in real use (see RAM_INCLUDES); no prompt cache
    vram_bytes: int  # total over the GPUs used
    measured: bool = False  # from a load of this very file with these settings (app/models/planning/measured.py)
    # The engine's second context (inline completion), already in the kv_* and compute_*
    # figures (the weights are shared, these are not), and the prompt-state cache's budget:
    # its own line, never in ram_bytes (it fills by design, up to its budget, and gives
    # way first); worst_case_ram_bytes adds it.
    completion_ctx: int = 0
    completion_kv_bytes: int = 0
    completion_compute_bytes: int = 0
    prompt_cache_bytes: int = 0
    repacked_ram_bytes: int = 0  # weights llama.cpp copied into its repacked layout (in ram_bytes)

    @property
    def full_gpu(self) -> bool:
        return self.n_gpu_layers >= self.n_layer + 1

    @property
    def needed_ram_bytes(self) -> int:
        """The RAM a load needs: ram_bytes less the mapped file's pages of the repacked weights,
        which stay resident after the repack but are never read again (the system drops them
        when it needs the memory). Plans and the check before a load use this."""
        return self.ram_bytes - self.repacked_ram_bytes

    @property
    def worst_case_ram_bytes(self) -> int:
        """RAM if every context and the prompt cache were full at once: what the plan keeps free."""
        return self.ram_bytes + self.prompt_cache_bytes

    def includes(self) -> str:
        """What ram_bytes counts, in words (`dscoder estimate` prints it)."""
        contexts = f"the chat context ({self.n_ctx:,} tokens)"
        if self.completion_ctx:
            contexts += f" and the completion context ({self.completion_ctx:,} tokens)"
        return (
            f"RAM counts the weights, {contexts} filled, the compute buffers at their peak and the engine "
            "itself; the prompt cache is its own line, at its budget (the worst case adds it)"
        )

    def cli_dict(self) -> dict[str, object]:
        return {
            "weights_bytes": self.weights_bytes,
            "kv_bytes": self.kv_bytes,
            "compute_bytes": self.compute_bytes,
            "ram_bytes": self.ram_bytes,
            "vram_bytes": self.vram_bytes,
            "prompt_cache_bytes": self.prompt_cache_bytes,
            "worst_case_ram_bytes": self.worst_case_ram_bytes,
            "ram_includes": self.includes(),
        }


def pad_ctx(n_ctx: int) -> int:
    return max(CTX_PAD, -(-n_ctx // CTX_PAD) * CTX_PAD)


def kv_cache_bytes(shape: ModelMemoryShape, n_ctx: int, kv_type: str = "f16", n_layers: int | None = None) -> int:
    """KV cache bytes for n_layers layers (default all) at the padded context."""
    if kv_type not in KV_BYTES_PER_ELEMENT:
        raise ValueError(f"unknown KV cache type {kv_type!r}; use one of {', '.join(KV_TYPES)}")
    layers = shape.n_layer if n_layers is None else n_layers
    elements = pad_ctx(n_ctx) * layers * (shape.kv_k_per_layer + shape.kv_v_per_layer)
    return int(elements * KV_BYTES_PER_ELEMENT[kv_type])


def compute_buffer_bytes(
    shape: ModelMemoryShape, n_ctx: int, n_ubatch: int, flash_attn: bool, *, gpu: bool = False
) -> int:
    """One backend's compute buffer at the peak of a full-context prompt (calibrate).

    Without flash attention the KQ scores of one layer are materialised in f32:
    n_ctx x n_ubatch x n_head. ggml-alloc reuses memory across layers, so one layer's
    worth counts. On the CPU only the pages actually written are resident: a prompt
    asks for the logits of its last token only, so one row of logits counts, and the
    scores and the feed-forward activations share memory: the larger of the two counts. A
    GPU buffer is allocated whole, sized for all n_ubatch rows of logits.
    """
    ctx = pad_ctx(n_ctx)
    ubatch = max(1, min(n_ubatch, ctx))
    per_token = ubatch * (shape.n_embd + shape.n_ff) * 4
    scores = 0 if flash_attn else ctx * ubatch * shape.n_head * 4
    if gpu:
        logits = shape.vocab * ubatch * 4
        return int(max(scores, logits) + per_token * GPU_ACTIVATION_LIVE_TENSORS) + COMPUTE_FIXED_BYTES
    logits = shape.vocab * 4
    return int(max(scores * KQ_LIVE_COPIES, per_token * ACTIVATION_LIVE_TENSORS)) + logits + COMPUTE_FIXED_BYTES


def host_compute_bytes(shape: ModelMemoryShape, n_ctx: int, n_ubatch: int) -> int:
    """The CPU's compute buffer when every layer runs on the GPU: the input embeddings
    of one ubatch and the attention mask (n_ctx x n_ubatch, f16)."""
    ctx = pad_ctx(n_ctx)
    ubatch = max(1, min(n_ubatch, ctx))
    return ubatch * shape.n_embd * 4 * 2 + ctx * ubatch * 2 + COMPUTE_FIXED_BYTES


@dataclass(frozen=True)
class _Placement:
    """Where llama.cpp puts the weights for `gpu` offloaded layers (see the module doc)."""

    gpu: int  # effective n_gpu_layers: 0 .. n_layer + 1
    first_gpu_layer: int  # repeating layers from here on run on the GPU
    weights_ram: int
    weights_vram: int


def _place(shape: ModelMemoryShape, n_gpu_layers: int, n_gpus: int) -> _Placement:
    n_layer = shape.n_layer
    gpu = n_layer + 1 if n_gpu_layers < 0 else min(n_gpu_layers, n_layer + 1)
    if n_gpus <= 0:
        gpu = 0
    output_on_gpu = gpu >= 1
    first_gpu_layer = n_layer - max(0, gpu - 1)
    weights_vram = sum(shape.layer_bytes[first_gpu_layer:]) + (shape.output_bytes if output_on_gpu else 0)
    if output_on_gpu and shape.tied_output:
        weights_vram += shape.token_embd_bytes  # TENSOR_DUPLICATED on the output device
    weights_ram = (
        sum(shape.layer_bytes[:first_gpu_layer]) + shape.token_embd_bytes + (0 if output_on_gpu else shape.output_bytes)
    )
    return _Placement(gpu, first_gpu_layer, weights_ram, weights_vram)


def estimate_memory(
    model: GgufInfo | CatalogEntry | ModelMemoryShape,
    *,
    n_gpu_layers: int = 0,
    n_ctx: int = 4096,
    kv_type: str = "f16",
    n_batch: int = 512,
    n_ubatch: int = 512,
    flash_attn: bool = False,
    n_gpus: int = 1,
    unified_memory: bool = False,
    completion_ctx: int | None = 0,
    prompt_cache_bytes: int = 0,
    repacked: Collection[str] = (),
) -> MemoryEstimate:
    """RAM and VRAM to run `model` with this placement and context.

    n_gpu_layers: 0 for CPU only; -1 (or anything above n_layer) for all layers and
    the output. n_gpus: how many GPUs share the offloaded layers (each gets a runtime
    context and a compute buffer). unified_memory: Apple Silicon, where the GPU uses
    system RAM (Metal has no separate runtime context to count). completion_ctx: the
    engine's second KV context, for inline completion (0: not counted; None: the engine's
    default size, LoadOptions.completion_context); its KV cache and compute buffer sit where the chat KV context's
    do and are included in the kv_* and compute_* figures. prompt_cache_bytes: the
    prompt-state cache's budget, always in host RAM: its own line, out of ram_bytes (the
    planner keeps it free: `worst_case_ram_bytes`). repacked: the weight types this CPU
    repacks (`repacked_types`): their matrices on the CPU count twice.
    """
    shape = model_shape(model)
    ctx = pad_ctx(n_ctx)
    place = _place(shape, n_gpu_layers, n_gpus)
    ubatch = min(n_ubatch, n_batch, ctx)

    kv_total = kv_cache_bytes(shape, ctx, kv_type)
    kv_vram = kv_cache_bytes(shape, ctx, kv_type, max(0, place.gpu - 1))

    cpu_compute = compute_buffer_bytes(shape, ctx, ubatch, flash_attn)
    if place.gpu == 0:
        compute_ram, compute_vram = cpu_compute, 0
    else:
        compute_vram = compute_buffer_bytes(shape, ctx, ubatch, flash_attn, gpu=True) * n_gpus
        # Repeating layers still on the CPU need its full buffer; otherwise only the inputs.
        compute_ram = cpu_compute if place.first_gpu_layer > 0 else host_compute_bytes(shape, ctx, ubatch)

    if completion_ctx is None:
        completion_ctx = LoadOptions(model_path="").completion_context(ctx)
    second = _second_context(shape, completion_ctx, kv_type, ubatch, flash_attn, max(0, place.gpu - 1), n_gpus)
    kv_total += second[0] + second[1]
    kv_vram += second[1]
    compute_ram, compute_vram = compute_ram + second[2], compute_vram + second[3]
    discrete = place.gpu and not unified_memory
    overhead_ram = ENGINE_BASELINE_RSS_BYTES + VOCAB_RSS_BYTES_PER_TOKEN * shape.vocab
    overhead_ram += GPU_RUNTIME_RSS_BYTES if discrete else 0
    repacked_ram = _repacked_bytes(shape, place, repacked)
    overhead_vram = GPU_CONTEXT_VRAM_BYTES * n_gpus if discrete else 0
    kv_ram = kv_total - kv_vram
    return MemoryEstimate(
        n_ctx=ctx,
        n_gpu_layers=place.gpu,
        n_layer=shape.n_layer,
        kv_type=kv_type,
        flash_attn=flash_attn,
        weights_bytes=place.weights_ram + place.weights_vram,
        weights_ram_bytes=place.weights_ram,
        weights_vram_bytes=place.weights_vram,
        kv_bytes=kv_total,
        kv_ram_bytes=kv_ram,
        kv_vram_bytes=kv_vram,
        compute_bytes=compute_ram + compute_vram,
        compute_ram_bytes=compute_ram,
        compute_vram_bytes=compute_vram,
        overhead_ram_bytes=overhead_ram,
        overhead_vram_bytes=overhead_vram,
        ram_bytes=place.weights_ram + repacked_ram + kv_ram + compute_ram + overhead_ram,
        vram_bytes=(place.weights_vram + kv_vram + compute_vram + overhead_vram) if place.gpu else 0,
        completion_ctx=pad_ctx(completion_ctx) if completion_ctx > 0 else 0,
        completion_kv_bytes=second[0] + second[1],
        completion_compute_bytes=second[2] + second[3],
        prompt_cache_bytes=prompt_cache_bytes,
        repacked_ram_bytes=repacked_ram,
    )


def _repacked_bytes(shape: ModelMemoryShape, place: _Placement, repacked: Collection[str]) -> int:
    """Bytes of the CPU's matrices in a repacked type: the repeating layers on the CPU (their
    share of each type) and the output matrix when it stays there; never the token
    embeddings, which are read a row at a time."""
    if not repacked:
        return 0
    layers_total = sum(n for _name, n in shape.layer_types) or 1
    share = sum(n for name, n in shape.layer_types if name in repacked) / layers_total
    cpu_layers = sum(shape.layer_bytes[: place.first_gpu_layer])
    output = shape.output_bytes if place.gpu == 0 and shape.output_type in repacked and not shape.tied_output else 0
    return int(cpu_layers * share) + output


def _second_context(
    shape: ModelMemoryShape, n_ctx: int, kv_type: str, ubatch: int, flash_attn: bool, gpu_repeating: int, n_gpus: int
) -> tuple[int, int, int, int]:
    """(KV in RAM, KV in VRAM, compute in RAM, compute in VRAM) of a second context of n_ctx."""
    if n_ctx <= 0:
        return 0, 0, 0, 0
    ctx = pad_ctx(n_ctx)
    kv_vram = kv_cache_bytes(shape, ctx, kv_type, gpu_repeating)
    kv_ram = kv_cache_bytes(shape, ctx, kv_type) - kv_vram
    ub = min(ubatch, ctx)
    if gpu_repeating == 0:
        return kv_ram, kv_vram, compute_buffer_bytes(shape, ctx, ub, flash_attn), 0
    compute_vram = compute_buffer_bytes(shape, ctx, ub, flash_attn, gpu=True) * n_gpus
    compute_ram = compute_buffer_bytes(shape, ctx, ub, flash_attn) if gpu_repeating < shape.n_layer else 0
    return kv_ram, kv_vram, compute_ram or host_compute_bytes(shape, ctx, ub), compute_vram


def active_bytes_per_token(shape: ModelMemoryShape, weights_bytes: int) -> float:
    """Weight bytes read per generated token: all of a dense model, the used experts of a MoE."""
    unused = shape.expert_bytes * (1 - shape.expert_used_fraction)
    total = max(1, shape.weights_bytes)
    return weights_bytes * (1 - unused / total)


def estimate_load(
    model: GgufInfo | CatalogEntry | ModelMemoryShape,
    options: LoadOptions,
    *,
    n_gpu_layers: int | None = None,
    n_gpus: int = 1,
    unified_memory: bool = False,
    prompt_cache_bytes: int = 0,
    repacked: Collection[str] = (),
) -> MemoryEstimate:
    """The memory of loading `model` with the engine's `options`: both of its contexts
    (chat, and completion at its configured size) counted. `n_gpu_layers` overrides the
    options' layers (a what-if, or a machine without a usable GPU); prompt_cache_bytes is
    the cache's budget (see `prompt_cache_budget`), on its own line."""
    return estimate_memory(
        model,
        n_gpu_layers=options.n_gpu_layers if n_gpu_layers is None else n_gpu_layers,
        n_ctx=options.n_ctx,
        kv_type=options.kv_cache_type,
        n_batch=options.n_batch,
        n_ubatch=options.n_ubatch,
        flash_attn=options.flash_attn,
        n_gpus=n_gpus,
        unified_memory=unified_memory,
        completion_ctx=options.completion_context(options.n_ctx),
        prompt_cache_bytes=prompt_cache_bytes,
        repacked=repacked,
    )
