"""The benchmark child decodes the weight types' small models in turn, token by token, so none is read from L3."""

from __future__ import annotations

from app.engine.speed_timing import MIN_DECODE_TOKENS, WARMUP_TOKENS, interleaved_decode_seconds
from app.models.synthetic.bench import Q4_K, QuantType


class _RecordingLlama:
    """The llama.cpp edge: records which model evaluated what, in one shared order."""

    def __init__(self, name: str, order: list[tuple[str, int]]) -> None:
        self.name = name
        self.order = order

    def reset(self) -> None:
        pass

    def eval(self, tokens: list[int]) -> None:
        self.order.append((self.name, len(tokens)))


def test_each_decoded_token_of_a_model_is_separated_by_every_other_models_token() -> None:
    order: list[tuple[str, int]] = []
    types = [Q4_K, QuantType.Q2_K, QuantType.Q8_0]
    llms = {quant.name: _RecordingLlama(quant.name, order) for quant in types}
    seconds = interleaved_decode_seconds(llms, budget_s=0.0)
    assert all(len(s) == MIN_DECODE_TOKENS for s in seconds.values())
    decoded = [name for name, n_tokens in order if n_tokens == 1]
    assert order[: len(types)] == [(q.name, WARMUP_TOKENS) for q in types]  # each warmed up first
    assert decoded == [q.name for q in types] * MIN_DECODE_TOKENS  # Q4_K, Q2_K, Q8_0, Q4_K, ...
