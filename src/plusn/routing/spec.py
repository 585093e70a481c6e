"""Route, cascade and dispatch configuration: plain data, importable by the config module."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..learning.spec import RouteLearning
from ..templating import TemplateProblem, check_template
from .extract import Extractor
from .verifiers import AgreementVerifier, JudgeVerifier, VerifierSpec


class StageSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    models: list[str] = Field(min_length=1)
    # Self-consistency: ask each model this many times (sampled at `temperature`).
    samples: int = Field(1, ge=1, le=16)
    temperature: float = Field(0.7, ge=0, le=2)


class BudgetSpec(BaseModel):
    """``budget:`` on a cascade or a router: spend ``share`` of what ``reference`` would cost."""

    model_config = ConfigDict(extra="forbid")
    share: float = Field(gt=0, le=1)
    # "target": move the threshold both ways to spend the share; "cap": never stricter than the
    # fitted threshold, only looser when spending runs over (what routes fit writes: its
    # threshold is already the most accurate within the budget, on cross-validation).
    mode: Literal["target", "cap"] = "target"
    # The model whose cost is the yardstick; default: a cascade's last stage's last model, a
    # router's most expensive model.
    reference: str | None = None
    # How fast the threshold follows the spending (per request, on the log(1 - threshold) scale).
    rate: float = Field(0.1, gt=0, le=2)
    # The reference's mean answer length in tokens, as measured on every request of a sample
    # (plusn routes fit measures it). Unset, the pacer uses the first stage's answer length times
    # the ratio between the two on the requests the reference did answer.
    reference_output_tokens: float | None = Field(None, gt=0)
    # How long the reference's answers are per token of each model's, measured on every request
    # of a sample (routes fit writes it). With it, the reference's answer to a request is
    # estimated from the answers the request did get, so easier or harder traffic than the
    # sample's is priced as such.
    output_ratios: dict[str, float] = Field(default_factory=dict)
    # The loosest threshold the pacer may set (a cascade's verifier: 0.5 by default; a router's
    # or a route-then-cascade's may go lower).
    min_threshold: float = Field(0.5, ge=0, lt=1)
    # Served instead when the pacer is at its loosest and spending is still over the share:
    # the policy's cheapest alternative within the budget (routes fit writes its floor model).
    fallback: str | None = None


class StartSpec(BaseModel):
    """``start:`` on a cascade (route-then-cascade): a router picks the first stage per prompt,
    and the bayes verifier weighs each answer by its model's predicted chance on this prompt."""

    model_config = ConfigDict(extra="forbid")
    router: str
    # Start at the cheapest stage predicted to succeed with at least this probability.
    threshold: float = Field(0.5, ge=0, le=1)


class CascadeSpec(BaseModel):
    """``stages`` run in order; after each, ``verifier`` accepts the answer or escalates."""

    model_config = ConfigDict(extra="forbid")
    stages: list[StageSpec] = Field(min_length=1)
    verifier: VerifierSpec = Field(default_factory=AgreementVerifier)
    extract: Extractor = Field(default_factory=Extractor)
    # Spend a share of what always calling the reference model would cost, by moving the
    # threshold as traffic flows (routing/pacing.py); needs the bayes verifier.
    budget: BudgetSpec | None = None
    start: StartSpec | None = None
    description: str = ""

    @field_validator("stages", mode="before")
    @classmethod
    def _short_forms(cls, v: Any) -> Any:
        # Allow `stages: [a, [b, c], {models: [d], samples: 3}]`.
        if not isinstance(v, list):
            return v
        out = []
        for s in v:
            if isinstance(s, str):
                out.append({"models": [s]})
            elif isinstance(s, list):
                out.append({"models": s})
            else:
                out.append(s)
        return out

    @model_validator(mode="after")
    def _paced(self) -> CascadeSpec:
        if self.budget is not None and self.verifier.type != "bayes":
            raise ValueError(f"budget: pacing moves the bayes verifier's threshold; this cascade's verifier is "
                             f"{self.verifier.type!r}")
        if self.start is not None and (self.verifier.type != "bayes" or any(len(s.models) != 1 for s in self.stages)):
            raise ValueError("start: a router picks the first stage for a bayes cascade of one model per stage")
        return self

    def reference(self) -> str | None:
        """The model a budget is measured against."""
        if self.budget is None:
            return None
        return self.budget.reference or self.stages[-1].models[-1]

    def members(self) -> list[str]:
        names = [m for s in self.stages for m in s.models]
        if self.budget is not None and self.budget.fallback is not None:
            names.append(self.budget.fallback)
        if isinstance(self.verifier, JudgeVerifier):
            names.append(self.verifier.model)
        return list(dict.fromkeys(names))


class RouterSpec(BaseModel):
    """A learned cost-quality router: the cheapest model whose predicted chance of success clears
    the threshold. ``plusn routes fit`` writes it, fitted weights included; serving never trains."""

    model_config = ConfigDict(extra="forbid")
    # The fitted success predictor: {kind: logistic|knn, models: [...], features, embedding, ...}
    # (routing/predict.py); its models are fleet members.
    predictor: dict[str, Any]
    # Each model's mean cost per request, as measured when fitting (at the fleet's prices).
    costs: dict[str, float]
    # The quality/cost knob: the cheapest model predicted to succeed with at least this probability.
    threshold: float = Field(0.7, ge=0, le=1)
    # The embedding model (a fleet member) when the predictor reads the prompt's embedding.
    embedding_model: str | None = None
    budget: BudgetSpec | None = None
    description: str = ""

    @field_validator("predictor")
    @classmethod
    def _predictor(cls, v: dict[str, Any]) -> dict[str, Any]:
        if v.get("kind") not in ("logistic", "knn"):
            raise ValueError("predictor.kind must be 'logistic' or 'knn' (write routers with plusn routes fit)")
        if not isinstance(v.get("models"), list) or len(v["models"]) < 1:
            raise ValueError("predictor.models must list the router's models")
        return v

    def models(self) -> list[str]:
        return [str(m) for m in self.predictor["models"]]

    def members(self) -> list[str]:
        extra = [self.budget.fallback] if self.budget is not None and self.budget.fallback else []
        return list(dict.fromkeys([*self.models(), *extra]))


