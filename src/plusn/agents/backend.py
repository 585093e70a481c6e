"""``model="agent:<name>"``: an agent, a workflow or a form, served like a model.

A tool-using agent reads the whole conversation each turn. A workflow keeps its own state per
conversation (see :mod:`.state`): a turn resumes the node that asked the user, or starts a run.
When a finished run's form would read the new message differently (the user corrects an
answer after the decision), the form is reopened with its values and decides again.
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar
from typing import Any

from ..config import ModelSettings
from ..fleet.backend import Composite, Generation, GenRequest, Usage, content_text
from ..routing.sticky import conversation_key
from ..templating import TemplateProblem
from . import forms
from .answers import acknowledges, show, starts_over, words
from .library import Agent
from .loop import run_agent
from .meaning import Embed, Meaning
from .recognize import read
from .state import StateStore
from .tools import AgentEnv, ToolContext, ToolError, ToolResult, build
from .workflow import FAILED, Workflow, new_state

# Who asked, as access tokens, for the knowledge tools: a context variable, because it follows
# the call through the agent loop, workflows and other agents without widening each signature.
_VIEWER: ContextVar[frozenset[str]] = ContextVar("plusn_agent_viewer", default=frozenset())


class AgentBackend(Composite):
    def __init__(self, name: str, agent: Agent, model: str, env: AgentEnv, settings: ModelSettings,
                 store: StateStore, embeddings: dict[str, str] | None = None) -> None:
        super().__init__(name, settings, None, context=None)
        self.agent = agent
        self.model = model
        self.env = env
        self.store = store
        self.tools = build(agent.spec.tools)
        self._locks: dict[str, asyncio.Lock] = {}
        # form node → its matcher by meaning (one per embedding model, so prototypes are embedded once)
        by_model = {m: Meaning(self._embed_with(m), passages=self._embed_with(m, "passage"))
                    for m in set((embeddings or {}).values())} if env.embedder is not None else {}
        self.meanings = {node: by_model[m] for node, m in (embeddings or {}).items() if m in by_model}

    def _embed_with(self, model: str, kind: str = "query") -> Embed:
        async def embed(texts: list[str]) -> list[list[float]]:
            assert self.env.embedder is not None
            backend = await self.env.embedder(model)
            vectors, _ = await backend.embed(texts, kind=kind)
            return vectors

        return embed

    def _ctx(self, depth: int = 0) -> ToolContext:
        return ToolContext(self.env, depth, self._run_other, _VIEWER.get())

    async def _run_other(self, name: str, text: str, depth: int) -> ToolResult:
        """The ``agent`` tool: another agent, one turn, without stored state."""
        other = self.env.lookup(f"agent:{name}")
        if not isinstance(other, AgentBackend):
            raise ToolError(f"there is no agent {name!r}")
        gen = await other.answer([{"role": "user", "content": text}], None, depth)
        return ToolResult(gen.text, (gen.route or {}).get("decision"), list((gen.route or {}).get("citations", [])),
                          list(gen.calls))

    async def close(self) -> None:
        self.store.close()

    async def generate(self, req: GenRequest) -> Generation:
        token = _VIEWER.set(req.viewer)
        try:
            return await self.answer(req.messages, req.session, 0, req.user)
        finally:
            _VIEWER.reset(token)

    async def answer(self, messages: list[dict[str, Any]], session: str | None, depth: int,
                     user: str | None = None) -> Generation:
        try:
            return await self._answer(messages, session, depth, user)
        except TemplateProblem as exc:  # e.g. instructions that use a variable the request lacks
            route = {"route": self.name, "agent": self.agent.name, "version": self.agent.version,
                     "error": str(exc)}
            text = FAILED[self.agent.spec.language].format(node="instructions", why=exc)
            return Generation(text, "stop", Usage(), self.model, [], route)

    async def _answer(self, messages: list[dict[str, Any]], session: str | None, depth: int,
                      user: str | None) -> Generation:
        spec = self.agent.spec
        route: dict[str, Any] = {"route": self.name, "agent": spec.name, "version": self.agent.version,
                                 "kind": spec.kind}
        users = [m for m in messages if m.get("role") == "user"]
        text = content_text(users[-1].get("content")) if users else ""
        if spec.kind == "agent":
            context = {"input": text, "today": _today()}
            out = await run_agent(spec, self.model, self.tools, self._ctx(depth), messages, context)
            route.update(trace=out.trace, status="done")
            if out.citations:
                route["citations"] = out.citations
            return Generation(out.text, out.finish_reason, out.usage, out.model or self.model, out.calls, route)
        # A conversation's state belongs to its caller: the caller's id is part of every key.
        who = f"{user or '-'}:"
        keys = ([f"s:{who}{session}"] if session else []) + \
            ([who + conversation_key(messages[:-1])] if len(messages) > 1 else [])
        if not keys:  # a new conversation: nothing stored to race on
            return await self._turn(messages, session, depth, keys, who, text, route)
        async with self._lock(keys):
            return await self._turn(messages, session, depth, keys, who, text, route)

    def _lock(self, keys: list[str]) -> asyncio.Lock:
        """One turn at a time per conversation (in this process): the later waits for the earlier."""
        key = keys[0]
        lock = self._locks.get(key)
        if lock is None:
            if len(self._locks) > 10_000:
                self._locks = {k: v for k, v in self._locks.items() if v.locked()}
            lock = self._locks[key] = asyncio.Lock()
        return lock

    async def _turn(self, messages: list[dict[str, Any]], session: str | None, depth: int, keys: list[str],
                    who: str, text: str, route: dict[str, Any]) -> Generation:
        spec = self.agent.spec
        found = await self.store.load(spec.name, keys) if depth == 0 else None
        state = found[1] if found is not None else None
        if state is not None and not self._fits(state):
            state, route["restarted"] = None, "the agent changed since this conversation paused"
        if state is not None and state.get("done") and starts_over(text):
            state, route["restarted"] = None, "asked to start over"  # "重新开始，帮我朋友问：…"
        if state is not None and state.get("done"):
            reopened, new = self._reopen(state, text)
            # a decision of this version only
            decided = state.get("decided") is not None and state.get("decided_by") == self.agent.version
            if reopened is None and decided and acknowledges(text):
                # "对", "好的谢谢" after a decision take it as given: it stands, and is said again
                # rather than the form starting over with its first question
                route.update(status="done", acknowledged=True)
                if state.get("decision") is not None:
                    route["decision"] = state["decision"]
                await self._save(messages, session, who, state, state["decided"], depth)
                return Generation(state["decided"], "stop", Usage(), self.model, [], route)
            if reopened is None and decided and not new and state.get("decision"):
                # "这样也不行吗？", or a fact not read: no new case, and no outcome said again that
                # the message may have changed; what it rests on, and how to change it
                route.update(status="done", unread=True)
                reply = _rests_on(state["decision"], self.agent.spec.language)
                await self._save(messages, session, who, state, reply, depth)
                return Generation(reply, "stop", Usage(), self.model, [], route)
            state = reopened
            route["reopened"] = state is not None
        if state is None:
            state = new_state(text)
        else:
            route["resumed"] = state.get("waiting") or "form"
        flow = Workflow(spec, self.model, self.tools, self._ctx(depth), self.meanings)
        res = await flow.turn(state, text, messages)
        route.update(trace=res.trace, status="waiting" if res.waiting else "done")
        if res.waiting:
            node = flow.nodes[res.waiting]
            form = state["forms"].get(res.waiting) or {}
            route["waiting_for"] = form.get("asked") or node.slot
        if res.decision is not None:
            route["decision"] = {k: res.decision[k] for k in ("decision", "path", "values")}
        state["decided"] = res.text if res.decision is not None and not res.waiting else None
        state["decision"] = route.get("decision") if state["decided"] is not None else None
        state["decided_by"] = self.agent.version
        if res.citations:
            route["citations"] = res.citations
        if res.sql is not None:
            route["sql"] = res.sql
        await self._save(messages, session, who, state, res.text, depth)
        return Generation(res.text, res.finish_reason, res.usage, self.model, res.calls, route)

    async def _save(self, messages: list[dict[str, Any]], session: str | None, who: str, state: dict[str, Any],
                    reply: str, depth: int) -> None:
        if depth == 0:
            after = [*messages, {"role": "assistant", "content": reply}]
            new_keys = ([f"s:{who}{session}"] if session else []) + [who + conversation_key(after)]
            # The earlier key is kept: a client that retries a turn, or another conversation that
            # began with the same words, still finds the state it paused in (the TTL clears both).
            await self.store.save(self.agent.spec.name, self.agent.version, new_keys, state)

    def _fits(self, state: dict[str, Any]) -> bool:
        """Whether a stored state still fits this agent (its file may have changed meanwhile)."""
        nodes = {n.id: n for n in self.agent.spec.nodes}
        waiting = state.get("waiting")
        if waiting is not None and waiting not in nodes:
            return False
        for node_id, fs in (state.get("forms") or {}).items():
            node = nodes.get(node_id)
            slots = node.form.slots if node is not None and node.form is not None else \
                {node.slot: node.ask} if node is not None and node.slot else None
            if slots is None or not set((fs or {}).get("values") or {}) <= set(slots) \
                    or ((fs or {}).get("asked") not in (None, *slots)):
                return False
        return True

    def _reopen(self, state: dict[str, Any], text: str) -> tuple[dict[str, Any] | None, bool]:
        """A finished run whose form the new message adds to or corrects, reopened at that form
        (it decides again and says whether the outcome changed); None when the message reads as
        nothing for it, or as a new question (another answer to the tree's first question, with
        no word of correction: then the flag is set), which starts a new run."""
        nodes = {n.id: n for n in self.agent.spec.nodes}
        for node_id, fs in state.get("forms", {}).items():
            node = nodes.get(node_id)
            if node is None or node.form is None:
                continue
            form = forms.FormState.of(fs)
            root = node.form.tree.slot if node.form.tree is not None else None
            got = read(node.form, text, None, self.agent.spec.language, form.values, root)
            forms.exact_for_bound(node.form, form, text, got, self.agent.spec.language)  # "具体是2050" after "一千九左右"
            if root in got.found and got.found[root].value != form.values.get(root) and not got.correction:
                return None, True
            # a guess against an answer given would be dropped: the outcome is not said again as if
            # the message were read ("我爱人名下有一套房子，这个有影响吗" after "没房": see _rests_on)
            if any(form.values.get(k) != r.value and (k not in form.values or r.sure or got.correction or k in form.passed)
                   for k, r in got.found.items()):
                state.update(waiting=node_id, done=False, loops={})
                form.asked, form.confirming, form.conflict = None, False, None
                state["forms"][node_id] = form.as_dict()
                return state, False
        return None, False


def _rests_on(decision: dict[str, Any], lang: str) -> str:
    """The reply to a message after a decision that changes nothing read: the facts the outcome
    rests on, and how to change them or start over."""
    sep = "；" if lang == "zh" else "; "
    values = sep.join(f"{p.get('label') or p['slot']} {show(p['value'], lang, p.get('unit'))}" for p in decision.get("path", []))
    return words(lang)["unread"].format(values=values)


def _today() -> str:
    from datetime import date

    return date.today().isoformat()
