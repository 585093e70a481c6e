"""``plusn eval tools``: does a model call a tool when a prompt needs one, and answer in text when
it does not?

A row is ``{"id", "prompt", "tools": [names], "call": <the tool it needs> | null}``; the tools'
definitions (``{name: {"description", "parameters"}}``) come from a JSON file, by default
``tools.json`` beside the rows. Every row is one chat request through the fleet, as a client's
would be, with the row's tools and the ``tool_choice`` asked for. A prompt that needs a tool
scores a call when the model calls one, right when it is the expected tool, and valid when the
arguments match that tool's schema; a prompt that needs none scores when it gets text.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

from .. import jsonl
from ..errors import ConfigError, PlusnError
from ..fleet.backend import GenRequest, RunMember

Progress = Callable[[int, int], None]


@dataclass
class Row:
    id: str
    prompt: str
    tools: list[str]
    call: str | None


def load(data: str | Path, catalog: str | Path | None = None) -> tuple[list[Row], dict[str, Any]]:
    """The rows and the tool definitions; a bad row or a tool missing from the catalogue is an
    error naming the file and the line."""
    path = Path(catalog) if catalog else Path(data).with_name("tools.json")
    try:
        tools = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read the tool definitions: {exc}") from None
    for name, spec in tools.items() if isinstance(tools, dict) else [("", None)]:
        if not (isinstance(spec, dict) and isinstance(spec.get("parameters", {}), dict)):
            raise ConfigError(f"{path}: the definitions are {{name: {{\"description\", \"parameters\": schema}}}}; "
                              f"{name!r} is not")
        try:
            jsonschema.Draft202012Validator.check_schema(spec.get("parameters", {}))
        except jsonschema.SchemaError as exc:
            raise ConfigError(f"{path}: the parameters of {name!r} are not a JSON schema: {exc.message}") from None
    rows = []
    for n, raw in jsonl.numbered(data, "the prompts"):
        if not (isinstance(raw, dict) and isinstance(raw.get("prompt"), str) and isinstance(raw.get("tools"), list)):
            raise ConfigError(f"{data}:{n}: a row is {{\"id\", \"prompt\", \"tools\": [...], \"call\": name | null}}")
        unknown = [t for t in [*raw["tools"], raw.get("call")] if t is not None and (not isinstance(t, str)
                                                                                    or t not in tools)]
        if unknown:
            raise ConfigError(f"{data}:{n}: {unknown[0]!r} is not defined in {path}")
        rows.append(Row(str(raw.get("id", n)), raw["prompt"], list(raw["tools"]), raw.get("call")))
    if not rows:
        raise ConfigError(f"{data}: no rows")
    return rows, tools


def request(row: Row, tools: dict[str, Any], choice: str, max_tokens: int) -> GenRequest:
    defs = [{"type": "function", "function": {"name": n, **tools[n]}} for n in row.tools]
    return GenRequest("chat", [{"role": "user", "content": row.prompt}], max_tokens=max_tokens, temperature=0,
                      extra={"tools": defs, "tool_choice": choice})


async def evaluate(run: RunMember, model: str, rows: list[Row], tools: dict[str, Any], choice: str = "auto",
                   max_tokens: int = 160, progress: Progress | None = None) -> dict[str, Any]:
    """Every row through ``run`` (the fleet's), and the figures."""
    results = []
    for i, row in enumerate(rows):
        t0 = time.perf_counter()
        try:
            gen, _ = await run(model, request(row, tools, choice, max_tokens))
            results.append(_scored(row, tools, gen.tool_calls or [], gen.text, time.perf_counter() - t0))
        except PlusnError as exc:
            results.append({"id": row.id, "expected": row.call, "error": exc.message})
        if progress is not None:
            progress(i + 1, len(rows))
    return {"model": model, "tool_choice": choice, "rows": len(rows), **_figures(results), "results": results}


def _scored(row: Row, tools: dict[str, Any], calls: list[dict[str, Any]], text: str, seconds: float) -> dict[str, Any]:
    out: dict[str, Any] = {"id": row.id, "expected": row.call, "seconds": round(seconds, 3)}
    if not calls:
        out.update(called=None, text=text[:200])
        return out
    fn = calls[0].get("function") or {}
    out.update(called=fn.get("name"), arguments=fn.get("arguments"))
    try:
        args = json.loads(fn.get("arguments") or "")
        jsonschema.validate(args, tools[fn["name"]]["parameters"])
        out["valid"] = True
    except (ValueError, KeyError, jsonschema.ValidationError):
        out["valid"] = False
    return out


def _figures(results: list[dict[str, Any]]) -> dict[str, Any]:
    needing = [r for r in results if r["expected"] is not None]
    plain = [r for r in results if r["expected"] is None]
    seconds = [r["seconds"] for r in results if "seconds" in r]
    return {
        "needing_a_tool": len(needing),
        "called": sum(1 for r in needing if r.get("called")),
        "right_tool": sum(1 for r in needing if r.get("called") == r["expected"]),
        "valid_arguments": sum(1 for r in needing if r.get("called") == r["expected"] and r.get("valid")),
        "needing_none": len(plain),
        # an empty reply is no answer, in text or otherwise
        "answered_in_text": sum(1 for r in plain if "called" in r and r["called"] is None and r["text"].strip()),
        "errors": sum(1 for r in results if "error" in r),
        "seconds_p50": round(statistics.median(seconds), 3) if seconds else None,
    }


def report(res: dict[str, Any]) -> str:
    n, m = res["needing_a_tool"], res["needing_none"]

    def share(k: int, of: int) -> str:
        return f"{k}/{of} ({k / of:.0%})" if of else "-"

    return "\n".join([
        f"{res['model']}, tool_choice {res['tool_choice']}: {res['rows']} prompts",
        f"  needing a tool:  called {share(res['called'], n)}, the right tool {share(res['right_tool'], n)}, "
        f"right tool with valid arguments {share(res['valid_arguments'], n)}",
        f"  needing none:    answered in text {share(res['answered_in_text'], m)}",
        f"  errors {res['errors']}; p50 {res['seconds_p50']} s per request",
    ])