class CanarySpec(BaseModel):
    """Send a share of a route's traffic to another route (a newly fitted policy), to compare
    the two on live traffic before promoting it."""

    model_config = ConfigDict(extra="forbid")
    route: str
    share: float = Field(gt=0, lt=1)


class RouteSpec(BaseModel):
    """A named destination: one model, a cascade, a learned router, a skill or an agent."""

    model_config = ConfigDict(extra="forbid")
    model: str | None = None
    cascade: str | None = None
    router: str | None = None
    skill: str | None = None
    agent: str | None = None
    description: str = ""
    # Whether answers on this route should be grounded in a knowledge base (used by knowledge).
    needs_retrieval: bool = False
    # Grounding (served as route:<name>). knowledge: search this knowledge base and cite what was
    # found; a route with needs_retrieval and no knowledge of its own uses dispatch.knowledge.
    # sql: answer facts from this database, never inventing a number.
    knowledge: str | None = None
    top_k: int | None = Field(None, ge=1, le=50)
    sql: str | None = None
    # The model that writes SQL from the schema (default: the route's model).
    sql_model: str | None = None
    # Put the current date and time into the context, in this IANA timezone (or "local": the
    # zone of the machine plusn runs on).
    datetime: bool = False
    timezone: str = "UTC"
    system: str | None = None  # an extra system instruction for this route
    # This route's input policy (block / flag / allow), over safety.input; a key's own policy wins.
    safety: Literal["block", "flag", "allow"] | None = None
    # Learning from this route's traffic: capture, shadow comparison (see docs/learning.md).
    learning: RouteLearning | None = None
    # A share of what auto sends here goes to another route instead (docs/learning.md).
    canary: CanarySpec | None = None

    @model_validator(mode="after")
    def _one_target(self) -> RouteSpec:
        if sum(x is not None for x in (self.model, self.cascade, self.router, self.skill, self.agent)) != 1:
            raise ValueError("a route needs exactly one of 'model', 'cascade', 'router', 'skill' or 'agent'")
        return self

    def target(self) -> str:
        """The model, cascade, router, skill or agent that writes the answer."""
        if self.model is not None:
            return self.model
        for kind in ("cascade", "router", "skill", "agent"):
            if getattr(self, kind) is not None:
                return f"{kind}:{getattr(self, kind)}"
        raise AssertionError("validated to have one target")

    def grounded(self, default_kb: str | None = None) -> bool:
        return bool(self.kb(default_kb) or self.sql or self.datetime or self.system or self.safety)

    def kb(self, default_kb: str | None = None) -> str | None:
        return self.knowledge or (default_kb if self.needs_retrieval else None)


class RuleSpec(BaseModel):
    """A deterministic head: match by keyword, regex or exact text; answer or pick a route."""

    model_config = ConfigDict(extra="forbid")
    name: str
    keywords: list[str] = Field(default_factory=list)
    regex: str | None = None
    exact: list[str] = Field(default_factory=list)
    # The answer may be a template: a regex's named groups are its variables, and `values` holds
    # lookup tables, e.g. {"rooms": {"客厅": "living_room"}} for {{ rooms[room] }}.
    answer: str | None = None
    values: dict[str, Any] = Field(default_factory=dict)
    route: str | None = None

    @model_validator(mode="after")
    def _valid(self) -> RuleSpec:
        if not (self.keywords or self.regex or self.exact):
            raise ValueError("a rule needs keywords, regex or exact")
        if self.answer is not None:
            try:
                check_template(self.answer)
            except TemplateProblem as exc:
                raise ValueError(f"answer: {exc}") from None
        if (self.answer is None) == (self.route is None):
            raise ValueError("a rule needs exactly one of 'answer' or 'route'")
        return self


class DispatchSpec(BaseModel):
    """How ``model="auto"`` chooses: rules, then intents, then the default route."""

    model_config = ConfigDict(extra="forbid")
    rules: list[RuleSpec] = Field(default_factory=list)
    # Example utterances per route, in any language; the intent classifier learns from them.
    intents: dict[str, list[str]] = Field(default_factory=dict)
    intent_model: str = "multilingual-e5-small"
    # Below this probability the intent is "unknown"; so is anything closer to the background
    # (everyday requests that fit no intent; plusn ships some, add your own here).
    intent_threshold: float = Field(0.5, ge=0, le=1)
    unknown_examples: list[str] = Field(default_factory=list)
    # Optional floor on cosine similarity to the nearest example (-1: off).
    min_similarity: float = Field(-1.0, ge=-1, le=1)
    # The knowledge base searched for routes with needs_retrieval and no knowledge of their own.
    knowledge: str | None = None
    # Where "unknown" goes; default: the first route, else the first chat model.
    default_route: str | None = None
    sticky: bool = True
    sticky_ttl_s: float = Field(3600, gt=0)
    sticky_max_sessions: int = Field(100_000, ge=1)

    @field_validator("intents")
    @classmethod
    def _examples(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        for route, examples in v.items():
            if not examples:
                raise ValueError(f"intent {route!r} needs at least one example")
        return v
