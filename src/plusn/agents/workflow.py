"""Running a workflow: nodes in order, with branches, bounded loops, parallel maps and forms.

The state of a run is plain JSON (the variables, the node waiting for the user, loop counts,
each form's values), so it can be stored between turns and survive a restart. One turn runs
nodes until the workflow answers or a form or ask node waits for the user; the user's message
of the turn is read by the first form it reaches.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..errors import PlusnError
from ..fleet.backend import Call, GenRequest, Usage
from ..skills.backend import SchemaFailure, SkillBackend, answer_json, parse_json
from ..templating import TemplateProblem, evaluate, render
from . import forms
from .extract import extraction_request
from .meaning import Meaning
from .recognize import read
from .spec import AgentSpec, FormSpec, Node
from .tools import Tool, ToolContext, ToolError, call_traced
from .utterance import Reading

log = logging.getLogger("plusn.agents")
FAILED = {"zh": "步骤“{node}”未能完成：{why}", "en": "The step {node!r} could not be completed: {why}"}
TOO_LONG = {"zh": "流程在本轮运行的节点数超过上限（{n}），已停止。", "en": "The workflow ran more than {n} nodes in one turn and was stopped."}


class StepFailed(Exception):
    def __init__(self, node: str, why: str) -> None:
        super().__init__(why)
        self.node = node
        self.why = why


@dataclass
class TurnResult:
    text: str
    waiting: str | None = None  # the node waiting for the user
    finish_reason: str = "stop"
    calls: list[Call] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    trace: list[dict[str, Any]] = field(default_factory=list)
    citations: list[dict[str, Any]] = field(default_factory=list)
    decision: dict[str, Any] | None = None
    sql: dict[str, Any] | None = None  # what a grounded route queried, for the response's plusn.sql


def new_state(text: str) -> dict[str, Any]:
    return {"vars": {}, "input": text, "waiting": None, "loops": {}, "forms": {}, "done": False}


class Workflow:
    def __init__(self, spec: AgentSpec, model: str, tools: dict[str, Tool], ctx: ToolContext,
                 meanings: dict[str, Meaning] | None = None) -> None:
        self.spec = spec
        self.meanings = meanings or {}  # form node → its matcher by meaning
        self.model = model
        self.tools = tools
        self.ctx = ctx
        self.nodes = {n.id: n for n in spec.nodes}
        self.order = [n.id for n in spec.nodes]

    def _following(self, node: Node) -> str | None:
        if node.next is not None:
            return node.next
        i = self.order.index(node.id)
        return self.order[i + 1] if i + 1 < len(self.order) else None

    def _context(self, state: dict[str, Any], messages: list[dict[str, Any]], **more: Any) -> dict[str, Any]:
        now = datetime.now().astimezone()
        return {**state["vars"], "input": state["input"], "messages": messages, "today": now.date().isoformat(),
                "now": now.isoformat(timespec="minutes"), **more}

    async def turn(self, state: dict[str, Any], text: str | None, messages: list[dict[str, Any]]) -> TurnResult:
        out = TurnResult("")
        node_id: str | None = state["waiting"] or self.spec.start or self.order[0]
        state["waiting"] = None
        unread = text  # the user's message, for the first form or ask node that runs
        last_text = ""
        ran = 0
        while node_id is not None:
            ran += 1
            if ran > self.spec.limits.nodes:
                out.text = TOO_LONG[self.spec.language].format(n=self.spec.limits.nodes)
                out.finish_reason = "length"
                out.trace.append({"type": "limit", "limit": "nodes", "value": self.spec.limits.nodes})
                state["done"] = True
                return out
            node = self.nodes[node_id]
            t0 = time.perf_counter()
            entry: dict[str, Any] = {"node": node.id, "type": node.type}
            out.trace.append(entry)
            try:
                nxt, said, wait = await self._run(node, state, messages, unread, out, entry)
            except StepFailed as exc:
                entry["error"] = exc.why
                if node.on_error is not None:
                    state["vars"]["error"] = exc.why
                    node_id = node.on_error
                    continue
                out.text = FAILED[self.spec.language].format(node=exc.node, why=exc.why)
                state["done"] = True
                return out
            finally:
                entry["ms"] = round((time.perf_counter() - t0) * 1000, 1)
            if node.type in ("form", "ask"):
                unread = None
            if said is not None:
                last_text = said
            if wait:
                state["waiting"] = node.id
                out.text, out.waiting = said or "", node.id
                return out
            if node.type == "answer":
                out.text = said or ""
                state["done"] = True
                return out
            node_id = nxt
        out.text = last_text
        state["done"] = True
        return out

    async def _run(self, node: Node, state: dict[str, Any], messages: list[dict[str, Any]], unread: str | None,
                   out: TurnResult, entry: dict[str, Any]) -> tuple[str | None, str | None, bool]:
        """(next node, text it produced, whether it waits for the user)."""
        ctx = self._context(state, messages)
        nxt = self._following(node)
        if node.type in ("llm", "skill", "tool"):
            value, said = await self._step(node, ctx, out, entry)
            if node.into:
                state["vars"][node.into] = value
            return nxt, said, False
        if node.type == "branch":
            for case in node.cases:
                if self._truth(node, case.when, ctx):
                    entry["goto"] = case.goto
                    return case.goto, None, False
            entry["goto"] = node.default or nxt
            return node.default or nxt, None, False
        if node.type == "loop":
            # The body (from `do`, leading back here) has run once before the first visit.
            runs = int(state["loops"].get(node.id, 0)) + 1
            state["vars"]["loop"] = {"runs": runs, "max": node.max}
            entry["runs"] = runs
            if self._truth(node, str(node.until), ctx):
                state["loops"].pop(node.id, None)
                return nxt, None, False
            if runs >= node.max:
                entry["max_reached"] = True
                state["loops"].pop(node.id, None)
                return nxt, None, False
            state["loops"][node.id] = runs
            return node.do, None, False
        if node.type == "map":
            return nxt, await self._map(node, state, ctx, out, entry), False
        if node.type in ("form", "ask"):
            return await self._form(node, state, unread, out, entry)
        assert node.type == "answer" and node.text is not None
        return None, self._render(node, node.text, ctx), False

    def _render(self, node: Node, source: str, ctx: dict[str, Any]) -> str:
        try:
            return render(source, ctx)
        except TemplateProblem as exc:
            raise StepFailed(node.id, str(exc)) from None

    def _truth(self, node: Node, expression: str, ctx: dict[str, Any]) -> bool:
        try:
            return bool(evaluate(expression, ctx))
        except TemplateProblem as exc:
            raise StepFailed(node.id, str(exc)) from None

    def _args(self, node: Node, args: dict[str, Any], ctx: dict[str, Any]) -> dict[str, Any]:
        """Argument values: templates rendered; a lone ``{{ expr }}`` keeps its value's type."""
        out: dict[str, Any] = {}
        for k, v in args.items():
            if isinstance(v, str) and v.strip().startswith("{{") and v.strip().endswith("}}") \
                    and v.count("{{") == 1:
                try:
                    out[k] = evaluate(v.strip()[2:-2], ctx)
                except TemplateProblem as exc:
                    raise StepFailed(node.id, str(exc)) from None
            elif isinstance(v, str):
                out[k] = self._render(node, v, ctx)
            else:
                out[k] = v
        return out

    async def _step(self, node: Node, ctx: dict[str, Any], out: TurnResult,
                    entry: dict[str, Any]) -> tuple[Any, str]:
        """Run an llm, skill or tool step: (its value, its text)."""
        if node.type == "tool":
            tool = self.tools[str(node.tool)]
            args = self._args(node, node.args, ctx)
            entry.update(tool=tool.name, arguments=args, status="error")
            try:
                res = await call_traced(tool, args, self.ctx)
            except ToolError as exc:
                entry.update(exc.trace)
                raise StepFailed(node.id, str(exc)) from None
            except PlusnError as exc:
                raise StepFailed(node.id, exc.message) from None
            except Exception as exc:
                log.exception("tool %s failed", tool.name)
                raise StepFailed(node.id, f"the tool {tool.name!r} failed ({type(exc).__name__})") from None
            out.citations += res.citations
            self._charge(out, res.calls)
            entry.update(status="ok", result=res.text[:300])
            entry.update(res.trace)  # the tool's own account wins (e.g. its output, redacted)
            return {"text": res.text, "data": res.data, "citations": res.citations}, res.text
        if node.type == "skill":
            b = self.ctx.env.lookup(f"skill:{node.skill}")
            if not isinstance(b, SkillBackend):
                raise StepFailed(node.id, f"there is no skill {node.skill!r}")
            args = self._args(node, node.args, ctx)
            entry.update(skill=node.skill, version=b.skill.version)
            try:
                gen, value = await b.invoke(b.variables(args, "args"))
            except PlusnError as exc:
                raise StepFailed(node.id, exc.message) from None
            self._charge(out, gen.calls)
            return value, gen.text
        # llm
        model = node.model or self.model
        messages = []
        if node.system:
            messages.append({"role": "system", "content": self._render(node, node.system, ctx)})
        prompt = self._render(node, str(node.prompt), ctx)
        if node.output is not None:
            prompt += "\n\nReply with one JSON value that satisfies this JSON schema, and nothing else:\n" + \
                json.dumps(node.output, ensure_ascii=False)
        messages.append({"role": "user", "content": prompt})
        entry["model"] = model
        req = GenRequest("chat", messages, max_tokens=node.max_tokens, temperature=node.temperature,
                         viewer=self.ctx.viewer)  # the model may be a route grounded in a knowledge base
        try:
            ans = await answer_json(self.ctx.env.run, model, req, node.output, retries=1)
        except SchemaFailure as exc:
            raise StepFailed(node.id, "the model's answer did not satisfy the schema: " + str(exc)) from None
        except PlusnError as exc:
            raise StepFailed(node.id, exc.message) from None
        self._charge(out, ans.calls)
        inner = ans.gen.route or {}
        out.citations += inner.get("citations", [])
        if "sql" in inner:
            out.sql = inner["sql"]
            entry["sql"] = inner["sql"].get("query")
        if node.output is not None:
            entry["attempts"] = ans.attempts
        return ans.value, ans.text

    def _charge(self, out: TurnResult, calls: list[Call]) -> None:
        for c in calls:
            out.calls.append(c)
            out.usage.prompt_tokens += c.usage.prompt_tokens
            out.usage.completion_tokens += c.usage.completion_tokens

    async def _map(self, node: Node, state: dict[str, Any], ctx: dict[str, Any], out: TurnResult,
                   entry: dict[str, Any]) -> str:
        try:
            items = evaluate(str(node.over), ctx)
        except TemplateProblem as exc:
            raise StepFailed(node.id, str(exc)) from None
        if not isinstance(items, (list, tuple)):
            raise StepFailed(node.id, f"'over' gave {type(items).__name__}, not a list")
        assert node.step is not None
        step = node.step
        gate = asyncio.Semaphore(node.concurrency)

        async def one(i: int, item: Any) -> tuple[Any, str]:
            async with gate:
                sub: dict[str, Any] = {"node": f"{node.id}[{i}]", "type": step.type}
                out.trace.append(sub)
                return await self._step(step, {**ctx, "item": item, "index": i}, out, sub)

        try:
            async with asyncio.TaskGroup() as group:  # one failure cancels the items still running
                tasks = [group.create_task(one(i, x)) for i, x in enumerate(items)]
        except* StepFailed as failed:
            raise failed.exceptions[0] from None
        results = [t.result() for t in tasks]
        entry["items"] = len(results)
        values = [v for v, _ in results]
        if node.into:
            state["vars"][node.into] = values
        return "\n\n".join(t for _, t in results)

    async def _form(self, node: Node, state: dict[str, Any], unread: str | None, out: TurnResult,
                    entry: dict[str, Any]) -> tuple[str | None, str | None, bool]:
        if node.form is not None:
            spec = node.form
        else:
            assert node.ask is not None
            spec = FormSpec(slots={str(node.slot): node.ask})
        fs = forms.FormState.of(state["forms"].get(node.id))
        meant = await self._meaning(node.id, spec, fs, unread, entry) if unread else {}
        extracted = await self._extract(spec, fs, unread, out, meant) if unread else None
        try:
            t = forms.turn(spec, fs, unread, self.spec.language, extracted, meant)
        except TemplateProblem as exc:  # a question or answer template that does not render
            raise StepFailed(node.id, str(exc)) from None
        state["forms"][node.id] = fs.as_dict()
        entry.update({k: v for k, v in (("filled", t.filled), ("rejected", t.rejected)) if v})
        if t.corrected:
            entry["corrected"] = {k: {"from": a, "to": b} for k, (a, b) in t.corrected.items()}
        if t.reply is not None:
            entry["asked"] = t.asked
            return None, t.reply, True
        assert t.decision is not None
        out.decision = t.decision
        entry.update(decision=t.decision["decision"], path=t.decision["path"])
        if node.type == "ask":
            state["vars"][str(node.slot)] = fs.values[str(node.slot)]
            return self._following(node), None, False
        state["vars"][node.into or node.id] = t.decision
        said = "\n".join([*t.decision["notes"], str(t.decision["answer"] or "")]).strip()
        return self._following(node), said, False

    async def _meaning(self, node_id: str, spec: FormSpec, fs: forms.FormState, text: str,
                       entry: dict[str, Any]) -> dict[str, Reading]:
        """The answer to the question (or to the first one) matched by meaning, when the rules
        read none; one embedding of the message, and none at all when the rules suffice."""
        meaning = self.meanings.get(node_id)
        target = fs.asked or forms.expected_slot(spec, fs)
        if meaning is None or target is None or fs.confirming or fs.conflict is not None \
                or spec.slots[target].type != "enum":
            return {}
        got = read(spec, text, fs.asked, self.spec.language, fs.values, target)
        if target in got.found:
            return {}
        try:
            r = await meaning.read(spec, target, text)
        except PlusnError as exc:  # the embedding model is down: the rules alone answer
            log.warning("matching by meaning failed: %s", exc.message)
            return {}
        # the trace shows every turn that took the embedding path, matched or not
        entry["meaning"] = {"slot": target, "value": None if r is None else r.value, "sure": r is not None and r.sure}
        return {} if r is None else {target: r}

    async def _extract(self, spec: FormSpec, fs: forms.FormState, text: str, out: TurnResult,
                       meant: dict[str, Reading]) -> dict[str, Any] | None:
        """Ask the extractor model for the slots the message mentions when neither the rules nor
        the meaning read the question's answer: JSON under a schema, so a grammar can hold it."""
        if spec.extractor is None:
            return None
        asked = fs.asked or forms.expected_slot(spec, fs)  # a first message may answer the first question
        if asked is None:
            return None
        got = read(spec, text, fs.asked, self.spec.language, fs.values, asked)
        if (asked in got.found and got.found[asked].sure) or (asked in meant and meant[asked].sure):
            return None
        req = extraction_request(spec, asked, render(spec.slots[asked].ask, dict(fs.values)), text)
        try:
            gen, backend = await self.ctx.env.run(spec.extractor, req)
        except PlusnError:
            return None
        self._charge(out, gen.calls or [backend.call_of(gen.usage, "extract")])
        try:
            value = parse_json(gen.text)
        except ValueError:
            return None
        if not isinstance(value, dict):
            return None
        found = {k: v for k, v in (value.get("other") or {}).items() if k in spec.slots and v is not None} \
            if isinstance(value.get("other"), dict) else {}
        if value.get("value") is not None:
            found[asked] = value["value"]
        return found or None
