"""A backend that answers from recorded outcomes, so routers can be measured offline.

The recording is a JSONL file in the routing-outcomes format (a header line, then one line per
prompt with each model's ``answer`` and ``output_tokens``). The backend gives exactly what the
live model gave: the answer text and its token counts. It never exposes ``correct`` or
``gold``: a router sees only what it would see live.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from .. import jsonl
from ..config import Price
from ..errors import ConfigError, UpstreamError
from .backend import Backend, Delta, GenRequest, Usage, content_text


@dataclass(frozen=True, slots=True)
class Recorded:
    answer: str | None
    output_tokens: int


def prompt_tokens_estimate(prompt: str) -> int:
    """The outcome files' convention: prompt tokens = characters / 4."""
    return max(1, round(len(prompt) / 4))


class Outcomes:
    """A loaded outcome file: header, rows, and each model's recorded answers by prompt."""

    def __init__(self, header: dict[str, Any], rows: list[dict[str, Any]]) -> None:
        self.header = header
        self.rows = rows
        self.incomplete = 0  # rows left out for lack of some model's outcome (see load)
        self.models: dict[str, dict[str, Any]] = dict(header.get("models") or {})
        if not self.models and rows:
            self.models = {m: {} for m in rows[0]["outcomes"]}
        self.by_model: dict[str, dict[str, Recorded]] = {m: {} for m in self.models}
        for row in rows:
            for m, out in row["outcomes"].items():
                if m in self.by_model:
                    answer = out.get("answer")  # a file may record 42 rather than "42"
                    self.by_model[m][row["prompt"]] = Recorded(None if answer is None else str(answer),
                                                               int(out.get("output_tokens") or 0))

    @classmethod
    def load(cls, path: str | Path) -> Outcomes:
        header: dict[str, Any] = {}
        rows: list[dict[str, Any]] = []
        numbers: list[int] = []  # each row's line, for errors
        try:
            lines = jsonl.read_lines(path)
        except OSError as exc:
            raise ConfigError(f"cannot read outcome file: {exc.strerror}", file=str(path)) from exc
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError as exc:
                raise ConfigError(f"line {n} is not JSON", file=str(path)) from exc
            if obj.get("header"):
                header = obj
            elif "prompt" in obj and isinstance(obj.get("outcomes"), dict):
                rows.append(obj)
                numbers.append(n)
            else:
                raise ConfigError(f"line {n} has no 'prompt' and 'outcomes'", file=str(path))
        if not rows:
            raise ConfigError("no outcome rows", file=str(path))
        # Every row records every model (the header's, else the first row's): a replayed cascade
        # may call any of them on any prompt. A file exported from traffic holds only the models
        # that were called (its header says "gaps"): its incomplete rows are left out, and counted.
        models = list(header.get("models") or rows[0]["outcomes"])
        complete: list[dict[str, Any]] = []
        for n, row in zip(numbers, rows, strict=True):
            missing = [m for m in models if not isinstance(row["outcomes"].get(m), dict)]
            if not missing:
                complete.append(row)
            elif not header.get("gaps"):
                raise ConfigError(f"line {n} has no outcome for model {missing[0]!r}", file=str(path))
        if not complete:
            raise ConfigError(f"no row records an outcome for every model ({', '.join(models)}); compare more "
                              f"traffic with shadow calls", file=str(path))
        out = cls(header, complete)
        out.incomplete = len(rows) - len(complete)
        return out

    def params(self, model: str) -> float:
        """The model's size in billions of parameters (1.0 when the header gives none)."""
        return float(self.models.get(model, {}).get("params_b") or 1.0)

    def price(self, model: str) -> Price:
        """What a call costs: the header's price of the model where it gives one (a file
        exported from traffic carries the fleet's prices), else size x tokens."""
        given = (self.models.get(model) or {}).get("price")
        if given:
            return Price.model_validate(given)
        per_1k = 1000 * self.params(model)
        return Price(input_per_1k=per_1k, output_per_1k=per_1k)

    def cost(self, row: dict[str, Any], model: str) -> float:
        """What ``model``'s recorded answer to ``row`` cost."""
        out = row["outcomes"][model]
        tokens_in = int(out.get("input_tokens") or 0) or prompt_tokens_estimate(row["prompt"])
        return self.price(model).cost(tokens_in, int(out.get("output_tokens") or 0))

    def unsized(self) -> list[str]:
        """The models neither priced nor sized by the header: the file's own cost model (size x
        tokens) cannot price them."""
        return [m for m, meta in self.models.items() if not (meta or {}).get("params_b") and not (meta or {}).get("price")]


class ReplayOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    data: str  # the outcome file
    recorded_model: str | None = None  # the model's name in the file; defaults to this model's


class ReplayBackend(Backend):
    Options = ReplayOptions
    options: ReplayOptions

    def __init__(self, *args: Any, outcomes: Outcomes | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._outcomes = outcomes
        self.calls = 0

    def default_temperature(self) -> float | None:
        return 0.0  # a recorded outcome is the same every time

    async def start(self) -> None:
        if self._outcomes is None:
            self._outcomes = Outcomes.load(self.options.data)

    def _table(self) -> dict[str, Recorded]:
        assert self._outcomes is not None, "start() loads the outcomes"
        name = (self.options.recorded_model if self.options else None) or self.name
        table = self._outcomes.by_model.get(name)
        if table is None:
            raise UpstreamError(f"the recording has no model {name!r}")
        return table

    async def stream(self, req: GenRequest) -> AsyncGenerator[Delta, None]:
        prompt = req.prompt if req.kind == "completion" else _first_user(req.messages)
        rec = self._table().get(prompt)
        if rec is None:
            raise UpstreamError(f"model {self.name!r} has no recorded answer for this prompt")
        self.calls += 1
        text = rec.answer or ""
        yield Delta(text)
        yield Delta("", "stop", Usage(prompt_tokens_estimate(prompt), rec.output_tokens))


def _first_user(messages: list[dict[str, Any]]) -> str:
    # Recorded tasks are single-turn: the prompt is the (last) user message.
    users = [content_text(m.get("content")) for m in messages if m.get("role") == "user"]
    return users[-1] if users else ""
