"""What plusn offers as MCP tools, and one call of a tool for one caller, whatever the transport.

Each tool is named after what it serves, with ``_`` for the ``:`` of the model name:

- ``kb_<name>`` searches a knowledge base: the passages, numbered, with their citations; a
  document with an access list is found only by the keys and teams it names;
- ``skill_<name>`` runs a skill: its variables are the arguments, its output the result;
- ``agent_<name>`` is one turn of an agent: ``input`` and an optional ``session``. A workflow that
  asks the user something answers with its question and a session id; the next call with that
  session id goes on from there.

The caller's key applies as it does over HTTP: its model allow-list decides what it sees and
may call (``kb:<name>``, ``skill:<name>``, ``agent:<name>``), its limits admit the request and
reserve what a model call may use, and the input and output guards run on skills and agents.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from ..agents.backend import AgentBackend
from ..assemble import Deployment
from ..errors import InvalidRequest, NotFound
from ..fleet.backend import Generation, GenRequest
from ..gateway.answer import upper_bound
from ..gateway.auth import Principal, require_scope
from ..gateway.serving import meter, plusn_block
from ..ledger.writer import RequestRecord
from ..safety.guard import check_input, guard_output, input_policy, refusing
from ..skills.backend import SkillBackend

_SEARCH = {"type": "object", "properties": {
    "query": {"type": "string", "description": "what to look for, in the words of the documents"},
    "k": {"type": "integer", "minimum": 1, "maximum": 20, "default": 5, "description": "passages to return"},
}, "required": ["query"], "additionalProperties": False}
_AGENT = {"type": "object", "properties": {
    "input": {"type": "string", "description": "the user's message"},
    "session": {"type": "string", "description": "the session id an earlier answer gave, to go on with it"},
}, "required": ["input"], "additionalProperties": False}


@dataclass
class Caller:
    """Who calls, the ledger record of the request, and how to reserve what a model call may use
    against the caller's limits (tokens, then money)."""

    who: Principal
    record: RequestRecord
    reserve: Callable[[int, float], Awaitable[None]]


@dataclass
class Offered:
    name: str  # the MCP tool name
    model: str  # what it serves: kb:<name>, skill:<name> or agent:<name>
    description: str
    schema: dict[str, Any]


@dataclass
class Result:
    text: str
    data: dict[str, Any]


def tool_name(model: str) -> str:
    return model.replace(":", "_", 1)


def _skill_schema(b: SkillBackend) -> dict[str, Any]:
    props: dict[str, Any] = {}
    for name, v in b.skill.spec.variables.items():
        props[name] = {"type": v.type, **({"description": v.description} if v.description else {}),
                       **({"enum": v.enum} if v.enum is not None else {}),
                       **({"default": v.default} if v.default is not None else {})}
    required = [n for n, v in b.skill.spec.variables.items() if v.required and v.default is None]
    return {"type": "object", "properties": props, "required": required, "additionalProperties": False}


def offered(d: Deployment) -> list[Offered]:
    """Every tool the deployment offers, knowledge bases first."""
    out = [Offered(tool_name(f"kb:{name}"), f"kb:{name}",
                   f"Search the knowledge base {name!r}" + (f" ({spec.description})" if spec.description else "")
                   + ": numbered passages with their sources.", _SEARCH)
           for name, spec in d.settings.knowledge.items()]
    for model, member in sorted(d.fleet.members.items()):
        if isinstance(member, SkillBackend) and "@" not in model:
            out.append(Offered(tool_name(model), model, member.skill.spec.description or f"The skill {model}.",
                               _skill_schema(member)))
        elif isinstance(member, AgentBackend):
            words = (member.agent.spec.description or f"The agent {model}").rstrip()
            words += "" if words.endswith((".", "!", "?", "。", "！", "？")) else "."
            out.append(Offered(tool_name(model), model, f"{words} If it asks a question, call again with the "
                               "answer as input and the session id it gave.", _AGENT))
    return out


def visible(d: Deployment, who: Principal) -> list[Offered]:
    """The tools this caller may see and call (its key's model allow-list)."""
    return [t for t in offered(d) if who.may_use(t.model)]


