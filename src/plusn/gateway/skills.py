"""Skills as JSON APIs.

    GET  /v1/skills              the skills: description, variables, output schema, version
    POST /v1/skills/{name}       {"input": {variable: value, ...}} → {"output": …, "version": …}

The same skill answers chat as ``model="skill:<name>"``; both paths run the same backend,
behind the same authorisation and safety guards, and leave one ledger row.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import JSONResponse

from ..errors import InvalidRequest, NotFound
from ..fleet.backend import GenRequest
from ..skills.backend import SkillBackend
from ..skills.versions import history
from .answer import prepare
from .auth import Principal
from .runtime import principal, record, runtime
from .serving import generate_once, plusn_block, plusn_headers

router = APIRouter()


class SkillCall(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # The variables; a plain string fills the skill's input variable.
    input: dict[str, Any] | str
    # A version this gateway has served (GET /v1/skills/{name}/versions); default: the current one.
    version: str | None = Field(None, pattern=r"^[0-9a-f]{12}$")
    max_tokens: int | None = Field(None, gt=0)
    temperature: float | None = Field(None, ge=0, le=2)
    seed: int | None = None


def _skills(request: Request) -> dict[str, SkillBackend]:
    fleet = runtime(request).fleet
    return {n.removeprefix("skill:"): m for n, m in fleet.members.items() if isinstance(m, SkillBackend)}


def describe(b: SkillBackend) -> dict[str, Any]:
    spec = b.skill.spec
    return {"id": spec.name, "object": "skill", "model": f"skill:{spec.name}", "version": b.skill.version,
            "description": spec.description, "tags": spec.tags, "input": spec.input_variable(),
            "variables": {n: v.model_dump(exclude_defaults=True) for n, v in spec.variables.items()},
            "output_schema": spec.output, "target": b.target}


@router.get("/v1/skills")
async def list_skills(request: Request, who: Principal = Depends(principal)) -> JSONResponse:
    data = [describe(b) for name, b in sorted(_skills(request).items()) if who.may_use(f"skill:{name}")]
    return JSONResponse({"object": "list", "data": data})


@router.get("/v1/skills/{name}/versions")
async def skill_versions(name: str, request: Request, who: Principal = Depends(principal)) -> JSONResponse:
    skill = _skills(request).get(name)
    if skill is None or not who.may_use(f"skill:{name}"):
        raise NotFound(f"no skill named {name!r}; GET /v1/skills lists them", param="name")
    rows = await asyncio.to_thread(history, runtime(request).settings.state_db(), name)
    return JSONResponse({"object": "list", "skill": name, "current": skill.skill.version, "data": rows})


@router.post("/v1/skills/{name}")
async def run_skill(name: str, body: SkillCall, request: Request,
                    who: Principal = Depends(principal)) -> JSONResponse:
    skill = _skills(request).get(name)
    if skill is None:
        raise NotFound(f"no skill named {name!r}; GET /v1/skills lists them", param="name")
    model = f"skill:{name}" if body.version is None else f"skill:{name}@{body.version}"
    record(request).asked_for(model)
    who.check_model(model)  # before anything about the skill is told
    if body.version is not None:
        skill = skill.version_of(body.version, runtime(request).settings.state_db())
    given = body.input
    if isinstance(given, str):
        var = skill.skill.spec.input_variable()
        if var is None:
            raise InvalidRequest(f"skill {name!r} takes several variables; send 'input' as an object",
                                 param="input")
        given = {var: given}
    variables = skill.variables(given)  # a 400 naming the variable, before anything runs
    req = GenRequest("chat", [{"role": "user", "content": json.dumps(variables, ensure_ascii=False)}],
                     max_tokens=body.max_tokens, temperature=body.temperature, seed=body.seed)
    backend = await prepare(request, who, model, req)
    gen = await generate_once(request, backend, req)
    route = gen.route or {}
    output: Any = gen.text
    if "skill" in route and skill.skill.spec.output is not None:
        output = json.loads(gen.text)
    payload = {"object": "skill.result", "skill": name, "version": skill.skill.version, "output": output,
               "finish_reason": gen.finish_reason, "model": gen.model, "usage": gen.usage.as_dict(),
               "plusn": plusn_block(record(request))}
    return JSONResponse(payload, headers=plusn_headers(record(request), backend, gen.model, gen.route))
