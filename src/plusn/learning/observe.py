"""Observing live traffic for learning: capture what was asked and answered, and compare it
with other models off the request path (shadow calls).

Nothing happens unless both the route (``routes.<name>.learning.capture``) and the caller's key
(``plusn keys create --capture``) opted in. What is kept goes through the redaction used for
remote calls before it is stored (on the ledger's writer thread, in its own table: the ledger
row itself never holds text). A shadow call is a request of its own in the ledger, marked as
shadow: never seen by the client, never waited for, kept out of request counts and budgets, and
held to the route's daily shadow budget.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import random
import time
from collections.abc import Callable
from typing import Any

from ..config import Settings
from ..database import connect
from ..fleet.backend import GenRequest, RunMember
from ..ledger.writer import Captured, RequestRecord
from ..safety.guard import last_user_text
from .spec import RouteLearning

log = logging.getLogger("plusn.learning")


def asked(req: GenRequest) -> dict[str, Any]:
    """What was asked, as stored: the chat messages, or a completion's prompt."""
    if req.kind == "completion":
        return {"prompt": req.prompt}
    return {"messages": req.messages}


def route_name(rec: RequestRecord) -> str | None:
    """The configured route that served a request (``auto``'s choice, or ``route:<name>``)."""
    if rec.route is None:
        return None
    return rec.route.removeprefix("route:")


