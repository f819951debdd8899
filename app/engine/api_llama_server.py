"""llama-server's editor API, the one llama.vim and llama.vscode call: /infill, /completion
and /props (/health is the engine's own), translated onto the same runtime.

- /infill builds the prompt in the model's repository-level FIM format
  (app.engine.infill), runs it on the completion context (the one the window's inline
  completion uses, with its reuse after edits), and applies the app's FIM stop rules with
  the client's `n_indent` and `t_max_predict_ms` (app.engine.editor_rules).
  `n_predict: 0` (llama.vim's warm-up while the user moves around) only fills the context.
- /completion takes a raw prompt (text or token ids); a prompt with FIM tokens in it goes
  to the completion context too.
- Replies carry `content`, `stop`, `timings` (prompt_n, prompt_ms, predicted_n,
  predicted_ms, their rates, cache_n), `tokens_cached`, `truncated`; `response_fields`
  picks fields, nested ones by a flattened key (`timings/predicted_n`).
- Streams are server-sent events without OpenAI's `[DONE]`, as llama-server sends them.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import FastAPI, Request

from app import __version__
from app.config import sampling
from app.engine.editor_rules import EditorRules, limited
from app.engine.infill import ExtraChunk, InfillPrompt, build_infill
from app.engine.requests import sampling_from
from app.engine.runtime import CHAT, EngineModel
from app.engine.streaming import Events, collect, events_for, model_id_of, read_body, sse_stream
from app.protocol.fim_rules import FimFilter
from app.protocol.options import SamplingParams
from app.utils.errors import PromptError

_SAMPLER_KEYS = ("temperature", "top_k", "top_p", "min_p", "repeat_penalty", "seed", "stop")


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise PromptError(f"'{key}' must be a string")
    return value


def _number(body: dict[str, Any], key: str) -> float:
    value = body.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PromptError(f"'{key}' must be a number, not {value!r}")
    return float(value)


def _n_predict(body: dict[str, Any], room: int) -> int:
    """The answer's tokens: -1 is "as many as fit", 0 is "evaluate the prompt only"."""
    value = body.get("n_predict", body.get("max_tokens", sampling.COMPLETION_MAX_TOKENS))
    if isinstance(value, bool) or not isinstance(value, int) or value < -1:
        raise PromptError(f"'n_predict' must be a whole number from -1 up, not {value!r}")
    return room if value == -1 else value


def _params(body: dict[str, Any], n_predict: int) -> SamplingParams:
    samplers = body.get("samplers")
    if samplers is not None and not (isinstance(samplers, list) and all(isinstance(s, str) for s in samplers)):
        raise PromptError("'samplers' must be a list of sampler names")
    chosen = {key: body[key] for key in _SAMPLER_KEYS if key in body}
    return sampling_from({**chosen, "max_tokens": max(1, n_predict)}, default_max=sampling.COMPLETION_MAX_TOKENS)


def _extra(body: dict[str, Any]) -> list[ExtraChunk]:
    extra = body.get("input_extra") or []
    if not isinstance(extra, list):
        raise PromptError("'input_extra' must be a list of {filename, text} objects")
    chunks = []
    for item in extra:
        if not isinstance(item, dict) or not isinstance(item.get("text", ""), str):
            raise PromptError("Each 'input_extra' item must be an object with a 'text' string")
        filename = item.get("filename", "")
        if not isinstance(filename, str):
            raise PromptError("An 'input_extra' item's 'filename' must be a string")
        chunks.append(ExtraChunk(filename, item.get("text", "")))
    return chunks


def _fields(body: dict[str, Any]) -> list[str] | None:
    fields = body.get("response_fields")
    if fields is None:
        return None
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        raise PromptError("'response_fields' must be a list of field names")
    return fields


def pick_fields(reply: dict[str, Any], fields: list[str] | None) -> dict[str, Any]:
    """The fields a client asked for; a nested one under its flattened key ("timings/prompt_n")."""
    if fields is None:
        return reply
    picked: dict[str, Any] = {}
    for name in fields:
        value: Any = reply
        for part in name.split("/"):
            if not isinstance(value, dict) or part not in value:
                break
            value = value[part]
        else:
            picked[name] = value
    return picked


def _rate(count: int, ms: float) -> tuple[float, float]:
    """(ms per token, tokens per second)."""
    return (round(ms / count, 3) if count else 0.0), (round(count * 1000 / ms, 2) if ms > 0 else 0.0)


def timings_of(usage: Any) -> dict[str, Any]:
    evaluated = max(0, usage.prompt_tokens - usage.cached_tokens)
    prompt_per_token, prompt_per_second = _rate(evaluated, usage.prompt_ms)
    predicted_per_token, predicted_per_second = _rate(usage.completion_tokens, usage.decode_ms)
    return {
        "cache_n": usage.cached_tokens,
        "prompt_n": evaluated,
        "prompt_ms": round(usage.prompt_ms, 3),
        "prompt_per_token_ms": prompt_per_token,
        "prompt_per_second": prompt_per_second,
        "predicted_n": usage.completion_tokens,
        "predicted_ms": round(usage.decode_ms, 3),
        "predicted_per_token_ms": predicted_per_token,
        "predicted_per_second": predicted_per_second,
    }


