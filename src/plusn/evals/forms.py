"""``plusn eval forms``: a form agent driven through scripted dialogues, scored on its decisions.

A dialogue is ``{"id", "agent", "turns": [user messages in order], "decision"}``. Every turn
goes through the real agent backend, as a client's would, in a session of its own. The
dialogue is right when the last reply states the expected decision and no earlier reply states
another: a wrong decision given early is a failure even when a later turn corrects it, because
the user may already have acted on it. A dialogue whose later fact changes a decision that was
right when given lists it in ``"before"`` (``{"decision": "需补充材料", "before": ["可以申领"]}``):
only those may be stated before the last one. A reply states the decision the agent reports with
it (the ``decision`` of its route block: an author's answer need not repeat the decision's name);
a reply that reports none, the decision whose name (a leaf's ``decision``) appears in its text.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import jsonl
from ..agents.backend import AgentBackend
from ..agents.spec import AgentSpec, TreeNode
from ..assemble import deployed
from ..errors import ConfigError, PlusnError
from ..fleet.backend import GenRequest, RunMember
from ..load_config import load_settings
from .progress import Bar

Progress = Callable[[int, int], None]


@dataclass
class Dialogue:
    id: str
    agent: str
    turns: list[str]
    decision: str
    before: list[str] = field(default_factory=list)  # decisions a later fact changes (see the docstring)


def load_dialogues(path: str | Path, half: str = "all") -> list[Dialogue]:
    """The dialogues of a JSONL file (``half``: all, or only the odd or even numbered ids).
    A bad row is an error naming the file, the line and what is wrong."""
    out: list[Dialogue] = []
    for n, row in jsonl.numbered(path, "the dialogues"):
        if not isinstance(row, dict):
            raise ConfigError(f"{path}:{n}: a dialogue is a JSON object")
        for key, kind in (("id", str), ("agent", str), ("turns", list), ("decision", str)):
            if not isinstance(row.get(key), kind):
                raise ConfigError(f"{path}:{n}: {key!r} must be a {'list' if kind is list else 'string'}")
        if not row["turns"] or not all(isinstance(t, str) and t.strip() for t in row["turns"]):
            raise ConfigError(f"{path}:{n}: 'turns' must be non-empty user messages")
        before = row.get("before", [])
        if not isinstance(before, list) or not all(isinstance(b, str) for b in before):
            raise ConfigError(f"{path}:{n}: 'before' must be a list of decisions")
        d = Dialogue(row["id"], row["agent"], list(row["turns"]), row["decision"], before)
        if half == "all" or _parity(d.id) == half:
            out.append(d)
    if not out:
        raise ConfigError(f"{path}: no dialogues{'' if half == 'all' else f' with {half} ids'}")
    return out


def _parity(dialogue_id: str) -> str | None:
    m = re.search(r"(\d+)\D*$", dialogue_id)
    return None if m is None else "odd" if int(m.group(1)) % 2 else "even"


def decisions_of(spec: AgentSpec) -> set[str]:
    """Every decision a form of the agent can reach (the names a reply is scored on)."""
    out: set[str] = set()

    def leaves(node: TreeNode) -> None:
        if node.decision is not None:
            out.add(node.decision)
        for sub in [*node.cases.values(), *(c.then for c in node.when), *([node.default] if node.default else [])]:
            leaves(sub)

    for n in spec.nodes:
        if n.form is not None and n.form.tree is not None:
            leaves(n.form.tree)
    return out


def stated(reply: str, decisions: set[str]) -> str | None:
    """The decision a reply states, if any: the longest decision name in it (a name inside a
    longer one does not count on its own)."""
    found = [d for d in decisions if d and d in reply]
    found = [d for d in found if not any(d != o and d in o and o in reply for o in found)]
    return max(sorted(found), key=len) if found else None  # (sorted: ties do not depend on hash order)


def score(replies: list[str], expected: str, decisions: set[str], before: list[str] | None = None,
          reported: list[str | None] | None = None) -> dict[str, Any]:
    """Right, wrong (early or at the end), or undecided. A reply's decision is the one the agent
    reported with it (``reported``), else the one its text states. A decision in ``before`` is
    no error when an earlier reply states it (a later fact changed it)."""
    said = [(reported or [None] * len(replies))[i] or stated(r, decisions) for i, r in enumerate(replies)]
    allowed = {expected, *(before or [])}
    last = len(said) - 1
    wrong_at = [i for i, s in enumerate(said) if s is not None and (s not in allowed or (i == last and s != expected))]
    right = said[-1] == expected and not wrong_at
    early = any(i < len(said) - 1 for i in wrong_at)
    outcome = "right" if right else "wrong" if wrong_at else "undecided"
    return {"outcome": outcome, "early_wrong": early, "stated": said}


async def run_dialogue(run: RunMember, d: Dialogue, decisions: set[str]) -> dict[str, Any]:
    """One dialogue through ``agent:<name>``, as a client would drive it, in a session of its own."""
    session = f"eval-forms-{uuid.uuid4().hex[:12]}"
    messages: list[dict[str, Any]] = []
    replies: list[str] = []
    reported: list[str | None] = []  # the decision the agent reported with a reply, if any
    questions = 0
    ms: list[float] = []
    for text in d.turns:
        messages.append({"role": "user", "content": text})
        t0 = time.perf_counter()
        gen, _ = await run(f"agent:{d.agent}", GenRequest("chat", list(messages), session=session))
        ms.append((time.perf_counter() - t0) * 1000)
        messages.append({"role": "assistant", "content": gen.text})
        replies.append(gen.text)
        reported.append(((gen.route or {}).get("decision") or {}).get("decision"))
        questions += (gen.route or {}).get("status") == "waiting"
    res = score(replies, d.decision, decisions, d.before, reported)
    return {"id": d.id, "agent": d.agent, "expected": d.decision, **res, "questions": questions,
            "transcript": [{"user": u, "reply": r} for u, r in zip(d.turns, replies, strict=True)], "ms": ms}


def summarise(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Per form: right, wrong (early apart), undecided, questions per dialogue, turn latency."""
    forms: dict[str, Any] = {}
    for agent in sorted({r["agent"] for r in results}):
        rows = [r for r in results if r["agent"] == agent]
        turn_ms = sorted(m for r in rows for m in r["ms"])
        forms[agent] = {
            "dialogues": len(rows),
            "right": sum(r["outcome"] == "right" for r in rows),
            "wrong": sum(r["outcome"] == "wrong" for r in rows),
            "early_wrong": sum(r["early_wrong"] for r in rows),
            "undecided": sum(r["outcome"] == "undecided" for r in rows),
            "questions_per_dialogue": round(sum(r["questions"] for r in rows) / len(rows), 2),
            "turn_ms_p50": round(turn_ms[len(turn_ms) // 2], 1),
            "failures": [r["id"] for r in rows if r["outcome"] != "right"],
        }
    return forms


def report(res: dict[str, Any]) -> str:
    """The figures per form, then each failure with its transcript."""
    lines = []
    for agent, f in res["forms"].items():
        lines.append(f"agent:{agent}: {f['right']}/{f['dialogues']} decided right; "
                     f"{f['wrong']} wrong ({f['early_wrong']} with a wrong decision given early), "
                     f"{f['undecided']} undecided; {f['questions_per_dialogue']} questions per dialogue; "
                     f"turn p50 {f['turn_ms_p50']} ms")
    for r in res["dialogues"]:
        if r["outcome"] == "right":
            continue
        lines.append(f"\n{r['id']} ({r['agent']}): {r['outcome']}{' (early)' if r['early_wrong'] else ''}, "
                     f"expected {r['expected']}")
        for t in r["transcript"]:
            lines.append(f"  U: {t['user']}")
            lines.append("  A: " + t["reply"].replace("\n", " / "))
    return "\n".join(lines)


async def evaluate(config_path: str | None, data: str | Path, half: str = "all", progress: bool = False,
                   data_dir: str | None = None) -> dict[str, Any]:
    """Every dialogue of ``data`` through the agents of the config, scored; ``data_dir`` keeps
    the conversations' state apart from the deployment's own."""
    dialogues = load_dialogues(data, half)
    overrides = {"data_dir": data_dir} if data_dir else None
    settings = load_settings(config_path, overrides=overrides)
    bar = Bar(progress, "forms", "dialogue")
    results = []
    try:
        async with deployed(settings) as d:
            for i, dlg in enumerate(dialogues):
                backend = d.fleet.members.get(f"agent:{dlg.agent}")
                if not isinstance(backend, AgentBackend):
                    raise PlusnError(f"{data}: dialogue {dlg.id} names agent {dlg.agent!r}, which is not in "
                                     f"{settings.source}; see: plusn agents list")
                results.append(await run_dialogue(d.fleet.run, dlg, decisions_of(backend.agent.spec)))
                bar.update(i + 1, len(dialogues))
    finally:
        bar.close()
    return {"data": str(data), "half": half, "forms": summarise(results), "dialogues": results}
