"""The Responses API as a wire (gateway/wire.py): the whole response, and a stream's typed events.

A stream goes ``response.created``, ``response.in_progress``; then, once text comes, the
message item and its text part are opened and each piece is a ``response.output_text.delta``;
the closing events finish the text, the part and the item, then any function calls
(``response.output_item.added``, ``response.function_call_arguments.delta`` / ``.done``,
``response.output_item.done``), then ``response.completed`` with the whole response. Every
event carries its ``sequence_number``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from ..fleet.backend import Usage
from ..protocol import new_id, sse
from .objects import as_messages, call_item, message_item, output_items, response_object
from .request import ResponsesRequest

# Keep a finished response and the turns it adds to the conversation (before the client sees
# it finished: the next turn may come at once).
Save = Callable[[dict[str, Any], list[dict[str, Any]]], Awaitable[None]]


class ResponsesWire:
    def __init__(self, rid: str, body: ResponsesRequest, model: str, save: Save | None) -> None:
        self.rid, self.body, self.model, self.save = rid, body, model, save
        self.seq = 0
        self.item_id = new_id("msg", "_")
        self.text: list[str] = []
        self.made: tuple[dict[str, Any], list[dict[str, Any]]] | None = None  # (response, turns)
        # tool calls of a streamed answer, when the backend reports them
        self.tool_calls: list[dict[str, Any]] | None = None

    def _event(self, kind: str, **fields: Any) -> bytes:
        data = {"type": kind, **fields, "sequence_number": self.seq}
        self.seq += 1
        return sse(data, kind)

    # --- whole ------------------------------------------------------------------------------

    def whole(self, text: str, finish: str, usage: Usage, plusn: dict[str, Any],
              tool_calls: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        output = output_items(text, tool_calls)
        response = response_object(self.rid, self.body, self.model, output, finish, usage, plusn)
        self.made = (response, as_messages(output))
        return response

    # --- stream -----------------------------------------------------------------------------

    def opening(self) -> list[bytes]:
        started = response_object(self.rid, self.body, self.model, [], "stop", None, None, status="in_progress")
        return [self._event("response.created", response=started),
                self._event("response.in_progress", response=started)]

    def _open_message(self) -> bytes:
        item = message_item("", "in_progress", self.item_id)
        item["content"] = []
        return (self._event("response.output_item.added", output_index=0, item=item)
                + self._event("response.content_part.added", item_id=self.item_id, output_index=0, content_index=0,
                              part={"type": "output_text", "text": "", "annotations": [], "logprobs": []}))

    def delta(self, text: str) -> bytes:
        opened = b"" if self.text else self._open_message()
        self.text.append(text)
        return opened + self._event("response.output_text.delta", item_id=self.item_id, output_index=0,
                                    content_index=0, delta=text, logprobs=[])

    def calls(self, tool_calls: list[dict[str, Any]]) -> bytes:
        """Streamed call deltas, gathered: the calls' items are sent whole when the stream ends."""
        gathered = self.tool_calls = self.tool_calls or []
        for d in tool_calls:
            i = int(d.get("index", len(gathered)))
            while len(gathered) <= i:
                gathered.append({"id": None, "type": "function", "function": {"name": None, "arguments": ""}})
            call, fn = gathered[i], d.get("function") or {}
            call["id"] = d.get("id") or call["id"]
            call["function"]["name"] = fn.get("name") or call["function"]["name"]
            call["function"]["arguments"] += fn.get("arguments") or ""
        return b""

    def _close_message(self, text: str) -> list[bytes]:
        part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
        return [self._event("response.output_text.done", item_id=self.item_id, output_index=0, content_index=0,
                            text=text, logprobs=[]),
                self._event("response.content_part.done", item_id=self.item_id, output_index=0, content_index=0,
                            part=part),
                self._event("response.output_item.done", output_index=0, item=message_item(text, item_id=self.item_id))]

    def _calls(self, start: int) -> tuple[list[dict[str, Any]], list[bytes]]:
        items, events = [], []
        for n, call in enumerate(self.tool_calls or [], start):
            item = call_item(call)
            items.append(item)
            events += [self._event("response.output_item.added", output_index=n,
                                   item={**item, "arguments": "", "status": "in_progress"}),
                       self._event("response.function_call_arguments.delta", item_id=item["id"], output_index=n,
                                   delta=item["arguments"]),
                       self._event("response.function_call_arguments.done", item_id=item["id"], output_index=n,
                                   arguments=item["arguments"], name=item["name"]),
                       self._event("response.output_item.done", output_index=n, item=item)]
        return items, events

    async def closing(self, finish: str, usage: Usage, plusn: dict[str, Any]) -> list[bytes]:
        text = "".join(self.text)
        events: list[bytes] = []
        output: list[dict[str, Any]] = []
        if text or not self.tool_calls:  # a message, even an empty one: output is never empty
            if not text:
                events.append(self._open_message())
            events += self._close_message(text)
            output.append(message_item(text, item_id=self.item_id))
        items, call_events = self._calls(len(output))
        output += items
        events += call_events
        response = response_object(self.rid, self.body, self.model, output, finish, usage, plusn)
        self.made = (response, as_messages(items or output))
        if self.save is not None:
            await self.save(*self.made)
        return [*events, self._event("response.completed", response=response)]

    def failure(self, envelope: dict[str, Any], finish: str | None) -> list[bytes]:
        error = envelope.get("error", {})
        failed = response_object(self.rid, self.body, self.model, [], finish or "stop", None, None, status="failed")
        failed["error"] = {"code": error.get("code") or error.get("type"), "message": error.get("message")}
        return [self._event("error", code=error.get("code"), message=error.get("message"), param=error.get("param")),
                self._event("response.failed", response=failed)]

