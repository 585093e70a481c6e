"""The evaluation arena: contestants (models, routes, skills, agents) compete on your own tasks.

A suite is a YAML file naming a JSONL task file, a default metric and the contestants::

    name: support-faq
    tasks: tasks.jsonl          # {"prompt" | "messages", "reference", "metric"?, "field"?, "pattern"?}
    metric: contains            # exact | numeric | contains | regex | json_field | f1 | judge
    judge: large-model          # the judge metric's model
    contestants:
      - smollm2-135m-instruct
      - {name: gemma, model: gemma3-270m, template: "Q: {prompt}\\nA:"}
      - auto

Every contestant answers every task through the same fleet the gateway serves, so a route or a
cascade is measured as it ships. The result holds quality, cost, latency and pairwise win rates;
:mod:`plusn.evals.report` turns it into HTML and :mod:`plusn.evals.runs` keeps it for the console.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .. import jsonl
from ..errors import ConfigError, InvalidRequest, PlusnError
from ..fleet.backend import GenRequest
from . import metrics
from .paired import all_pairs

Progress = Callable[[int, int], None]


class Contestant(BaseModel):
    """One competitor: a model id as listed in /v1/models, with its label and how to prompt it."""

    model_config = ConfigDict(extra="forbid")
    model: str
    name: str = ""
    # For completion-only (base) models: the prompt template; {prompt} is the task's prompt.
    template: str | None = None
    stop: list[str] | None = None
    max_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _label(self) -> Contestant:
        self.name = self.name or self.model
        if self.template is not None and "{prompt}" not in self.template:
            raise ValueError("a template must contain {prompt}, where the task's prompt goes")
        return self


class Suite(BaseModel):
    """A task suite: what to ask, how to score it, and who competes."""

    model_config = ConfigDict(extra="forbid")
    name: str
    description: str = ""
    tasks: str
    metric: str = "contains"
    judge: str | None = None
    contestants: list[Contestant] = Field(min_length=1)
    system: str | None = None
    max_tokens: int = Field(128, ge=1)
    temperature: float = Field(0.0, ge=0)
    concurrency: int = Field(1, ge=1, le=64)
    # A plusn config to run with, relative to the suite (else --config, $PLUSN_CONFIG or the defaults).
    config: str | None = None

    @field_validator("contestants", mode="before")
    @classmethod
    def _names(cls, v: Any) -> Any:
        return [{"model": c} if isinstance(c, str) else c for c in v] if isinstance(v, list) else v

    @field_validator("metric")
    @classmethod
    def _metric(cls, v: str) -> str:
        if v not in metrics.NAMES:
            raise ValueError(f"unknown metric {v!r}; choose one of {', '.join(metrics.NAMES)}")
        return v

    @model_validator(mode="after")
    def _unique(self) -> Suite:
        names = [c.name for c in self.contestants]
        if len(set(names)) != len(names):
            raise ValueError("contestant names must differ; give repeats a name")
        return self


def load_suite(path: str | Path) -> tuple[Suite, list[dict[str, Any]], Path]:
    """The suite, its tasks, and the folder it lives in. Errors name the file, line and key."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    try:
        suite = Suite.model_validate(raw or {})
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        raise ConfigError(f"{path}: {key}: {err['msg']}") from None
    task_path = (path.parent / suite.tasks).resolve()
    tasks: list[dict[str, Any]] = []
    for n, task in jsonl.numbered(task_path, f"the tasks of {path}"):
        problem = _task_problem(task, suite)
        if problem:
            raise ConfigError(f"{task_path}:{n}: {problem}")
        if task.get("metric", suite.metric) == metrics.JUDGE and not suite.judge:
            raise ConfigError(f"{path}: judge: the judge metric needs a judge model")
        task.setdefault("id", str(n))
        tasks.append(task)
    if not tasks:
        raise ConfigError(f"{task_path}: no tasks")
    return suite, tasks, path.parent


def _task_problem(task: Any, suite: Suite) -> str | None:
    """What is wrong with one task line, found before any model is called."""
    if not isinstance(task, dict) or "reference" not in task:
        return "a task needs 'prompt' (or 'messages') and 'reference'"
    if "prompt" in task:
        if not isinstance(task["prompt"], str) or not task["prompt"].strip():
            return "prompt: must be a non-empty string"
    elif "messages" in task:
        msgs = task["messages"]
        if not (isinstance(msgs, list) and msgs and all(isinstance(m, dict) and isinstance(m.get("role"), str)
                                                       and "content" in m for m in msgs)):
            return "messages: must be a non-empty list of {role, content} objects"
        if not any(m["role"] == "user" for m in msgs):
            return "messages: needs a user message"
    else:
        return "a task needs 'prompt' (or 'messages') and 'reference'"
    metric = task.get("metric", suite.metric)
    if metric not in metrics.NAMES:
        return f"metric: unknown {metric!r}; choose one of {', '.join(metrics.NAMES)}"
    if metric == "json_field" and not task.get("field"):
        return "field: the json_field metric needs a field (a dotted path)"
    if metric == "regex":
        try:
            re.compile(task.get("pattern") or str(task["reference"]))
        except re.error as exc:
            return f"pattern: not a regular expression: {exc}"
    if metric != metrics.JUDGE and not metrics.normalise(str(task["reference"])) and not isinstance(
            task["reference"], list) and metric not in ("regex", "json_field"):
        return "reference: empty once case and punctuation are folded; nothing could match it"
    return None


