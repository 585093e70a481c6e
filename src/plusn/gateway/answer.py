"""The path chat, completions and responses share: authorise, guard the input, consult the cache,
run the backend (whole or streamed), keep the answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic_core import to_json
from starlette.requests import Request
from starlette.responses import Response

from ..fleet.backend import Backend, GenRequest, Usage, content_text, rough_tokens
from ..safety.guard import check_input, guard_output, input_policy, refusing
from .admission import admitted, reserve
from .auth import Principal
from .cached import consult, hit_response, keep_answer
from .runtime import record, runtime
from .serving import blocked, generate_once, open_stream, plusn_block, plusn_headers
from .wire import MakeWire


def upper_bound(rt: Any, backend: Backend, req: GenRequest) -> tuple[int, float]:
    """Tokens and cost this request may reach: its prompt plus max_tokens (or the configured
    reserve), at this model's price, or the fleet's dearest for a route that chooses a model."""
    text = req.prompt if req.kind == "completion" else " ".join(content_text(m.get("content")) for m in req.messages)
    prompt = len(rough_tokens(text)) + 4 * len(req.messages)
    completion = req.max_tokens or rt.settings.limits.reserve_completion_tokens
    price = backend.settings.price
    reference = rt.fleet.reference()
    if backend.name not in rt.settings.models and reference is not None:  # a composite: it may pick the dearest
        price = reference.settings.price
    return prompt + completion, price.cost(prompt, completion)


async def prepare(request: Request, who: Principal, model: str, req: GenRequest) -> Backend:
    """Authorise the model, then the backend that will answer, behind the safety guards."""
    record(request).asked_for(model)
    who.check_model(model)
    req.session = request.headers.get("x-plusn-session") or None
    req.user = who.key_id
    req.viewer = who.viewer
    rt = runtime(request)
    # Read with the lookup, before any await: a reload between them would name the wrong version.
    record(request).under_policy(rt.deployment.policy)
    backend = await rt.fleet.backend(model, req.kind, req)  # req: its tools and images need capabilities
    if admitted(request):  # the tokens and money this request may use, against TPM and budget
        await reserve(request, *upper_bound(rt, backend, req))
    refusal = await check_input(req, input_policy(rt.settings, model, who), rt.deployment.safety_embed())
    if refusal is not None:
        return refusing(backend, refusal)
    if rt.settings.safety.output != "allow":
        return guard_output(backend, rt.settings.safety)
    return backend


async def answer(request: Request, who: Principal, *, model: str, req: GenRequest, stream: bool, wire: MakeWire,
                 check: Callable[[Backend], None] | None = None) -> Response:
    """The shared path of every endpoint that generates: authorise, guard, consult the cache,
    pick the backend, run, respond in the endpoint's wire format."""
    rec = record(request)
    backend = await prepare(request, who, model, req)
    if check is not None:
        check(backend)
    plan, hit = await consult(request, who, model, req)
    if hit is not None:
        return hit_response(request, hit, wire(backend.name), stream=stream)
    rt = runtime(request)
    opted_in = rt.opted_in(who)
    if stream:
        done = None
        if plan is not None:
            def done(text: str, finish: str, usage: Usage, answered_by: str, route: dict[str, Any] | None) -> None:
                keep_answer(request, plan, text, finish, usage, answered_by, route)
        return await open_stream(request, backend, req, wire(backend.name), opted_in=opted_in, done=done)
    gen = await generate_once(request, backend, req)
    spec = rt.observer.learning(rec.route, opted_in, blocked(rec)) if opted_in else None
    if spec is not None and not gen.tool_calls:  # a call is no answer to learn from
        rt.observer.keep(rec, spec, req, gen.text, gen.model or backend.name)
    if plan is not None and not gen.tool_calls:
        keep_answer(request, plan, gen.text, gen.finish_reason, gen.usage, gen.model or backend.name, gen.route)
    payload = wire(backend.name).whole(gen.text, gen.finish_reason, gen.usage, plusn_block(rec), gen.tool_calls)
    # pydantic-core writes the JSON several times faster than json.dumps (same UTF-8 output).
    return Response(to_json(payload), media_type="application/json",
                    headers=plusn_headers(rec, backend, gen.model if gen.route else None, gen.route))
