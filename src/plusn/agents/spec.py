"""The agent file: a tool-using agent, a workflow of nodes, or a form over a decision tree.

One YAML file per agent. Which shape it is follows from its keys:

- ``nodes:`` a workflow (waterfall, tree or loop) of model, skill, tool, branch, loop, map,
  form/ask and answer nodes;
- ``form:`` a slot-filling form over a decision tree (a workflow of one form node);
- otherwise a tool-using agent: ``instructions`` and ``tools``, in a bounded loop.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..templating import TemplateProblem, check_expression, check_template
from .quantities import canonical_unit, slot_unit, unit_words

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_TOOL = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
RESERVED = {"input", "messages", "today", "now", "item", "loop", "agent", "error"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _template(v: str | None) -> str | None:
    if v is not None:
        try:
            check_template(v)
        except TemplateProblem as exc:
            raise ValueError(str(exc)) from None
    return v


def _expression(v: str | None) -> str | None:
    if v is not None:
        try:
            check_expression(v)
        except TemplateProblem as exc:
            raise ValueError(str(exc)) from None
    return v


# --- tools ---------------------------------------------------------------------------------


class ToolSpec(_Strict):
    type: Literal["search", "sql", "http", "calculator", "skill", "agent", "clock", "mcp"]
    # How the model and the nodes call it; defaults from the type. For mcp, the server's name in
    # traces, the ledger and messages (the tools keep the names the server gives them).
    name: str | None = None
    description: str | None = None
    kb: str | None = None  # search
    k: int = Field(4, ge=1, le=20)
    db: str | None = None  # sql
    allow: list[str] = Field(default_factory=list)  # http: hosts, or "*.example.com"
    methods: list[Literal["GET", "POST"]] = ["GET"]  # pydantic copies defaults
    timeout_s: float = Field(10.0, gt=0, le=120)  # http, mcp (each call, and starting the server)
    max_bytes: int = Field(200_000, gt=0)  # http, mcp (the text of a result)
    skill: str | None = None  # skill
    agent: str | None = None  # agent
    timezone: str = "UTC"  # clock
    # mcp: a server started as a command (stdio) or reached at a URL (streamable HTTP), and the
    # allow-list of its tools, or "*" for every tool it lists (agents only, not workflow nodes)
    command: str | None = None
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None
    headers_env: dict[str, str] = Field(default_factory=dict)  # header → the environment variable with its value
    tools: list[str] | Literal["*"] | None = None
    prefix: str = ""  # put before each of its tools' names, where two servers name a tool alike

    @model_validator(mode="after")
    def _needs(self) -> ToolSpec:
        need = {"search": "kb", "sql": "db", "skill": "skill", "agent": "agent", "mcp": "tools"}.get(self.type)
        if need and getattr(self, need) is None:
            raise ValueError(f"a {self.type} tool needs '{need}'" + (
                ': the names of the server\'s tools it may call, or "*" for all of them' if need == "tools" else ""))
        if self.type == "http" and not self.allow:
            raise ValueError("an http tool needs 'allow': the hosts it may reach")
        if self.type == "mcp":
            self._mcp_server()
        else:
            mcp_only = ("command", "args", "env", "cwd", "url", "headers_env", "tools", "prefix")
            used = [k for k in mcp_only if k in self.model_fields_set]
            if used:
                raise ValueError(f"'{used[0]}' belongs to mcp tools only")
        return self

    def _mcp_server(self) -> None:
        if self.description is not None:
            raise ValueError("an mcp server describes its own tools; 'description' is not used here")
        if (self.command is None) == (self.url is None):
            raise ValueError("an mcp tool needs either 'command' (a server on stdio) or 'url' (streamable HTTP)")
        if self.url is not None and not re.match(r"^https?://[^/\s]+", self.url):
            raise ValueError("'url' must be an http:// or https:// URL")
        if self.command is not None and self.headers_env:
            raise ValueError("'headers_env' is for servers at a URL; give a command its 'env'")
        if self.url is not None and (self.args or self.env or self.cwd):
            raise ValueError("'args', 'env' and 'cwd' are for servers started as a command")
        if isinstance(self.tools, list):
            if not self.tools:
                raise ValueError("'tools' lists no tool; name the tools the agent may call, or \"*\"")
            if "*" in self.tools:
                raise ValueError("to allow every tool of the server, write tools: \"*\" (not in a list)")
            for t in self.tool_names():
                if not _TOOL.match(t):
                    raise ValueError(f"{t!r} is not a usable tool name (letters, digits, '_', '-' and '.')")

    def tool_name(self) -> str:
        if self.name:
            return self.name
        extra = self.kb or self.db or self.skill or self.agent
        return f"{self.type}_{extra}".replace("-", "_") if extra else self.type

    def tool_names(self) -> list[str]:
        """The names the model and the nodes call this source's tools by (an mcp server that
        allows "*" names its tools only when it lists them)."""
        if self.type != "mcp":
            return [self.tool_name()]
        return [self.prefix + t for t in self.tools] if isinstance(self.tools, list) else []

    def server_label(self) -> str:
        """An mcp server's name: its ``name``, else its command's or its URL host's."""
        if self.name:
            return self.name
        if self.command is not None:
            return re.split(r"[\\/]", self.command)[-1] or "mcp"
        return re.sub(r"^https?://([^/:]+).*$", r"\1", str(self.url))