async def call(d: Deployment, caller: Caller, name: str, args: dict[str, Any]) -> Result:
    """Run one tool for the caller; a :class:`~plusn.errors.PlusnError` says what went wrong."""
    found = next((t for t in offered(d) if t.name == name), None)
    if found is None:
        raise NotFound(f"no tool named {name!r}; tools/list names the tools this key may call", param="name")
    rec, who = caller.record, caller.who
    rec.asked_for(found.model)
    who.check_model(found.model)
    require_scope(who, "read")
    kind, _, target = found.model.partition(":")
    if kind == "kb":
        return await _search(d, caller, target, args)
    if kind == "skill":
        return await _skill(d, caller, found.model, args)
    return await _agent(d, caller, found.model, args)


def _text(args: dict[str, Any], name: str) -> str:
    value = args.get(name)
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest(f"the argument {name!r} (text) is missing", param=name)
    return value


async def _search(d: Deployment, caller: Caller, kb: str, args: dict[str, Any]) -> Result:
    query = _text(args, "query")
    k = args.get("k", 5)
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= 20:
        raise InvalidRequest("'k' is a whole number from 1 to 20", param="k")
    base = await d.knowledge.get(kb)
    hits = await base.search(query, k=k, viewer=caller.who.viewer)
    caller.record.charge(base.embedder.name, 0, 0, 0.0)  # the query's embedding; its tokens are not counted
    results = [h.citation(i, 400) | {"text": h.text} for i, h in enumerate(hits, 1)]
    text = "\n\n".join(f"[{i}] {h.title}{' / ' + h.heading if h.heading else ''} ({h.source})\n{h.text}"
                       for i, h in enumerate(hits, 1)) or "No passage matched."
    return Result(text, {"kb": kb, "results": results, "plusn": plusn_block(caller.record)})


async def _skill(d: Deployment, caller: Caller, model: str, args: dict[str, Any]) -> Result:
    member = d.fleet.members.get(model)
    if not isinstance(member, SkillBackend):  # removed by a reload since it was listed
        raise NotFound(f"no skill {model!r} any more; tools/list names the tools there are", param="name")
    variables = member.variables(args, "arguments")  # names the variable that is missing or wrong
    req = GenRequest("chat", [{"role": "user", "content": json.dumps(variables, ensure_ascii=False)}])
    gen = await _generate(d, caller, model, req)
    output: Any = gen.text
    if "skill" in (gen.route or {}) and member.skill.spec.output is not None:
        output = json.loads(gen.text)
    data = {"output": output, "version": member.skill.version, "finish_reason": gen.finish_reason,
            "plusn": plusn_block(caller.record)}
    return Result(gen.text, data)


async def _agent(d: Deployment, caller: Caller, model: str, args: dict[str, Any]) -> Result:
    text = _text(args, "input")
    session = args.get("session")
    if session is not None and (not isinstance(session, str) or not 0 < len(session) <= 200):
        raise InvalidRequest("'session' is the session id an earlier answer gave", param="session")
    session = session or uuid.uuid4().hex
    req = GenRequest("chat", [{"role": "user", "content": text}], session=session)
    gen = await _generate(d, caller, model, req)
    route = gen.route or {}
    data: dict[str, Any] = {"answer": gen.text, "session": session, "status": route.get("status", "done")}
    for key in ("waiting_for", "decision", "citations"):
        if key in route:
            data[key] = route[key]
    data["plusn"] = plusn_block(caller.record)
    return Result(gen.text, data)


async def _generate(d: Deployment, caller: Caller, model: str, req: GenRequest) -> Generation:
    """A skill's or an agent's answer, as the gateway makes it: the caller's identity on the
    request, a reservation against its limits, the input and output guards, a slot of the
    backend, and every model call charged to the record."""
    who, rec = caller.who, caller.record
    req.user, req.viewer = who.key_id, who.viewer
    rec.under_policy(d.policy)  # read with the lookup: a reload between them would name the wrong version
    backend = await d.fleet.backend(model, "chat")
    await caller.reserve(*upper_bound(d, backend, req))
    refusal = await check_input(req, input_policy(d.settings, model, who), d.safety_embed())
    if refusal is not None:
        backend = refusing(backend, refusal)
    elif d.settings.safety.output != "allow":
        backend = guard_output(backend, d.settings.safety)
    async with d.fleet.limiter_of(backend).slot():
        gen = await backend.generate(req)
    meter(rec, backend, gen.usage, gen.calls if gen.route is not None else None, gen.route, d.fleet.reference())
    return gen
