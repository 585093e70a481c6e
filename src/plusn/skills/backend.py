"""``model="skill:<name>"``: a skill served like a model, and the call behind ``POST /v1/skills``.

The skill renders its messages (system, few-shot examples as earlier turns, the filled
template), calls its model or route through the fleet, and, when it has an output schema,
makes sure the answer satisfies it: by grammar where the model can enforce a schema, else by
validating and retrying with the validation error shown to the model.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from ..config import ModelSettings
from ..errors import InvalidRequest, ModelNotFound, UpstreamError
from ..fleet.backend import (
    Backend,
    Call,
    Composite,
    Generation,
    GenRequest,
    Lookup,
    Usage,
    content_text,
    sampled_member,
)
from ..templating import TemplateProblem, render
from .library import Skill
from .versions import history, load

Run = Callable[[str, GenRequest], Awaitable[tuple[Generation, Backend]]]
_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.S)


def parse_json(text: str) -> Any:
    """The JSON value in a model's reply: the whole reply, a fenced block, or the first balanced
    object or array in it (small models like to add a sentence around it)."""
    text = text.strip()
    candidates = [text, *(m.strip() for m in _FENCE.findall(text))]
    for opener, closer in (("{", "}"), ("[", "]")):
        span = _balanced(text, opener, closer)
        if span is not None:
            candidates.append(span)
    for c in candidates:
        try:
            return json.loads(c)
        except ValueError:
            continue
    raise ValueError("the reply holds no JSON value")


def schema_errors(value: Any, schema: dict[str, Any]) -> list[str]:
    from jsonschema import Draft202012Validator

    errors = sorted(Draft202012Validator(schema).iter_errors(value), key=lambda e: list(e.path))
    return [f"{'/'.join(map(str, e.path)) or '(top)'}: {e.message}" for e in errors[:5]]


def _balanced(text: str, opener: str, closer: str) -> str | None:
    """The first balanced ``opener … closer`` span, skipping brackets inside JSON strings."""
    start = text.find(opener)
    if start == -1:
        return None
    depth, in_str, esc = 0, False, False
    for i in range(start, len(text)):
        ch = text[i]
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch == opener:
            depth += 1
        elif ch == closer:
            depth -= 1
            if depth == 0:
                return text[start : i + 1]
    return None


class SchemaFailure(ValueError):
    def __init__(self, problems: list[str], attempts: int) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems
        self.attempts = attempts


@dataclass
class Answer:
    gen: Generation
    value: Any  # the parsed JSON with a schema, else the text
    text: str
    calls: list[Call]
    usage: Usage
    attempts: int


async def answer_json(run: Run, target: str, req: GenRequest, schema: dict[str, Any] | None,
                      retries: int) -> Answer:
    """Call ``target``; with a schema, parse and check the answer, and on failure show the model
    its answer and what is wrong with it and ask again, up to ``retries`` times."""
    calls: list[Call] = []
    usage = Usage()
    problems: list[str] = []
    for attempt in range(1, retries + 2):
        gen, backend = await run(target, req)
        calls += gen.calls or [backend.call_of(gen.usage, f"attempt {attempt}")]
        usage.prompt_tokens += gen.usage.prompt_tokens
        usage.completion_tokens += gen.usage.completion_tokens
        if schema is None:
            return Answer(gen, gen.text.strip(), gen.text.strip(), calls, usage, attempt)
        try:
            value = parse_json(gen.text)
            problems = schema_errors(value, schema)
        except ValueError as exc:
            problems = [str(exc)]
        if not problems:
            return Answer(gen, value, json.dumps(value, ensure_ascii=False), calls, usage, attempt)
        if req.kind != "chat":
            raise SchemaFailure(problems, attempt)  # a base model cannot be told what was wrong
        req = dataclasses.replace(req, messages=[
            *req.messages, {"role": "assistant", "content": gen.text},
            {"role": "user", "content": "That reply does not satisfy the schema: " + "; ".join(problems)
             + ". Reply again with only the corrected JSON."}])
    raise SchemaFailure(problems, retries + 1)


class SkillBackend(Composite):
    def __init__(self, name: str, skill: Skill, target: str, run: Run, settings: ModelSettings, *,
                 structured: bool, completion: bool = False) -> None:
        super().__init__(name, settings, None, context=None)
        self.skill = skill
        self.target = target
        self.run = run
        self.structured = structured  # the target enforces a JSON schema by grammar
        self.completion = completion  # the target is a base model: it continues one text (see prompt)

    def version_of(self, version: str, db: Any) -> SkillBackend:
        """This skill as it was at ``version`` (any version the gateway has served)."""
        if version == self.skill.version:
            return self
        old = load(db, self.skill.name, version)
        if old is None:
            known = ", ".join(h["version"] for h in history(db, self.skill.name)) or self.skill.version
            raise ModelNotFound(f"skill {self.skill.name!r} has no version {version!r}; versions: {known}",
                                param="model")
        return SkillBackend(f"skill:{self.skill.name}@{version}", old, self.target, self.run, self.settings,
                            structured=self.structured, completion=self.completion)

    # --- variables -------------------------------------------------------------------------

    def variables(self, given: dict[str, Any], param: str = "input") -> dict[str, Any]:
        """Defaults filled, types checked; a missing or wrong variable is the client's 400."""
        spec = self.skill.spec
        unknown = set(given) - set(spec.variables)
        if unknown:
            raise InvalidRequest(f"skill {spec.name!r} has no variable {sorted(unknown)[0]!r}; it takes "
                                 f"{', '.join(spec.variables) or 'none'}", param=f"{param}.{sorted(unknown)[0]}")
        out: dict[str, Any] = {}
        for name, var in spec.variables.items():
            if name not in given or given[name] is None:
                if var.default is not None or not var.required:
                    out[name] = var.default
                    continue
                raise InvalidRequest(f"skill {spec.name!r} needs the variable {name!r}"
                                     + (f" ({var.description})" if var.description else ""), param=f"{param}.{name}")
            try:
                out[name] = var.coerce(given[name])
            except ValueError as exc:
                raise InvalidRequest(f"variable {name!r}: {exc}", param=f"{param}.{name}") from None
        return out

    def variables_from_chat(self, req: GenRequest) -> dict[str, Any]:
        """A chat's last user message is either a JSON object of variables or the input text."""
        users = [m for m in req.messages if m.get("role") == "user"]
        text = content_text(users[-1].get("content")) if users else req.prompt
        stripped = text.strip()
        if stripped.startswith("{"):
            try:
                given = json.loads(stripped)
            except ValueError:
                given = None
            if isinstance(given, dict) and set(given) <= set(self.skill.spec.variables):
                return self.variables(given, "messages")
        name = self.skill.spec.input_variable()
        if name is None:
            raise InvalidRequest(f"skill {self.skill.name!r} takes several variables; send them as a JSON object "
                                 f"({', '.join(self.skill.spec.variables)}) or use POST /v1/skills/{self.skill.name}",
                                 param="messages")
        return self.variables({name: text}, "messages")

    # --- prompt ----------------------------------------------------------------------------

    def _fill(self, variables: dict[str, Any]) -> str:
        try:
            return render(self.skill.spec.template, variables)
        except TemplateProblem as exc:
            raise InvalidRequest(f"skill {self.skill.name!r}: {exc}", param="input") from None

    def _system(self, variables: dict[str, Any]) -> str:
        spec = self.skill.spec
        system = render(spec.system, variables) if spec.system else ""
        if spec.output is not None:
            schema = json.dumps(spec.output, ensure_ascii=False)
            system = f"{system}\n\nReply with one JSON value that satisfies this JSON schema, and nothing else:\n{schema}"
        return system.strip()

    def _shots(self) -> list[tuple[str, str]]:
        """The few-shot examples: (the filled template, the answer)."""
        spec = self.skill.spec
        out = []
        for ex in spec.examples:
            shot = {**{n: v.default for n, v in spec.variables.items()}, **ex.input}
            answer = ex.output if isinstance(ex.output, str) else json.dumps(ex.output, ensure_ascii=False)
            out.append((self._fill(shot), answer))
        return out

    def messages(self, variables: dict[str, Any], context: str = "") -> list[dict[str, Any]]:
        system = "\n\n".join(x for x in (self._system(variables), context) if x)
        out: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
        for asked, answer in self._shots():
            out += [{"role": "user", "content": asked}, {"role": "assistant", "content": answer}]
        out.append({"role": "user", "content": self._fill(variables)})
        return out

    def prompt(self, variables: dict[str, Any], context: str = "") -> str:
        """The skill as one text for a base model to continue: the context, the system text,
        each example's filled template directly followed by its answer, then the filled
        template. A template that ends where the answer begins ("问：{{ question }}\n答：") shows
        the model the pattern."""
        parts = [x for x in (context, self._system(variables)) if x]
        parts += [asked + answer for asked, answer in self._shots()]
        parts.append(self._fill(variables))
        return "\n\n".join(parts)

    # --- running ---------------------------------------------------------------------------

    async def invoke(self, variables: dict[str, Any], base: GenRequest | None = None,
                     context: str = "") -> tuple[Generation, Any]:
        """Run the skill on checked variables: (the generation, the output value). ``context``:
        what the caller's system message said (a grounded route's passages, the date)."""
        spec = self.skill.spec
        req = GenRequest("chat", max_tokens=spec.max_tokens or (base.max_tokens if base else None),
                         temperature=spec.temperature if spec.temperature is not None else
                         (base.temperature if base else None), stop=list(spec.stop) or None,
                         seed=base.seed if base else None, session=base.session if base else None,
                         user=base.user if base else None, viewer=base.viewer if base else frozenset())
        if self.completion:
            req.kind, req.prompt = "completion", self.prompt(variables, context)
        else:
            req.messages = self.messages(variables, context)
        if spec.output is not None and self.structured:
            req.response_format = {"type": "json_schema", "json_schema": {"name": spec.name, "schema": spec.output}}
        try:
            ans = await answer_json(self.run, self.target, req, spec.output, spec.retries)
        except SchemaFailure as exc:
            raise UpstreamError(f"skill {spec.name!r}: the model's answer did not satisfy the output schema after "
                                f"{exc.attempts} attempts ({'; '.join(exc.problems)})", code="invalid_output") from None
        return self._done(ans.gen, ans.value, ans.text, ans.calls, ans.usage, ans.attempts), ans.value

    def _done(self, gen: Generation, output: Any, text: str, calls: list[Call], usage: Usage,
              attempts: int) -> Generation:
        route: dict[str, Any] = {"route": self.name, "skill": self.skill.name, "version": self.skill.version,
                                 "target": self.target, "attempts": attempts,
                                 "enforced": "grammar" if self.structured and self.skill.spec.output else
                                 "validated" if self.skill.spec.output else "none",
                                 "answered_by": gen.model or self.target}
        inner = gen.route or {}
        for key in ("citations", "sql"):
            if key in inner:
                route[key] = inner[key]
        return Generation(text, gen.finish_reason, usage, gen.model or self.target, calls, route)

    def sampled(self, temperature: float | None, lookup: Lookup) -> bool:
        own = self.skill.spec.temperature  # the skill's own temperature wins over the request's
        return sampled_member(lookup, self.target, own if own is not None else temperature)

    async def generate(self, req: GenRequest) -> Generation:
        # The chat's system message comes along: a route that grounds its answers (knowledge,
        # the date) and leads to a skill puts what it found there.
        system = [content_text(m.get("content")) for m in req.messages if m.get("role") == "system"]
        gen, _ = await self.invoke(self.variables_from_chat(req), req, "\n\n".join(x for x in system if x))
        return gen