def _prompt_text(task: dict[str, Any]) -> str:
    if "prompt" in task:
        return str(task["prompt"])
    users = [m for m in task["messages"] if m.get("role") == "user"]
    return str(users[-1].get("content", "")) if users else ""


_JUDGE_SYSTEM = ("You grade answers against a reference. Reply with exactly one word: CORRECT if the candidate "
                 "answer agrees with the reference answer in substance, otherwise INCORRECT.")


def judge_verdict(text: str) -> float | None:
    """1.0 for CORRECT, 0.0 for INCORRECT (also 正确 / 错误), None when the judge said neither."""
    t = text.strip().upper()
    if re.search(r"\bINCORRECT\b|\bNOT\b|不正确|错误|不对", t):  # "not correct" is a no
        return 0.0
    if re.search(r"\bCORRECT\b|正确", t):
        return 1.0
    return None


class Arena:
    """Runs a suite on a started fleet."""

    def __init__(self, fleet: Any, suite: Suite, tasks: list[dict[str, Any]]) -> None:
        self.fleet = fleet
        self.suite = suite
        self.tasks = tasks

    async def _ask(self, c: Contestant, task: dict[str, Any]) -> dict[str, Any]:
        s = self.suite
        t0 = time.perf_counter()
        try:
            # Chat where the model can; a base model gets the task through a prompt template.
            chat = c.template is None and self.fleet.member(c.model).capabilities.chat
            if chat:
                messages = list(task.get("messages") or [{"role": "user", "content": task["prompt"]}])
                if s.system and not any(m.get("role") == "system" for m in messages):
                    messages.insert(0, {"role": "system", "content": s.system})
                req = GenRequest(kind="chat", messages=messages, stop=c.stop)
            else:
                template = c.template or "Q: {prompt}\nA:"
                # A base model goes on to write the next question itself: stop where it would start.
                lead = template.split("{prompt}")[0].strip()
                req = GenRequest(kind="completion", prompt=template.replace("{prompt}", _prompt_text(task)),
                                 stop=c.stop or ["\n\n", *(["\n" + lead] if lead else [])])
            req.max_tokens = c.max_tokens or s.max_tokens
            req.temperature = s.temperature if c.temperature is None else c.temperature
            # through the fleet's slots, as the gateway calls it: a local model answers one at a time
            gen, backend = await self.fleet.run(c.model, req)
        except PlusnError as exc:
            return {"answer": "", "error": exc.message, "cost": 0.0, "latency_ms": (time.perf_counter() - t0) * 1000,
                    "tokens_in": 0, "tokens_out": 0, "models": []}
        calls = gen.calls or [backend.call_of(gen.usage)]
        return {"answer": gen.text.strip(), "error": None, "cost": sum(x.cost for x in calls),
                "latency_ms": (time.perf_counter() - t0) * 1000, "tokens_in": gen.usage.prompt_tokens,
                "tokens_out": gen.usage.completion_tokens, "models": [x.model for x in calls]}

    async def _score(self, task: dict[str, Any], out: dict[str, Any]) -> None:
        metric = task.get("metric", self.suite.metric)
        if out["error"]:
            out["score"] = 0.0
            return
        if metric != metrics.JUDGE:
            out["score"] = metrics.METRICS[metric](out["answer"], task["reference"], field=task.get("field"),
                                                   pattern=task.get("pattern"))
            return
        ask = (f"Question: {_prompt_text(task)}\nReference answer: {task['reference']}\n"
               f"Candidate answer: {out['answer']}\nIs the candidate answer correct?")
        try:
            gen, judge = await self.fleet.run(str(self.suite.judge), GenRequest(
                kind="chat", max_tokens=8, temperature=0.0,
                messages=[{"role": "system", "content": _JUDGE_SYSTEM}, {"role": "user", "content": ask}]))
        except PlusnError as exc:
            out["score"], out["judge"] = 0.0, f"judge failed: {exc.message}"
            return
        verdict = judge_verdict(gen.text)
        out["score"], out["judge"] = (verdict or 0.0), gen.text.strip()[:80]
        out["judge_cost"] = sum(x.cost for x in (gen.calls or [judge.call_of(gen.usage)]))

    async def run(self, progress: Progress | None = None) -> dict[str, Any]:
        s, tasks = self.suite, self.tasks
        gate = asyncio.Semaphore(s.concurrency)
        results: dict[str, list[dict[str, Any]]] = {c.name: [{} for _ in tasks] for c in s.contestants}
        total, done = len(tasks) * len(s.contestants), 0

        async def one(c: Contestant, i: int) -> None:
            nonlocal done
            async with gate:
                out = await self._ask(c, tasks[i])
                await self._score(tasks[i], out)
            results[c.name][i] = out
            done += 1
            if progress:
                progress(done, total)

        # Contestant by contestant, so a local model is loaded once and stays warm for its tasks.
        for c in s.contestants:
            await asyncio.gather(*(one(c, i) for i in range(len(tasks))))
        return summarise(s, tasks, results)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    v = sorted(values)
    return v[min(len(v) - 1, round(q * (len(v) - 1)))]


