"""A cascade: cheap models answer first, a verifier accepts or escalates, stage by stage.

A cascade is itself a Backend made of backends, so it can be served as ``cascade:<name>``,
chosen by the dispatcher, or measured offline over replay backends with the same code. Every
stage gets the whole conversation, so the model escalated to sees everything the user said.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..errors import PlusnError
from ..fleet.backend import Backend, Call, Composite, Generation, GenRequest, Lookup, Usage, sampled_member
from ..telemetry.spans import span
from .estimator import SuccessEstimator
from .pacing import Pacer
from .spec import CascadeSpec, StageSpec
from .verifiers import Answer, BayesVerifier, JudgeVerifier, Verdict, VoteVerifier

if TYPE_CHECKING:
    from ..config import Price

# Call a member by name through the fleet (its limiter, its start-up), returning its answer.
MemberCall = Callable[[str, GenRequest], Awaitable[tuple[Generation, Backend]]]


class CascadeBackend(Composite):
    """Runs a :class:`CascadeSpec` over members reached through ``call``."""

    def __init__(self, name: str, spec: CascadeSpec, call: MemberCall, settings: Any,
                 reference_price: Price | None = None, start: SuccessEstimator | None = None) -> None:
        super().__init__(name, settings, spec, context=None)
        self.spec = spec
        self._call = call
        # Route-then-cascade: predicted chances pick the first stage and weigh each answer.
        self.starter = start
        if spec.start is not None and start is None:
            raise ValueError(f"{name}: the cascade starts with router {spec.start.router!r}, which was not given")
        # With a budget, the bayes threshold follows the spending (see pacing.py); the
        # reference's price comes from the fleet's config of that model.
        self.pacer: Pacer | None = None
        reference = spec.reference()
        if spec.budget is not None and reference is not None and reference_price is not None:
            assert isinstance(spec.verifier, BayesVerifier)  # validated by CascadeSpec
            self.pacer = Pacer(spec.budget, reference, reference_price, spec.verifier.threshold)

    def _verifier(self, predicted: dict[str, float] | None = None) -> Any:
        update: dict[str, Any] = {}
        if self.pacer is not None:
            update["threshold"] = self.pacer.threshold()
        if predicted:
            update["accuracy"] = predicted  # this prompt's chances, not each model's average
        return self.spec.verifier.model_copy(update=update) if update else self.spec.verifier

    async def _first_stage(self, req: GenRequest) -> tuple[int, dict[str, float] | None, dict[str, Any] | None]:
        """(first stage, predicted chances, what the start decision says) for route-then-cascade."""
        if self.starter is None or self.spec.start is None:
            return 0, None, None
        p = await self.starter.predict(req)
        chances = dict(zip(self.starter.models, p.tolist(), strict=True))
        rungs = [s.models[0] for s in self.spec.stages]
        clears = [i for i, m in enumerate(rungs) if chances.get(m, 0.0) >= self.spec.start.threshold]
        first = clears[0] if clears else 0  # as routing/policies.py start_rung
        note = {"start": rungs[first], "start_threshold": self.spec.start.threshold,
                "predicted": {m: round(v, 4) for m, v in chances.items()}}
        return first, chances, note

    async def _stage(self, stage: StageSpec, req: GenRequest) -> list[tuple[Generation, Backend]]:
        jobs = []
        for model in stage.models:
            for i in range(stage.samples):
                r = req
                if stage.samples > 1:
                    seed = None if req.seed is None else req.seed + i
                    r = dataclasses.replace(req, temperature=stage.temperature, seed=seed)
                jobs.append(self._call(model, r))
        with span("plusn.cascade.stage", **{"plusn.cascade": self.name, "plusn.models": list(stage.models),
                                            "plusn.samples": stage.samples}):
            return list(await asyncio.gather(*jobs))

    def sampled(self, temperature: float | None, lookup: Lookup) -> bool:
        # Several samples of a stage are drawn at the stage's temperature.
        stages = any(sampled_member(lookup, m, s.temperature if s.samples > 1 else temperature)
                     for s in self.spec.stages for m in s.models)
        fallback = self.spec.budget.fallback if self.spec.budget is not None else None
        return stages or (fallback is not None and sampled_member(lookup, fallback, temperature))

    async def generate(self, req: GenRequest) -> Generation:
        calls: list[Call] = []
        fallback = self.spec.budget.fallback if self.spec.budget is not None else None
        spent = self.pacer is not None and fallback is not None and self.pacer.over_budget()
        try:
            if not spent:
                gen = await self._decide(req, calls)
            else:
                assert self.pacer is not None and fallback is not None
                self.pacer.fallbacks += 1
                # When the fallback is one of the stages, the cascade still runs, but stops there:
                # its cheap stages answer most requests, so the debt is repaid quickly and the
                # answers stay better than the fallback's alone. (Serving the fallback alone,
                # often nearly as dear as the share, repaid it so slowly that it answered most
                # of a test half.)
                ceiling = self.stage_of(fallback)
                gen = await (self._fallback(fallback, req, calls) if ceiling is None
                             else self._decide(req, calls, ceiling))
        except BaseException:
            self._pace(calls, not spent)  # what a failed request paid for counts against the budget too
            raise
        if self.pacer is not None and gen.route is not None:
            self._pace(calls, not spent)
            gen.route["budget"] = self.pacer.describe()
        return gen

    def stage_of(self, model: str) -> int | None:
        """The index of the stage that is this model alone, if there is one."""
        return next((i for i, s in enumerate(self.spec.stages) if s.models == [model]), None)

    def _pace(self, calls: list[Call], move: bool) -> None:
        if self.pacer is not None and calls:
            self.pacer.observe(sum(c.cost for c in calls), calls[0].usage.prompt_tokens,
                               [(c.model, c.usage.completion_tokens) for c in calls], move=move)

    async def _fallback(self, model: str, req: GenRequest, calls: list[Call]) -> Generation:
        """The budget is spent and the threshold is at its loosest: the fallback answers alone."""
        gen, backend = await self._call(model, req)
        calls.append(backend.call_of(gen.usage, "fallback"))
        route = {"cascade": self.name, "stages": [], "escalations": 0, "answered_by": backend.name,
                 "reason": f"budget spent at the loosest threshold: the fallback {model} answers"}
        return Generation(gen.text, gen.finish_reason, gen.usage, backend.name, calls, route)

    async def _decide(self, req: GenRequest, calls: list[Call], ceiling: int | None = None) -> Generation:
        """Run the stages until the verifier accepts; ``calls`` collects every paid call. With a
        ``ceiling`` (the budget is spent), no stage after that one runs."""
        spec = self.spec
        stages = spec.stages if ceiling is None else spec.stages[:ceiling + 1]
        answers: list[Answer] = []
        replies: list[Generation] = []
        trail: list[dict[str, Any]] = []
        first, predicted, start_note = await self._first_stage(req)
        verifier = self._verifier(predicted)  # one threshold for the whole request, even while pacing moves it
        first = min(first, len(stages) - 1)
        for i, stage in enumerate(stages):
            if i < first:
                continue
            last = i == len(stages) - 1
            done = await self._stage(stage, req)
            first_new = len(calls)
            for gen, backend in done:
                calls.append(backend.call_of(gen.usage))
                replies.append(gen)
                answers.append(Answer(backend.name, gen.text, spec.extract.extract(gen.text)))
            verdict = verifier.judge(answers, spec.extract) if not isinstance(
                verifier, JudgeVerifier) else await self._judge(req, answers[-1], calls)
            accepted = verdict.accept or last
            note = "accepted" if verdict.accept else ("final stage" if last else "escalated")
            for c in calls[first_new:]:
                c.note = note
            trail.append({"stage": i + 1, "models": [a.model for a in answers[first_new:]],
                          "answers": [a.final for a in answers[first_new:]], "verdict": verdict.reason,
                          "accepted": verdict.accept})
            if accepted:
                chosen = self._choose(answers, replies, verdict.final, last and not verdict.accept)
                usage = Usage(sum(c.usage.prompt_tokens for c in calls), sum(c.usage.completion_tokens for c in calls))
                route = {"cascade": self.name, "stages": trail, "escalations": i - first,
                         "answered_by": chosen[1], "reason": verdict.reason}
                if start_note is not None:
                    route["policy"] = "route-then-cascade"
                    route["start"] = start_note
                if ceiling is not None:
                    route["budget_ceiling"] = stages[-1].models[0]
                return Generation(chosen[0].text, chosen[0].finish_reason, usage, chosen[1], calls, route)
        raise AssertionError("unreachable: the last stage always answers")

    def _choose(self, answers: list[Answer], replies: list[Generation], final: str | None,
                fell_through: bool) -> tuple[Generation, str]:
        """The reply to return: from the latest model whose answer matches the chosen one."""
        # Verifiers that weigh every answer pick the overall leader even at the last stage.
        use_vote = isinstance(self.spec.verifier, VoteVerifier | BayesVerifier)
        if fell_through and not use_vote:
            return replies[-1], answers[-1].model  # the last stage's own answer
        for a, g in zip(reversed(answers), reversed(replies), strict=True):
            if final is not None and self.spec.extract.same(a.final, final):
                return g, a.model
        return replies[-1], answers[-1].model

    async def _judge(self, req: GenRequest, last: Answer, calls: list[Call]) -> Verdict:
        verifier = self.spec.verifier
        assert isinstance(verifier, JudgeVerifier)
        question = " ".join(str(m.get("content") or "") for m in req.messages if m.get("role") == "user") \
            if req.kind == "chat" else req.prompt
        prompt = verifier.prompt.format(question=question, answer=last.text)
        ask = GenRequest(kind="chat", messages=[{"role": "user", "content": prompt}], max_tokens=4, temperature=0)
        try:
            gen, backend = await self._call(verifier.model, ask)
        except PlusnError as exc:
            return Verdict(False, last.final, 0.0, f"judge failed: {exc.message}")
        calls.append(backend.call_of(gen.usage, "judge"))
        return JudgeVerifier.read(gen.text, last)
