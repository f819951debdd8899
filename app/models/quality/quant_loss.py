"""What a quantization is expected to cost, and how much of a measured difference is noise.

**Expected loss, per quant, for files not yet measured.** Points of pass@1 taken off the
variant's published score. No paper measures pass@1 per GGUF quant of these models, so
the table follows the one systematic measure llama.cpp publishes, its quantizer's
perplexity increase over F16 (tools/quantize/quantize.cpp, `QUANT_OPTIONS`, measured
on Llama-3-8B): Q8_0 +0.0026, Q6_K +0.0217, Q5_K_M +0.0569, Q4_K_M +0.1754,
Q3_K_M +0.6569, Q2_K +3.5199. The points keep that order and its jumps (small down to
Q4_K_M, large below 4 bits), on the scale of what users measured on code: Aider's
leaderboard found Qwen2.5-Coder-32B-Instruct at 71.4% in BF16 and 53.4% as Q4_K_M
served by Ollama (a drop that also has other causes, Ollama's small default context
among them), so a few points at Q4_K_M is a conservative expectation, not an upper
bound. A measured score always replaces this table.

**Noise.** A suite of n problems measures pass@1 p with a binomial standard error of
sqrt(p(1-p)/n). Two measurements differ by more than noise only when they differ by
more than one standard error of the difference (sqrt(2) times that, at the worse p of
0.5 when unknown): the 24 quick problems give a margin of 14.4 points, the full 164 give
5.5. Two files closer than that are "the same" and the smaller, faster one is preferred.
"""

from __future__ import annotations

import math

# Points of pass@1 below the published figure, by quant (see the module's text for sources).
EXPECTED_LOSS_POINTS: dict[str, float] = {
    "Q8_0": 0.0,
    "Q6_K": 0.5,
    "Q5_K_M": 1.0,
    "Q4_K_M": 2.0,
    "Q3_K_M": 5.0,
    "Q2_K": 12.0,
}
# llama.cpp's quantizer's perplexity increase over F16 at Llama-3-8B (the table's source).
PERPLEXITY_INCREASE: dict[str, float] = {
    "Q8_0": 0.0026,
    "Q6_K": 0.0217,
    "Q5_K_M": 0.0569,
    "Q4_K_M": 0.1754,
    "Q3_K_M": 0.6569,
    "Q2_K": 3.5199,
}
UNKNOWN_QUANT_LOSS = 5.0  # a quant the table does not name: as a 3-bit one


def expected_loss_points(quant: str | None) -> float:
    return EXPECTED_LOSS_POINTS.get((quant or "").upper(), UNKNOWN_QUANT_LOSS)


def standard_error(problems: int, pass_rate: float = 0.5) -> float:
    """One binomial standard error of a pass@1 measured on `problems` problems (a fraction)."""
    if problems <= 0:
        return 1.0
    p = min(max(pass_rate, 0.0), 1.0)
    return math.sqrt(max(p * (1 - p), 1e-4) / problems)


def noise_margin(problems: int, pass_rate: float = 0.5) -> float:
    """The smallest difference between two such measurements that is more than noise (a fraction):
    one standard error of the difference of two independent measurements."""
    return math.sqrt(2) * standard_error(problems, pass_rate)