class Observer:
    """Captures and shadow calls for the routes that ask for them."""

    MAX_PENDING = 64  # shadow comparisons waiting at once; more are skipped, not queued

    def __init__(self, settings: Settings, run: RunMember, book: Callable[[RequestRecord], None],
                 idle: Callable[[str], bool], *, rng: random.Random | None = None) -> None:
        self.settings = settings
        self.run = run  # call a fleet member by name, holding one of its slots
        self.book = book  # write a finished record (the ledger)
        self.idle = idle  # whether a member has a free slot and nobody waiting
        self.rng = rng or random.Random()
        self.tasks: set[asyncio.Task[None]] = set()
        self._spent: dict[str, tuple[str, float]] = {}  # route → (UTC day, shadow cost that day)
        # One shadow call at a time: background work stays small beside the clients', and the
        # daily budget is checked and charged with no other call in between.
        self._one = asyncio.Lock()
        self._retention: asyncio.Task[None] | None = None

    def learning(self, route: str | None, key_opted_in: bool, blocked: bool = False) -> RouteLearning | None:
        """The learning config of the route that served a request, if it captures and the key
        opted in; None otherwise (the cheap check every request makes). A request the input
        guard blocked is never kept, nor sent anywhere else."""
        if not key_opted_in or route is None or blocked:
            return None
        route_spec = self.settings.routes.get(route.removeprefix("route:"))
        spec = route_spec.learning if route_spec is not None else None
        return spec if spec is not None and spec.capture else None

    def keep(self, rec: RequestRecord, spec: RouteLearning, req: GenRequest, answer: str,
             answered_by: str) -> None:
        """Capture the served answer, and start the route's shadow calls for a share of requests."""
        route = route_name(rec)
        rec.captures.append(Captured(answered_by, asked(req), answer, rec.prompt_tokens, rec.completion_tokens,
                                     rec.cost, route=route))
        shadow = spec.shadow
        if shadow is None or len(self.tasks) >= self.MAX_PENDING or self.rng.random() >= shadow.share:
            return
        others = [m for m in shadow.models if m not in rec.served_models]
        if others and route is not None:
            task = asyncio.get_running_loop().create_task(self._shadow(rec, route, spec, req, answer, others))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _shadow(self, served: RequestRecord, route: str, spec: RouteLearning, req: GenRequest,
                      answer: str, models: list[str]) -> None:
        assert spec.shadow is not None
        budget = spec.shadow.daily_budget
        for model in models:
            async with self._one:
                if budget is not None and await self._spent_today(route) >= budget:
                    log.info("shadow budget of route %r spent for today", route)
                    return
                if not self.idle(model):  # busy, or not loaded: no client waits behind a shadow
                    continue
                rec = RequestRecord(id=f"{served.id}:shadow:{model}", endpoint="shadow", key_id=served.key_id,
                                    key_name=served.key_name, shadow=True)
                rec.asked_for(model)
                await self._call(rec, route, spec, req, model, answer)
            rec.routed(route, None, None, None)
            rec.ended()
            self.book(rec)

    async def _call(self, rec: RequestRecord, route: str, spec: RouteLearning, req: GenRequest, model: str,
                    served: str) -> None:
        try:
            # Not sticky: the shadow must not move the conversation's session to its model.
            gen, backend = await self.run(model, dataclasses.replace(req, session=None))
        except Exception as exc:  # a shadow call's failure is the shadow's alone
            rec.failed(type(exc).__name__, 502)
            return
        rec.responded(200)
        cost = sum(c.cost for c in (gen.calls or [backend.call_of(gen.usage)]))
        rec.charge(model, gen.usage.prompt_tokens, gen.usage.completion_tokens, cost)
        assert spec.shadow is not None
        if spec.shadow.judge is not None:
            agrees = await self._judged(rec, spec.shadow.judge, req, served, gen.text)
        else:
            agrees = spec.extractor.same(spec.extractor.extract(served), spec.extractor.extract(gen.text))
        rec.captures.append(Captured(model, asked(req), gen.text, gen.usage.prompt_tokens,
                                     gen.usage.completion_tokens, cost, agrees, route=route))
        self._add_spent(route, rec.cost)

    async def _judged(self, rec: RequestRecord, judge: str, req: GenRequest, served: str, shadow: str) -> bool | None:
        """The judge model's verdict on whether two answers to the request agree (None: it said
        neither yes nor no, or failed); its call is charged to the shadow row."""
        ask = (f"Question:\n{last_user_text(req)}\n\nAnswer A:\n{served}\n\nAnswer B:\n{shadow}\n\n"
               "Do A and B give the same answer to the question? Reply with one word: yes or no.")
        try:
            gen, backend = await self.run(judge, GenRequest("chat", [{"role": "user", "content": ask}], max_tokens=4,
                                                            temperature=0.0))
        except Exception:  # no verdict: the comparison stays unknown
            log.warning("the judge %r failed on %s", judge, rec.id, exc_info=True)
            return None
        rec.charge(judge, gen.usage.prompt_tokens, gen.usage.completion_tokens,
                   sum(c.cost for c in (gen.calls or [backend.call_of(gen.usage)])))
        word = gen.text.strip().lower()
        return True if word.startswith(("yes", "是")) else False if word.startswith(("no", "否", "不")) else None

    def _day(self) -> str:
        return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")

    async def _spent_today(self, route: str) -> float:
        day = self._day()
        held = self._spent.get(route)
        if held is None or held[0] != day:  # first look today: what the ledger says (a restart)
            start = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
            spent = await asyncio.to_thread(_shadow_spent, self.settings, route, start)
            self._spent[route] = (day, spent)
        return self._spent[route][1]

    def _add_spent(self, route: str, cost: float) -> None:
        day, spent = self._spent.get(route, (self._day(), 0.0))
        self._spent[route] = (day, spent + cost)

    def start(self) -> None:
        """Delete captured text past learning.retention_days now, and every hour after (once a
        route captures; a reload may turn capture on)."""
        captures = any(r.learning is not None and r.learning.capture for r in self.settings.routes.values())
        if captures and self._retention is None:
            self._retention = asyncio.get_running_loop().create_task(self._expire())

    async def _expire(self) -> None:
        while True:
            try:
                n = await asyncio.to_thread(purge, self.settings)
                if n:
                    log.info("deleted %d captured answers past their retention", n)
            except Exception:  # the next hour tries again
                log.exception("could not delete expired captures")
            await asyncio.sleep(3600)

    async def close(self) -> None:
        """Give shadow calls in flight a moment to finish (their rows are written before the
        ledger closes), then cancel the rest: shutdown does not wait on work no client sees."""
        if self._retention is not None:
            self._retention.cancel()
        if self.tasks:
            _, pending = await asyncio.wait(self.tasks, timeout=5)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=5)


def _shadow_spent(settings: Settings, route: str, since: float) -> float:
    path = settings.state_db()
    if not path.exists():
        return 0.0
    conn = connect(path)
    try:
        row = conn.execute("SELECT SUM(cost) FROM ledger WHERE shadow = 1 AND route = ? AND ts >= ?",
                           (route, since)).fetchone()
        return float(row[0] or 0.0)
    finally:
        conn.close()


def purge(settings: Settings, older_than_days: float | None = None) -> int:
    """Delete captured text (and feedback comments) older than ``older_than_days`` (default:
    learning.retention_days); 0 deletes all of it. Returns the captured answers deleted."""
    days = settings.learning.retention_days if older_than_days is None else older_than_days
    cutoff = time.time() - days * 86400
    conn = connect(settings.state_db())
    try:
        with conn:
            cur = conn.execute("DELETE FROM captures WHERE ts < ?", (cutoff,))
            # feedback comments are text too: the score stays, the words go
            conn.execute("UPDATE feedback SET comment = NULL WHERE ts < ? AND comment IS NOT NULL", (cutoff,))
        return int(cur.rowcount or 0)
    finally:
        conn.close()