class _Reply:
    """Builds llama-server's reply objects for one request."""

    def __init__(self, model_id: str, truncated: bool, warm_up: bool) -> None:
        self.model_id = model_id
        self.truncated = truncated
        self.warm_up = warm_up  # n_predict 0: the one sampled token is not an answer
        self.stop_type = "none"

    def final(self, content: str, event: Any) -> dict[str, Any]:
        usage = event.usage
        if self.warm_up:
            content, usage.completion_tokens = "", 0
        reason = event.finish_reason
        stop_type = (
            self.stop_type if self.stop_type != "none" else {"stop": "eos", "length": "limit"}.get(reason, "none")
        )
        return {
            "content": content,
            "id_slot": 0,
            "stop": True,
            "model": self.model_id,
            "tokens_predicted": usage.completion_tokens,
            "tokens_evaluated": usage.prompt_tokens,
            "tokens_cached": usage.prompt_tokens + usage.completion_tokens,
            "truncated": self.truncated,
            "stop_type": stop_type,
            "has_new_line": "\n" in content,
            "timings": timings_of(usage),
        }


def _respond(request: Request, body: dict[str, Any], events: Events, reply: _Reply, fields: list[str] | None) -> Any:
    if body.get("stream"):

        def chunk(event: Any) -> dict[str, Any] | None:
            if event.finish_reason:
                return pick_fields(reply.final("", event), fields)
            if reply.warm_up or not event.delta:
                return None
            return pick_fields({"content": event.delta, "stop": False, "id_slot": 0}, fields)

        return sse_stream(events, chunk, lambda _ahead: None, error_shape=_stream_error, done_marker=False)

    async def whole() -> dict[str, Any]:
        text, last = await collect(request, events)
        return pick_fields(reply.final(text, last), fields)

    return whole()


def _stream_error(message: str) -> dict[str, Any]:
    return {"error": {"code": 500, "message": message, "type": "server_error"}}


def add_llama_server_routes(app: FastAPI, model: EngineModel) -> None:
    model_id = model_id_of(model)

    @app.post("/infill")
    async def infill(request: Request) -> Any:
        body = await read_body(request)
        prefix, suffix, middle = _text(body, "input_prefix"), _text(body, "input_suffix"), _text(body, "prompt")
        n_indent = body.get("n_indent", 0)
        if isinstance(n_indent, bool) or not isinstance(n_indent, int) or n_indent < 0:
            raise PromptError(f"'n_indent' must be a whole number from 0 up, not {n_indent!r}")
        t_max_predict_ms = _number(body, "t_max_predict_ms")
        _number(body, "t_max_prompt_ms")  # accepted; a prompt is never cut short by time here
        context = model.slots[model.fim_slot].n_ctx
        n_predict = _n_predict(body, context // 2)
        params = _params(body, n_predict)
        extra, fields = _extra(body), _fields(body)
        prompt: InfillPrompt = await asyncio.to_thread(
            build_infill, model.vocab, prefix, suffix, middle, extra, context - max(1, n_predict) - 1
        )
        reply = _Reply(model_id, prompt.truncated, warm_up=n_predict == 0)

        def rules() -> EditorRules:
            fim = FimFilter(prefix + middle, suffix)
            return EditorRules(fim, n_indent=n_indent, t_max_predict_ms=t_max_predict_ms)

        def ended(used: EditorRules) -> None:
            reply.stop_type = {"fim": "word", "indent": "word", "time": "limit"}.get(used.stop_type, "none")

        events = limited(events_for(model, model.fim_slot, prompt.tokens, params), rules, ended)
        return await _maybe_await(_respond(request, body, events, reply, fields))

    @app.post("/completion")
    @app.post("/completions")
    async def completion(request: Request) -> Any:
        body = await read_body(request)
        prompt = body.get("prompt", "")
        if isinstance(prompt, list) and prompt and all(isinstance(t, int) and not isinstance(t, bool) for t in prompt):
            tokens = list(prompt)
        elif isinstance(prompt, str):
            tokens = await asyncio.to_thread(model.tokenize_prompt, prompt)
        else:
            raise PromptError("'prompt' must be a string or a list of token ids")
        slot = model.fim_slot if model.vocab.has_fim and model.vocab.fim_ids[2] in tokens else CHAT
        room = model.slots[slot].n_ctx - len(tokens) - 1
        if room < 1:
            raise PromptError(
                f"The prompt is {len(tokens)} tokens but the {slot} context holds {model.slots[slot].n_ctx}",
                "Shorten the prompt, or serve with a larger context",
            )
        n_predict = min(_n_predict(body, room), room)
        params = _params(body, n_predict)
        reply = _Reply(model_id, False, warm_up=n_predict == 0)
        events = events_for(model, slot, tokens, params)
        return await _maybe_await(_respond(request, body, events, reply, _fields(body)))

    @app.get("/props")
    async def props() -> dict[str, Any]:
        completion_ctx = model.slots[model.fim_slot].n_ctx
        return {
            "default_generation_settings": {
                "n_ctx": completion_ctx,
                "model": model_id,
                "params": {"n_predict": sampling.COMPLETION_MAX_TOKENS, "temperature": sampling.TEMPERATURE},
            },
            "total_slots": len(model.slots),
            "model_path": model_id,  # a name: the engine never shows a client where files live
            "model_alias": model_id,
            "n_ctx": model.n_ctx,
            "has_infill": model.has_fim,
            "build_info": f"dscoder {__version__}",
        }


async def _maybe_await(value: Any) -> Any:
    return await value if asyncio.iscoroutine(value) else value
