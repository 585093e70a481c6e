"""``model="agent:<name>"``: an agent, a workflow or a form, served like a model.

A tool-using agent reads the whole conversation each turn. A workflow keeps its own state per
conversation (see :mod:`.state`): a turn resumes the node that asked the user, or starts a run.
When a finished run's form would read the new message differently (the user corrects an
answer after the decision), the form is reopened with its values and decides again.
"""

from __future__ import annotations

from typing import Any

from ..config import ModelSettings
from ..fleet.base import Composite, Generation, GenRequest, content_text
from ..routing.sticky import conversation_key
from . import forms
from .library import Agent
from .loop import run_agent
from .state import StateStore
from .tools import ToolContext, ToolResult, build
from .workflow import Workflow, new_state


class AgentBackend(Composite):
    def __init__(self, name: str, agent: Agent, model: str, fleet: Any, settings: ModelSettings,
                 store: StateStore) -> None:
        super().__init__(name, settings, None, context=None)
        self.agent = agent
        self.model = model
        self.fleet = fleet
        self.store = store
        self.tools = build(agent.spec.tools)

    def _ctx(self, depth: int = 0) -> ToolContext:
        return ToolContext(self.fleet, depth, self._run_other)

    async def _run_other(self, name: str, text: str, depth: int) -> ToolResult:
        """The ``agent`` tool: another agent, one turn, without stored state."""
        other = self.fleet.members.get(f"agent:{name}")
        if not isinstance(other, AgentBackend):
            from .tools import ToolError

            raise ToolError(f"there is no agent {name!r}")
        gen = await other.answer([{"role": "user", "content": text}], None, depth)
        return ToolResult(gen.text, (gen.route or {}).get("decision"), list((gen.route or {}).get("citations", [])),
                          list(gen.calls))

    async def close(self) -> None:
        self.store.close()

    async def generate(self, req: GenRequest) -> Generation:
        return await self.answer(req.messages, req.session, 0)

    async def answer(self, messages: list[dict[str, Any]], session: str | None, depth: int) -> Generation:
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
        keys = ([f"s:{self.name}:{session}"] if session else []) + \
            ([conversation_key(messages[:-1])] if len(messages) > 1 else [])
        found = await self.store.load(spec.name, keys) if depth == 0 else None
        state = found[1] if found is not None else None
        if state is not None and state.get("done"):
            state = self._reopen(state, text)
            route["reopened"] = state is not None
        if state is None:
            state = new_state(text)
        else:
            route["resumed"] = state.get("waiting") or "form"
        flow = Workflow(spec, self.model, self.tools, self._ctx(depth))
        res = await flow.turn(state, text, messages)
        route.update(trace=res.trace, status="waiting" if res.waiting else "done")
        if res.waiting:
            node = flow.nodes[res.waiting]
            form = state["forms"].get(res.waiting) or {}
            route["waiting_for"] = form.get("asked") or node.slot
        if res.decision is not None:
            route["decision"] = {k: res.decision[k] for k in ("decision", "path", "values")}
        if res.citations:
            route["citations"] = res.citations
        if res.sql is not None:
            route["sql"] = res.sql
        if depth == 0:
            after = [*messages, {"role": "assistant", "content": res.text}]
            new_keys = ([f"s:{self.name}:{session}"] if session else []) + [conversation_key(after)]
            await self.store.save(spec.name, self.agent.version, new_keys, state, drop=keys)
        return Generation(res.text, res.finish_reason, res.usage, self.model, res.calls, route)

    def _reopen(self, state: dict[str, Any], text: str) -> dict[str, Any] | None:
        """A finished run whose form the new message corrects, reopened at that form; else None."""
        nodes = {n.id: n for n in self.agent.spec.nodes}
        for node_id, fs in state.get("forms", {}).items():
            node = nodes.get(node_id)
            if node is None or node.form is None:
                continue
            values = (fs or {}).get("values") or {}
            found, _ = forms.recognise(node.form, text, None, self.agent.spec.language)
            if any(k in values and values[k] != v for k, v in found.items()):
                state.update(waiting=node_id, done=False, loops={})
                state["forms"][node_id]["asked"] = None
                return state
        return None


def _today() -> str:
    from datetime import date

    return date.today().isoformat()
