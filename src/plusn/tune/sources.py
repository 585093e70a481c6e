"""Where SFT examples come from: files of examples, captured traffic, a large model, a knowledge base.

Every source yields :class:`Example` objects (a chat conversation ending with the assistant's
answer, and where it came from); :mod:`plusn.tune.data` redacts, de-duplicates, splits and
writes them. No source needs another: captured traffic is optional, the others work on a fresh
deployment.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import jsonl
from ..config import Settings
from ..database import connect
from ..errors import ConfigError
from ..fleet.backend import GenRequest

Message = dict[str, Any]
# Turn (instructions-free) user text into the messages the model will see: the skill's
# system prompt and template, or a bare user turn.
Framer = Callable[[str], list[Message]]


@dataclass
class Example:
    """One training conversation, its last message the assistant's answer."""

    messages: list[Message]
    source: str  # "file", "captured", "distilled", "kb-qa"
    meta: dict[str, Any] = field(default_factory=dict)

    def prompt_key(self) -> str:
        """What makes two examples the same question: every turn before the answer, folded."""
        text = "\n".join(f"{m['role']}: {m['content'].strip()}" for m in self.messages[:-1])
        return re.sub(r"\s+", " ", text).strip().casefold()


def bare(text: str) -> list[Message]:
    return [{"role": "user", "content": text}]


def _text(content: Any) -> str:
    """A message's content as text (OpenAI's content parts joined)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return "" if content is None else str(content)


def _clean(messages: Iterable[Any]) -> list[Message]:
    return [{"role": m["role"], "content": _text(m.get("content"))} for m in messages
            if isinstance(m, dict) and m.get("role") in ("system", "user", "assistant")]


def _answer_of(row: dict[str, Any]) -> str | None:
    for key in ("answer", "completion", "response", "reference", "output"):
        value = row.get(key)
        if isinstance(value, list) and value:
            value = value[0]  # an arena task's list of accepted answers: the first is the canonical one
        if isinstance(value, (str, int, float)) and not isinstance(value, bool) and str(value).strip():
            return str(value)
    return None


def from_files(paths: Iterable[Path], frame: Framer) -> list[Example]:
    """Rows of ``{"messages": [...]}`` ending with the answer, or ``{"prompt", "answer"}`` (also
    ``reference``, ``completion``: an arena task file is a training file)."""
    out: list[Example] = []
    for path in paths:
        for n, row in jsonl.numbered(path, "examples"):
            where = f"{path}:{n}"
            if not isinstance(row, dict):
                raise ConfigError(f"{where}: expected a JSON object")
            if isinstance(row.get("messages"), list):
                msgs = _clean(row["messages"])
                if len(msgs) < 2 or msgs[-1]["role"] != "assistant":
                    raise ConfigError(f"{where}: messages must end with the assistant's answer", key="messages")
                out.append(Example(msgs, "file", {"file": str(path), "line": n}))
                continue
            prompt, answer = row.get("prompt"), _answer_of(row)
            if not isinstance(prompt, str) or answer is None:
                raise ConfigError(f"{where}: a row needs messages, or a prompt and an answer (or reference)",
                                  key="prompt")
            out.append(Example([*frame(prompt), {"role": "assistant", "content": answer}], "file",
                               {"file": str(path), "line": n, **({"id": row["id"]} if "id" in row else {})}))
    return out


def captured(settings: Settings, route: str | None, min_score: float, since_s: float | None) -> list[Example]:
    """Served answers the user rated well (``correct``, else a score of at least ``min_score``).

    Captured text was redacted when it was kept; it is redacted again with everything else."""
    since = 0.0 if since_s is None else time.time() - since_s
    sql = ("SELECT c.request_id, c.route, c.model, c.prompt, c.answer, f.score, f.correct FROM captures c "
           "JOIN feedback f ON f.request_id = c.request_id WHERE c.shadow = 0 AND c.ts >= ?")
    args: list[Any] = [since]
    if route:
        sql += " AND c.route = ?"
        args.append(route)
    conn = connect(settings.state_db())
    try:
        rows = conn.execute(sql + " ORDER BY c.ts", args).fetchall()
    finally:
        conn.close()
    out = []
    for r in rows:
        good = bool(r["correct"]) if r["correct"] is not None else (r["score"] or 0.0) >= min_score
        if not good or not r["answer"]:
            continue
        asked = json.loads(r["prompt"])
        msgs = _clean(asked["messages"]) if "messages" in asked else bare(str(asked.get("prompt", "")))
        out.append(Example([*msgs, {"role": "assistant", "content": r["answer"]}], "captured",
                           {"request_id": r["request_id"], "route": r["route"], "model": r["model"]}))
    return out


Run = Callable[[str, GenRequest], Awaitable[Any]]


async def distilled(run: Run, teacher: str, prompts: list[str], frame: Framer, *, max_tokens: int,
                    tick: Callable[[int, int], None] | None = None) -> AsyncIterator[Example]:
    """Ask the large model (or a route) each prompt, framed as the small one will see it; keep
    its answers. Failed calls are skipped and counted by the caller."""
    for i, prompt in enumerate(prompts):
        messages = frame(prompt)
        gen, _ = await run(teacher, GenRequest(kind="chat", messages=messages, max_tokens=max_tokens,
                                               temperature=0.0))
        if gen.text.strip():
            yield Example([*messages, {"role": "assistant", "content": gen.text.strip()}], "distilled",
                          {"teacher": teacher})
        if tick:
            tick(i + 1, len(prompts))


QA_SYSTEM = ("You write training data. From the passage, write one question a reader could ask "
             "and its answer, using only facts stated in the passage. Reply exactly as:\n"
             "Question: ...\nAnswer: ...")
_QA = re.compile(r"Question:\s*(?P<q>.+?)\s*\n+\s*Answer:\s*(?P<a>.+)", re.S | re.I)


def parse_qa(text: str) -> tuple[str, str] | None:
    """(question, answer) from a generator model's reply, or None when it did not follow the form."""
    m = _QA.search(text)
    if not m:
        return None
    q, a = m["q"].strip(), m["a"].strip()
    return (q, a) if q and a else None


async def kb_qa(run: Run, author: str, chunks: list[Any], *, kb: str, max_tokens: int,
                tick: Callable[[int, int], None] | None = None) -> AsyncIterator[Example]:
    """One question-answer pair per chunk, written by ``author``; the answer cites its passage."""
    for i, chunk in enumerate(chunks):
        gen, _ = await run(author, GenRequest(kind="chat", max_tokens=max_tokens, temperature=0.0, messages=[
            {"role": "system", "content": QA_SYSTEM},
            {"role": "user", "content": f"Passage ({chunk.title or chunk.source}):\n{chunk.text}"}]))
        qa = parse_qa(gen.text)
        if qa is not None:
            title = chunk.title or chunk.source
            citation = {"kb": kb, "source": chunk.source, "title": chunk.title, "chunk": chunk.id}
            yield Example([{"role": "user", "content": qa[0]},
                           {"role": "assistant", "content": f"{qa[1]} [{title}]"}],
                          "kb-qa", {"author": author, "citations": [citation]})
        if tick:
            tick(i + 1, len(chunks))
