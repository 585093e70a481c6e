"""Prompt templates and conditions: Jinja2 in its immutable sandbox.

Skills render their prompts with it and workflows also use it for their conditions
(``{{ }}`` templates, bare expressions for ``when:``). The sandbox keeps a template from
reaching Python internals, and undefined names are errors, so a misspelt variable fails loudly
instead of rendering as an empty string.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment


class TemplateProblem(ValueError):
    """A template or expression that does not compile or render; ``line`` where known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


@functools.cache
def environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False,
                                        trim_blocks=True, lstrip_blocks=True)
    env.filters["json"] = _json
    return env


@functools.lru_cache(maxsize=1024)
def _template(source: str) -> Any:
    try:
        return environment().from_string(source)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"template syntax: {exc.message}", exc.lineno) from None


@functools.lru_cache(maxsize=1024)
def _expression(source: str) -> Any:
    try:
        return environment().compile_expression(source)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"expression syntax: {exc.message}") from None


def check_template(source: str) -> None:
    _template(source)


def check_expression(source: str) -> None:
    _expression(source)


def render(source: str, context: dict[str, Any]) -> str:
    try:
        return str(_template(source).render(**context)).strip()
    except TemplateProblem:
        raise
    except Exception as exc:
        raise TemplateProblem(f"cannot render: {_why(exc)}") from None


def evaluate(expression: str, context: dict[str, Any]) -> Any:
    try:
        return _expression(expression)(**context)
    except TemplateProblem:
        raise
    except Exception as exc:
        raise TemplateProblem(f"cannot evaluate {expression!r}: {_why(exc)}") from None


def _why(exc: Exception) -> str:
    return str(exc) if isinstance(exc, TemplateError) else f"{type(exc).__name__}: {exc}"