def pareto(points: dict[str, tuple[float, float]]) -> list[str]:
    """The names on the quality-cost frontier: no other is at least as good for at most the cost."""
    front: list[str] = []
    best = float("-inf")
    for name, (_cost, quality) in sorted(points.items(), key=lambda kv: (kv[1][0], -kv[1][1])):
        if quality > best:
            front.append(name)
            best = quality
    return front


def summarise(suite: Suite, tasks: list[dict[str, Any]], results: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """The figures of a run: per contestant, pairwise, the frontier, and every answer."""
    n = len(tasks)
    board = []
    for c in suite.contestants:
        rs = results[c.name]
        lat = [r["latency_ms"] for r in rs]
        board.append({
            "name": c.name, "model": c.model, "quality": sum(r["score"] for r in rs) / n,
            "cost": sum(r["cost"] for r in rs), "cost_per_task": sum(r["cost"] for r in rs) / n,
            "latency_ms_p50": round(_pct(lat, 0.5), 2), "latency_ms_p95": round(_pct(lat, 0.95), 2),
            "errors": sum(1 for r in rs if r["error"]), "tokens_in": sum(r["tokens_in"] for r in rs),
            "tokens_out": sum(r["tokens_out"] for r in rs),
            "judge_cost": sum(r.get("judge_cost", 0.0) for r in rs),
        })
    names = [c.name for c in suite.contestants]
    pairwise: dict[str, dict[str, float]] = {}
    for a in names:
        pairwise[a] = {}
        for b in names:
            if a == b:
                continue
            wins = sum(1.0 if x["score"] > y["score"] else 0.5 if x["score"] == y["score"] else 0.0
                       for x, y in zip(results[a], results[b], strict=True))
            pairwise[a][b] = wins / n
    items = [{"id": t["id"], "prompt": _prompt_text(t), "reference": t["reference"],
              "metric": t.get("metric", suite.metric),
              "results": {name: results[name][i] for name in names}} for i, t in enumerate(tasks)]
    return {
        "id": uuid.uuid4().hex[:12], "ts": time.time(), "suite": suite.name, "description": suite.description,
        "metric": suite.metric, "judge": suite.judge, "tasks": n, "contestants": board, "pairwise": pairwise,
        # the difference of quality between two contestants, with its 95% paired-bootstrap interval
        "paired": all_pairs(names, {name: [r["score"] for r in results[name]] for name in names}),
        # a contestant whose every answer failed costs nothing because it did nothing: not a choice
        "pareto": pareto({b["name"]: (b["cost"], b["quality"]) for b in board if b["errors"] < n}), "items": items,
    }


async def run_suite(fleet: Any, path: str | Path, progress: Progress | None = None) -> dict[str, Any]:
    """Load and run a suite on ``fleet``; the result as :func:`summarise` gives it."""
    suite, tasks, _ = load_suite(path)
    for c in suite.contestants:
        try:
            fleet.member(c.model)
        except PlusnError as exc:
            raise InvalidRequest(f"{path}: contestant {c.name!r}: {exc.message}", param="model") from None
    if suite.judge:
        try:
            judge = fleet.member(suite.judge)
        except PlusnError as exc:
            raise InvalidRequest(f"{path}: judge: {exc.message}", param="judge") from None
        if not judge.capabilities.chat:
            raise InvalidRequest(f"{path}: judge: model {suite.judge!r} cannot chat; choose a chat model",
                                 param="judge")
    return await Arena(fleet, suite, tasks).run(progress)
