"""Grounded routes: put retrieved passages, query results and the date into the context.

A route with ``knowledge``, ``sql``, ``datetime`` or ``system`` is served as ``route:<name>`` by a
:class:`GroundedBackend`, which prepares the context and then calls the route's model or
cascade with the whole conversation. The response says what it was grounded in:
``plusn.citations`` (numbered passages) and ``plusn.sql`` (the query and its rows).

Business answers never invent a number: when the query finds no row the answer is a plain
"not found" written without a model, and an answer that quotes a number found neither in the
rows nor in the question is replaced by the rows themselves.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from ..errors import InvalidRequest
from ..fleet.backend import (
    Backend,
    Call,
    Composite,
    Generation,
    GenRequest,
    Lookup,
    Usage,
    content_text,
    rough_tokens,
    sampled_member,
)
from ..routing.spec import RouteSpec
from .catalog import Knowledge
from .knowledge_base import Hit

MemberCall = Callable[[str, GenRequest], Awaitable[tuple[Generation, Backend]]]
# A passage screen returns None to let a passage in, or the reason it is kept out.
Screen = Callable[[str], Awaitable[str | None]]

_CJK = re.compile(r"[\u3400-\u9fff]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")

GROUNDING = (
    "Answer using only the numbered passages below, and cite the ones you use like [1]. If they do "
    "not contain the answer, say that you don't know. Answer in the language of the question.\n\n{passages}"
)
NO_PASSAGES = "No passage in the knowledge base matched this question: say that you don't know; do not guess."
SQL_WRITER = (
    "You write one read-only {dialect} SELECT statement that answers the user's question from this "
    "database. Reply with the SQL only, no explanation.\n\n{schema}"
)
SQL_ANSWER = (
    "Answer the question using only these database results. Quote names, prices and numbers exactly "
    "as they appear. If the results do not answer the question, say that you don't know.\n\n"
    "SQL: {sql}\nColumns: {columns}\nRows:\n{rows}"
)
NOT_FOUND = {"en": "I couldn't find that in the database, so I can't give you a figure.",
             "zh": "数据库中没有查到相关信息，无法提供具体数字。"}
CANNOT_QUERY = {"en": "I can't answer that from the database.", "zh": "无法从数据库中回答这个问题。"}


def now_line(timezone: str, clock: Callable[[], dt.datetime] | None = None) -> str:
    """The current date and time, for the context: ISO date, weekday, time and UTC offset.
    ``timezone`` is an IANA name, or ``local``: the zone of the machine plusn runs on."""
    t = clock() if clock else dt.datetime.now(dt.UTC)
    if timezone == "local":
        t = t.astimezone()
        zone = t.tzname() or "local time"
    else:
        t, zone = t.astimezone(ZoneInfo(timezone)), timezone
    # The Chinese half says all of it too (weekday and time), for models that read only Chinese.
    return (f"Current date and time: {t:%Y-%m-%d} ({t:%A}), {t:%H:%M} in {zone} "
            f"(UTC{t:%z}). 当前日期：{t.year}年{t.month}月{t.day}日，星期{'一二三四五六日'[t.weekday()]}，"
            f"{t:%H:%M}。")


def language(text: str) -> str:
    return "zh" if _CJK.search(text) else "en"


def extract_sql(reply: str) -> str:
    """The SQL in a model's reply: inside a code fence if there is one, from SELECT/WITH on."""
    fenced = re.search(r"```(?:sql)?\s*(.+?)```", reply, re.S | re.I)
    text = fenced.group(1) if fenced else reply
    m = re.search(r"\b(SELECT|WITH)\b", text, re.I)
    return (text[m.start():] if m else text).strip().rstrip(";").strip()


def invented_numbers(answer: str, *sources: str) -> list[str]:
    """Numbers in the answer that appear in none of the sources (thousands separators ignored)."""
    seen = {n.replace(",", "") for s in sources for n in _NUMBER.findall(s)}
    # 89 and 89.0 are the same price
    seen |= {n[:-2] for n in seen if n.endswith(".0")} | {n + ".0" for n in seen if "." not in n}
    return [n for n in _NUMBER.findall(answer) if n.replace(",", "") not in seen]


