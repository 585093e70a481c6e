"""Which tool a local model calls, if any, and the grammar that holds the call.

With ``tool_choice: "auto"`` a model must choose between answering and calling a tool. Asked
outright ("which tool does this need?"), a 135M model names the first tool it was shown, needed
or not. What even a tiny model does well is judge how likely a text is, so the choice is made
from likelihoods instead (noisy-channel scoring): how much more likely the user's message
becomes once the model is told about a tool, less how much more likely it becomes once told the
user wants ordinary chat (a story, a fact, advice...). A message that a tool explains much
better than chat does ("Is it raining in Oslo?" and a weather tool) is a call; one that chat
explains as well ("Write a haiku") is answered in text. The score is in nats over the message's
tokens; ``tool_threshold`` (a model option) is the margin a call needs. ``plusn eval tools``
measures the choice on labelled prompts (docs/tools.md).

With ``tool_choice: "required"`` the same scores pick which tool when there are several, and the
model then writes the arguments under a grammar, shown only that tool.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .backend import content_text
from .chat_text import after_tool_result
from .tool_calls import Function, ToolPlan, call_schema

# The system prompts the user's message is scored under.
_BASELINE = "You are a helpful assistant."
_CHAT = "The user wants a story, a poem, a joke, an explanation, a fact, advice, a translation or small talk."
# Only the message's last tokens are scored: enough to judge it, and a bounded cost.
_SCORED_TOKENS = 128
_MARK = "\ue000"  # a private-use character: where the user's text goes in a rendered template


def _about(f: Function) -> str:
    args = ", ".join(f.parameters.get("properties") or {})
    return (f"You are an assistant that can use the tool {f.name}: {f.description}"
            + (f" Its arguments: {args}." if args else ""))


@dataclass
class Choice:
    """The tool to call (None: answer in text), the scores it was chosen by, and why."""

    function: Function | None
    scores: dict[str, float] = field(default_factory=dict)
    reason: str = ""


def choose(llm: Any, formatter: Any, plan: ToolPlan, messages: list[dict[str, Any]], threshold: float) -> Choice:
    """The call this turn makes under ``plan``, decided as the module's docstring says."""
    if plan.mode == "required" and len(plan.functions) == 1:
        return Choice(plan.functions[0], reason="the only tool allowed")
    if plan.mode == "auto" and after_tool_result(messages):
        # A small model given its tool's result and the choice again calls it again; the
        # result is what it needs to answer from.
        return Choice(None, reason="a tool's result came back since the user spoke: answer from it")
    users = [content_text(m.get("content")) for m in messages if m.get("role") == "user"]
    text = users[-1].strip() if users else ""
    if not text:
        return Choice(plan.functions[0] if plan.mode == "required" else None, reason="no user message to judge")
    scores = relevance(llm, formatter, text, plan.functions)
    best = max(scores, key=lambda name: scores[name])
    if plan.mode == "required":
        return Choice(plan.named(best), scores, "the tool that best explains the message")
    if scores[best] >= threshold:
        return Choice(plan.named(best), scores, f"score {scores[best]:.2f} >= {threshold:g}")
    return Choice(None, scores, f"best score {scores[best]:.2f} < {threshold:g}")


def relevance(llm: Any, formatter: Any, text: str, functions: tuple[Function, ...]) -> dict[str, float]:
    """Each tool's score for the user's message ``text`` (see the module's docstring)."""
    tokens = llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)[-_SCORED_TOKENS:]
    if not tokens:
        return {f.name: 0.0 for f in functions}

    def under(system: str) -> float:
        return float(text_logprobs(llm, _prefix(llm, formatter, system), tokens).sum())

    baseline = under(_BASELINE)
    chat = under(_CHAT) - baseline
    return {f.name: round(under(_about(f)) - baseline - chat, 4) for f in functions}


def _prefix(llm: Any, formatter: Any, system: str) -> list[int]:
    """The tokens of the chat template up to where a user's first message begins."""
    fmt = formatter(messages=[{"role": "system", "content": system}, {"role": "user", "content": _MARK}])
    head = fmt.prompt.split(_MARK, 1)[0]
    tokens: list[int] = llm.tokenize(head.encode("utf-8"), add_bos=not fmt.added_special, special=True)
    return tokens


def text_logprobs(llm: Any, prefix: list[int], text: list[int]) -> np.ndarray:
    """log P(text[i] | prefix, text[:i]) for each token of ``text``.

    llama-cpp-python 0.3 gives the logits of every position only to a model made with
    ``logits_all=True``, which keeps n_ctx x vocabulary floats (1.6 GB for SmolLM2 at 8192); so
    the text is decoded here as one batch that asks for every position's logits. The model's
    token cache (``input_ids``, ``n_tokens``) is kept true, so the next generation reuses the
    shared prefix as usual.
    """
    n_vocab = llm.n_vocab()
    cached = llm.input_ids[: llm.n_tokens]
    same = 0
    for a, b in zip(cached.tolist(), prefix, strict=False):
        if a != b:
            break
        same += 1
    llm.n_tokens = min(same, len(prefix) - 1)  # the prefix's last token is decoded again, for its logits
    llm.eval(prefix[llm.n_tokens:])
    rows = [np.ctypeslib.as_array(llm._ctx.get_logits_ith(-1), shape=(n_vocab,)).copy()[None, :]]
    body = text[:-1]  # the last token's own logits predict nothing that is scored
    for start in range(0, len(body), llm.n_batch):
        chunk = body[start:start + llm.n_batch]
        llm._batch.set_batch(batch=chunk, n_past=llm.n_tokens, logits_all=True)
        llm._ctx.decode(llm._batch)
        rows.append(np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(len(chunk), n_vocab)).copy())
        llm.input_ids[llm.n_tokens:llm.n_tokens + len(chunk)] = chunk
        llm.n_tokens += len(chunk)
    logits = np.vstack(rows).astype(np.float64)
    top = logits.max(axis=1, keepdims=True)
    log_norm = top[:, 0] + np.log(np.exp(logits - top).sum(axis=1))
    picked = logits[np.arange(len(text)), np.asarray(text)]
    result: np.ndarray = picked - log_norm
    return result


def call_grammar(functions: tuple[Function, ...]) -> Any:
    """The llama.cpp grammar of one call to one of ``functions``."""
    import llama_cpp

    return llama_cpp.LlamaGrammar.from_json_schema(json.dumps(call_schema(functions)), verbose=False)
