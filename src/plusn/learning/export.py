"""From captured traffic to an outcome file: what ``plusn routes fit`` learns a route from.

One row per captured request of the route: its prompt, and for each model that answered it
(the served one, and shadow calls) the answer, its output tokens and whether it was right.
Right comes only from what the gateway can know, and the header says which:

- **feedback**: the user said whether the served answer was right (``correct``, else a score
  of at least 0.5). A shadow answer that agrees with a right served answer is right, one that
  disagrees is wrong; one that disagrees with a wrong served answer is unknown and left out.
- **agreement**: without feedback, the answer of the dearest model that answered is taken as
  right, and every other answer is right when it agrees with it.

Models are priced from the fleet's config, so costs are real. A row holds only the models that
were called (the header says ``"gaps": true``); the fit uses the rows that record every model.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from typing import Any

from ..config import Settings
from ..database import connect
from ..routing.extract import Extractor


def _prompt(stored: str) -> str:
    """The text a router reads: a completion's prompt, or the chat's user turns."""
    obj = json.loads(stored)
    if "prompt" in obj:
        return str(obj["prompt"])
    turns = [m.get("content") for m in obj.get("messages", []) if m.get("role") == "user"]
    return "\n".join(t if isinstance(t, str) else json.dumps(t, ensure_ascii=False) for t in turns)


def _rows(settings: Settings, route: str, since: float) -> dict[str, list[dict[str, Any]]]:
    conn = connect(settings.state_db())
    try:
        found = conn.execute(
            "SELECT c.request_id, c.model, c.shadow, c.prompt, c.answer, c.completion_tokens, c.ts, "
            "f.score AS score, f.correct AS correct FROM captures c LEFT JOIN feedback f "
            "ON f.request_id = c.request_id WHERE c.route = ? AND c.ts >= ? ORDER BY c.ts",
            (route, since)).fetchall()
    finally:
        conn.close()
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in found:
        out[r["request_id"]].append(dict(r))
    return out


def _judged(answers: list[dict[str, Any]], extractor: Extractor, price: dict[str, float]) -> tuple[dict[str, bool], str]:
    """Each model's correctness for one request, and where it came from."""
    finals = {a["model"]: extractor.extract(a["answer"]) for a in answers}
    served = next((a for a in answers if not a["shadow"]), None)
    if served is not None and (served["correct"] is not None or served["score"] is not None):
        ok = bool(served["correct"]) if served["correct"] is not None else served["score"] >= 0.5
        out = {served["model"]: ok}
        for m, final in finals.items():
            if m != served["model"]:
                same = extractor.same(final, finals[served["model"]])
                if ok:
                    out[m] = same
                elif same:  # agreeing with a wrong answer is wrong; disagreeing with one says nothing
                    out[m] = False
        return out, "feedback"
    reference = max(finals, key=lambda m: price.get(m, 0.0))
    return {m: m == reference or extractor.same(final, finals[reference]) for m, final in finals.items()}, "agreement"


def export(settings: Settings, route: str, since_s: float | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The header and rows of the outcome file for ``route`` (its captures in the last
    ``since_s`` seconds, default all that are kept)."""
    spec = settings.routes.get(route)
    if spec is None:
        raise KeyError(route)
    extractor = spec.learning.extractor if spec.learning is not None else Extractor()
    since = 0.0 if since_s is None else time.time() - since_s
    groups = _rows(settings, route, since)
    models = sorted({a["model"] for answers in groups.values() for a in answers})
    unit = {m: settings.models[m].price.output_per_1k if m in settings.models else 0.0 for m in models}
    rows, sources = [], {"feedback": 0, "agreement": 0}
    for rid, answers in groups.items():
        served = next((a for a in answers if not a["shadow"]), answers[0])
        judged, source = _judged(answers, extractor, unit)
        outcomes = {a["model"]: {"answer": a["answer"], "output_tokens": a["completion_tokens"],
                                 "correct": judged[a["model"]]} for a in answers if a["model"] in judged}
        if outcomes:
            sources[source] += 1
            rows.append({"id": rid, "task": route, "prompt": _prompt(served["prompt"]), "outcomes": outcomes})
    header = {"header": True, "task": route, "gaps": True, "correct_from": sources,
              "extract": extractor.model_dump(exclude_defaults=True) or {"type": extractor.type},
              "source": "plusn learning export: captured traffic, shadow calls and feedback",
              "models": {m: ({"price": settings.models[m].price.model_dump()} if m in settings.models else {})
                         for m in models}}
    return header, rows