# --- forms ---------------------------------------------------------------------------------


class Slot(_Strict):
    type: Literal["string", "integer", "number", "boolean", "enum", "date"] = "string"
    ask: str  # the question (a template over the values so far)
    label: str | None = None  # a short human name, used in confirmations
    # enum: canonical value → words that mean it (the value itself always counts)
    options: dict[str, list[str]] | list[str] | None = None
    pattern: str | None = None  # strings: the value must match (and is found anywhere in a message)
    min: float | None = None
    max: float | None = None
    error: str | None = None  # said when the answer is not valid
    aliases: list[str] = Field(default_factory=list)  # words that name this slot, for corrections
    # numbers: a unit word after the number scales it, e.g. {年: 12, 个月: 1} for a count of months
    units: dict[str, float] = Field(default_factory=dict)
    # numbers: the unit the slot counts in. A duration (年, 月, 周, 天) reads every duration in
    # it, so that 一年半 is 18 for 月 and 一周 is 7 for 天; any other word (元, 公里, 张) is the
    # slot's own, and the words said for it count too (块 for 元). Default: the word of `units`
    # whose factor is 1
    unit: str | None = None
    # booleans: more words that mean yes or no here ("已备案" / "没备案"), besides the common ones
    # (not `yes`/`no`: YAML reads those keys as booleans)
    yes_words: list[str] = Field(default_factory=list)
    no_words: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> Slot:
        if self.type == "enum" and not self.options:
            raise ValueError("an enum slot needs 'options'")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"pattern is not a valid regex: {exc}") from None
        if self.unit is not None and not self.unit.strip():
            raise ValueError("unit must be a word (the unit the slot counts in)")
        _template(self.ask)
        return self

    def counts_in(self) -> str | None:
        """The unit the slot's numbers are read in."""
        return canonical_unit(self.unit) if self.unit else slot_unit(self.units)  # "days", "个月" are 天, 月

    def shown_unit(self) -> str | None:
        """The unit a number of the slot is said back with ("13个月"); None for other slots."""
        return self.counts_in() if self.type in ("integer", "number") else None

    def unit_words(self) -> dict[str, float]:
        """The words its numbers may be said in beside the durations (see :func:`unit_words`)."""
        return unit_words(canonical_unit(self.unit) if self.unit else None, self.units)

    def own_words(self) -> str:
        """Its label, question and aliases in one text: the words its author names it by."""
        return " ".join([self.label or "", self.ask, *self.aliases])

    def choices(self) -> dict[str, list[str]]:
        if isinstance(self.options, dict):
            return {str(k): [str(k), *map(str, v)] for k, v in self.options.items()}
        return {str(o): [str(o)] for o in self.options or []}


