"""The extractor model's request: the slots a message mentions, as JSON under a schema.

The schema goes out as OpenAI's ``response_format`` (``json_schema``), which llama.cpp and
most servers turn into a grammar, so even a small model answers in shape. The model answers
the question asked (``value``) and may fill the other slots the message mentions (``other``);
the form takes the first as the answer and confirms the others before a decision rests on them.
"""

from __future__ import annotations

from typing import Any

from ..fleet.backend import GenRequest
from .spec import FormSpec, Slot


def _schema(slot: Slot) -> dict[str, Any]:
    if slot.type == "enum":
        return {"enum": [*slot.choices(), None]}
    kind = {"integer": "integer", "number": "number", "boolean": "boolean"}.get(slot.type, "string")
    return {"type": [kind, "null"]}


def _describe(name: str, slot: Slot) -> str:
    kind = f"one of {list(slot.choices())}" if slot.type == "enum" else slot.type
    if slot.type in ("integer", "number") and slot.unit:
        kind += f" (in {slot.unit})"
    return f"- {name} ({slot.label or slot.ask}): {kind}"


def extraction_request(spec: FormSpec, asked: str, question: str, text: str) -> GenRequest:
    """A request for the answer to ``asked`` and the other slots ``text`` states."""
    others = {n: s for n, s in spec.slots.items() if n != asked}
    schema = {"type": "object", "properties": {
        "value": _schema(spec.slots[asked]),
        "other": {"type": "object", "properties": {n: _schema(s) for n, s in others.items()},
                  "additionalProperties": False},
    }, "required": ["value"], "additionalProperties": False}
    slots = "\n".join(_describe(n, s) for n, s in others.items())
    prompt = (f"The user was asked: {question}\nThe user replied: {text}\n"
              f"What is the answer, as {_describe(asked, spec.slots[asked])[2:]}? Use null when the reply does "
              f"not say. Under \"other\", give only those of these slots the reply states:\n{slots}\n"
              'Reply with JSON only: {"value": <the answer or null>, "other": {<slot>: <value>}}')
    return GenRequest("chat", [{"role": "user", "content": prompt}], max_tokens=128, temperature=0.0,
                      response_format={"type": "json_schema",
                                       "json_schema": {"name": "slots", "schema": schema}})