class GroundedBackend(Composite):
    def __init__(self, name: str, route: RouteSpec, target: str, kb: str | None, knowledge: Knowledge,
                 call: MemberCall, settings: Any, screens: Sequence[Screen] = (),
                 clock: Callable[[], dt.datetime] | None = None) -> None:
        super().__init__(name, settings, None, context=None)
        self.route = route
        self.target = target
        self.kb = kb
        self.embeds_query = kb is not None
        self.knowledge = knowledge
        self._call = call
        self.screens = list(screens)
        self._clock = clock

    def sampled(self, temperature: float | None, lookup: Lookup) -> bool:
        return sampled_member(lookup, self.target, temperature)

    async def generate(self, req: GenRequest) -> Generation:
        question = _question(req)
        notes: list[str] = []
        block: dict[str, Any] = {"grounded": self.name}
        calls: list[Call] = []
        if self.route.system:
            notes.append(self.route.system)
        if self.route.datetime:
            block["datetime"] = now_line(self.route.timezone, self._clock)
            notes.append(block["datetime"])
        if self.kb is not None:
            notes.append(await self._passages(question, block, req.viewer))
        if self.route.sql is not None:
            early = await self._sql(req, question, block, calls, notes)
            if early is not None:
                return early
        grounded = _with_system(req, "\n\n".join(notes))
        gen, backend = await self._call(self.target, grounded)
        calls.extend(gen.calls or [backend.call_of(gen.usage)])
        inner = dict(gen.route or {})
        block.update({k: v for k, v in inner.items() if k not in block})
        text = gen.text
        if "sql" in block and block["sql"].get("rows"):
            bad = invented_numbers(text, question, _rows_text(block["sql"]), block.get("datetime", ""))
            if bad:
                block["sql"]["replaced_answer"] = f"the model's answer quoted {', '.join(bad)}, not in the rows"
                text = _render_rows(block["sql"], language(question))
        return Generation(text, gen.finish_reason, _usage(calls), gen.model, calls, block)

    async def _passages(self, question: str, block: dict[str, Any], viewer: frozenset[str]) -> str:
        assert self.kb is not None
        kb = await self.knowledge.get(self.kb)
        hits: list[Hit] = await kb.search(question, k=self.route.top_k or kb.spec.top_k, viewer=viewer)
        kept: list[Hit] = []
        screened = []
        for h in hits:
            reason = None
            for screen in self.screens:
                reason = await screen(h.text)
                if reason:
                    break
            if reason:
                screened.append({"document": h.source, "chunk": h.ordinal, "reason": reason})
            else:
                kept.append(h)
        block["knowledge"] = self.kb
        block["citations"] = [h.citation(i) for i, h in enumerate(kept, 1)]
        if screened:
            block["screened"] = screened
        if not kept:
            return NO_PASSAGES
        passages = "\n\n".join(f"[{i}] ({h.heading or h.title})\n{h.text}" for i, h in enumerate(kept, 1))
        return GROUNDING.format(passages=passages)

    async def _sql(self, req: GenRequest, question: str, block: dict[str, Any], calls: list[Call],
                   notes: list[str]) -> Generation | None:
        """Write and run the query. Returns the final answer when there is nothing to ground on."""
        assert self.route.sql is not None
        tool = self.knowledge.tool(self.route.sql)
        lang = language(question)
        info: dict[str, Any] = {"database": self.route.sql}
        block["sql"] = info
        ask = GenRequest(kind="chat", max_tokens=256, temperature=0.0, messages=[
            {"role": "system", "content": SQL_WRITER.format(dialect=tool.dialect, schema=await tool.describe())},
            {"role": "user", "content": question}])
        gen, backend = await self._call(self.route.sql_model or self.target, ask)
        calls.append(backend.call_of(gen.usage, "sql"))
        sql = extract_sql(gen.text)
        info["query"] = sql
        try:
            result = await tool.query(sql)
        except InvalidRequest as exc:
            info["error"] = exc.message
            return self._fixed(CANNOT_QUERY[lang], calls, block, "the query could not run")
        info.update(columns=result.columns, rows=result.rows, truncated=result.truncated, ms=round(result.ms, 2))
        if not result.rows:
            return self._fixed(NOT_FOUND[lang], calls, block, "no row matched")
        notes.append(SQL_ANSWER.format(sql=sql, columns=", ".join(result.columns), rows=_rows_text(info)))
        return None

    def _fixed(self, text: str, calls: list[Call], block: dict[str, Any], why: str) -> Generation:
        block["answered_without_model"] = why
        usage = Usage(0, len(rough_tokens(text)))
        return Generation(text, "stop", _usage(calls, usage), self.target, calls, block)


def _question(req: GenRequest) -> str:
    """What to search for: the last user message, with the one before when it is a short follow-up."""
    if req.kind == "completion":
        return req.prompt
    users = [content_text(m.get("content")) for m in req.messages if m.get("role") == "user"]
    if not users:
        return ""
    last = users[-1]
    if len(users) > 1 and len(rough_tokens(last)) < 8:
        return f"{users[-2]}\n{last}"
    return last


def _with_system(req: GenRequest, text: str) -> GenRequest:
    """The request with ``text`` added to the system message (one system message: some chat
    templates accept no more)."""
    if not text:
        return req
    if req.kind == "completion":
        return dataclasses.replace(req, prompt=f"{text}\n\n{req.prompt}")
    messages = list(req.messages)
    if messages and messages[0].get("role") == "system":
        messages[0] = {**messages[0], "content": f"{content_text(messages[0].get('content'))}\n\n{text}"}
    else:
        messages.insert(0, {"role": "system", "content": text})
    return dataclasses.replace(req, messages=messages)


def _rows_text(info: dict[str, Any]) -> str:
    return "\n".join(" | ".join("" if v is None else str(v) for v in row) for row in info.get("rows", []))


def _render_rows(info: dict[str, Any], lang: str) -> str:
    head = "数据库查询结果：" if lang == "zh" else "From the database:"
    cols = info.get("columns", [])
    lines = ["; ".join(f"{c}: {v}" for c, v in zip(cols, row, strict=False)) for row in info.get("rows", [])]
    return "\n".join([head, *lines])


def _usage(calls: list[Call], extra: Usage | None = None) -> Usage:
    p = sum(c.usage.prompt_tokens for c in calls)
    c = sum(c.usage.completion_tokens for c in calls)
    if extra is not None:
        c += extra.completion_tokens
    return Usage(p, c)