class Condition(_Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    if_: str = Field(alias="if")
    then: TreeNode

    _e = field_validator("if_")(_expression)


class TreeNode(_Strict):
    """A question (``slot`` with ``cases`` or ``when``) or a leaf (``decision``)."""

    slot: str | None = None
    cases: dict[str, TreeNode] = Field(default_factory=dict)
    when: list[Condition] = Field(default_factory=list)
    default: TreeNode | None = None
    decision: str | None = None
    answer: str | None = None  # the leaf's reply, a template over the values

    @field_validator("cases", mode="before")
    @classmethod
    def _keys(cls, v: Any) -> Any:
        # YAML reads yes/no/true/false keys as booleans; the tree matches on text.
        if isinstance(v, dict):
            return {(str(k).lower() if isinstance(k, bool) else str(k)): x for k, x in v.items()}
        return v

    _a = field_validator("answer")(_template)

    @model_validator(mode="after")
    def _shape(self) -> TreeNode:
        leaf = self.decision is not None
        if leaf == (self.slot is not None):
            raise ValueError("a tree node has either 'slot' (a question) or 'decision' (a leaf)")
        if self.slot is not None and not (self.cases or self.when or self.default):
            raise ValueError(f"the question on {self.slot!r} needs 'cases', 'when' or 'default'")
        return self


class FormSpec(_Strict):
    slots: dict[str, Slot]
    tree: TreeNode | None = None  # without a tree, every slot is asked in order
    # A model that reads the slots a message mentions, as JSON, when the rules cannot.
    extractor: str | None = None
    # The embedding model that matches answers outside the option lists by meaning: "auto" (the
    # fleet's first embedding model, if any), a model name, or "none" (rules only).
    embedding: str = "auto"
    # Confirm a corrected value ("已更正：…") before the next question.
    confirm_corrections: bool = True

    @model_validator(mode="after")
    def _slots_known(self) -> FormSpec:
        def walk(node: TreeNode, where: str) -> None:
            if node.slot is not None and node.slot not in self.slots:
                raise ValueError(f"{where} asks about {node.slot!r}, which is not a slot")
            for k, sub in node.cases.items():
                walk(sub, f"{where}.cases.{k}")
            for i, c in enumerate(node.when):
                walk(c.then, f"{where}.when[{i}]")
            if node.default is not None:
                walk(node.default, f"{where}.default")
        if self.tree is not None:
            walk(self.tree, "tree")
        return self

    def gates(self, name: str) -> set[str]:
        """The yes/no slots under whose yes every question of ``name`` sits: the years of special
        work are asked only of someone who did such work."""
        under: list[set[str]] = []

        def walk(node: TreeNode | None, yes: frozenset[str]) -> None:
            if node is None or node.decision is not None or node.slot is None:
                return
            if node.slot == name:
                under.append(set(yes))
            boolean = self.slots[node.slot].type == "boolean"
            for k, sub in node.cases.items():
                walk(sub, yes | {node.slot} if boolean and k == "true" else yes)
            for c in node.when:
                walk(c.then, yes)
            walk(node.default, yes)
        walk(self.tree, frozenset())
        return set.intersection(*under) if under else set()


# --- workflow nodes -----------------------------------------------------------------------


class Case(_Strict):
    when: str
    goto: str
    _e = field_validator("when")(_expression)


class Node(_Strict):
    id: str
    type: Literal["llm", "skill", "tool", "branch", "loop", "map", "form", "ask", "answer"]
    next: str | None = None  # default: the node after this one
    into: str | None = None  # the variable that receives the result
    # llm
    prompt: str | None = None
    system: str | None = None
    model: str | None = None
    output: dict[str, Any] | None = None  # a JSON schema the model's answer must satisfy
    max_tokens: int | None = Field(None, gt=0)
    temperature: float | None = Field(None, ge=0, le=2)
    # skill / tool
    skill: str | None = None
    tool: str | None = None
    args: dict[str, Any] = Field(default_factory=dict)  # values may be templates
    on_error: str | None = None  # a tool or skill error goes here instead of ending the run
    # branch
    cases: list[Case] = Field(default_factory=list)
    default: str | None = None
    # loop: placed after its body; runs the body again from `do` (whose chain leads back here)
    # until `until` holds, the body running at most `max` times in all
    do: str | None = None
    until: str | None = None
    max: int = Field(3, ge=1, le=100)
    # map: run `step` for each item of `over` (an expression), `concurrency` at a time
    over: str | None = None
    step: Node | None = None
    concurrency: int = Field(4, ge=1, le=32)
    # form / ask
    form: FormSpec | None = None
    slot: str | None = None  # ask: the variable
    ask: Slot | None = None
    # answer
    text: str | None = None

    _t = field_validator("prompt", "system", "text")(_template)
    _e = field_validator("until", "over")(_expression)

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not _ID.match(v):
            raise ValueError("a node id is letters, digits, '_', '-' and '.'")
        return v

    @field_validator("into")
    @classmethod
    def _into(cls, v: str | None) -> str | None:
        if v is not None and (v in RESERVED or not v.isidentifier()):
            raise ValueError(f"{v!r} cannot be a variable name (reserved: {', '.join(sorted(RESERVED))})")
        return v

    @model_validator(mode="after")
    def _needs(self) -> Node:
        need = {"llm": ["prompt"], "skill": ["skill"], "tool": ["tool"], "branch": ["cases"],
                "loop": ["do", "until"], "map": ["over", "step"], "form": ["form"], "ask": ["slot", "ask"],
                "answer": ["text"]}[self.type]
        for key in need:
            if not getattr(self, key):
                raise ValueError(f"a {self.type} node needs '{key}'")
        if self.step is not None and self.step.type not in ("llm", "skill", "tool"):
            raise ValueError("a map's step is an llm, skill or tool node")
        return self


class Limits(_Strict):
    steps: int = Field(8, ge=1, le=200)  # model calls of the tool-using agent, per turn
    nodes: int = Field(50, ge=1, le=10_000)  # nodes a workflow runs per turn (loops count each pass)
    tokens: int = Field(20_000, ge=1)
    seconds: float = Field(120.0, gt=0)


class AgentSpec(_Strict):
    name: str
    description: str = ""
    language: Literal["zh", "en"] = "en"  # of plusn's own words to the user (confirmations, errors)
    model: str | None = None  # default for the agent loop and llm nodes: auto, else the first chat model
    instructions: str = ""
    tools: list[ToolSpec] = Field(default_factory=list)
    protocol: Literal["auto", "text", "openai"] = "auto"
    limits: Limits = Field(default_factory=Limits)
    nodes: list[Node] = Field(default_factory=list)
    start: str | None = None
    form: FormSpec | None = None

    _t = field_validator("instructions")(_template)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _ID.match(v):
            raise ValueError("an agent name is letters, digits, '_', '-' and '.'")
        return v

    @model_validator(mode="after")
    def _graph(self) -> AgentSpec:
        if self.form is not None and self.nodes:
            raise ValueError("an agent has 'nodes' (a workflow) or 'form', not both")
        if self.form is not None:
            self.nodes = [Node(id="form", type="form", form=self.form, into="decision")]
        tools = [name for t in self.tools for name in t.tool_names()]
        dup = {t for t in tools if tools.count(t) > 1}
        if dup:
            raise ValueError(f"two tools are named {sorted(dup)[0]!r}; give one a 'name' "
                             "(or an mcp server a 'prefix' for its tools)")
        ids = [n.id for n in self.nodes]
        seen: set[str] = set()
        for i, n in enumerate(self.nodes):
            if n.id in seen:
                raise ValueError(f"nodes[{i}]: the id {n.id!r} is used twice")
            seen.add(n.id)
        for i, n in enumerate(self.nodes):
            targets = [n.next, n.default, n.do, n.on_error, *(c.goto for c in n.cases)]
            for t in targets:
                if t is not None and t not in ids:
                    raise ValueError(f"nodes[{i}] ({n.id}) goes to {t!r}, which is not a node")
            for step in (n, n.step):
                if step is not None and step.tool is not None and step.tool not in tools:
                    raise ValueError(f"nodes[{i}] ({n.id}) uses the tool {step.tool!r}, which is not in 'tools'"
                                     " (a node names an mcp tool from its server's list, not from \"*\")")
        if self.start is not None and self.start not in ids:
            raise ValueError(f"start {self.start!r} is not a node")
        return self

    @property
    def kind(self) -> str:
        return "form" if self.form is not None else "workflow" if self.nodes else "agent"

    def version(self) -> str:
        canon = json.dumps(self.model_dump(mode="json", by_alias=True), ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(canon.encode("utf-8")).hexdigest()[:12]


Condition.model_rebuild()
TreeNode.model_rebuild()
Node.model_rebuild()
