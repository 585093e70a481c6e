"""The skill file: a versioned prompt template with variables, examples and an output schema."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..templating import TemplateProblem, check_template

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,), "array": (list,),
    "object": (dict,),
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Variable(_Strict):
    type: Literal["string", "integer", "number", "boolean", "array", "object"] = "string"
    description: str = ""
    required: bool = True
    default: Any = None
    enum: list[Any] | None = None

    def coerce(self, value: Any) -> Any:
        """The value as this type, or ValueError saying why not."""
        if self.type in ("integer", "number") and isinstance(value, str):
            try:
                value = int(value) if self.type == "integer" else float(value)
            except ValueError:
                raise ValueError(f"expected {self.type}, got {value!r}") from None
        if self.type == "boolean" and isinstance(value, str) and value.lower() in ("true", "false"):
            value = value.lower() == "true"
        ok = isinstance(value, _TYPES[self.type]) and not (self.type != "boolean" and isinstance(value, bool))
        if not ok:
            raise ValueError(f"expected {self.type}, got {type(value).__name__}")
        if self.enum is not None and value not in self.enum:
            raise ValueError(f"must be one of {', '.join(map(str, self.enum))}")
        return value


class Example(_Strict):
    """One few-shot example: variables in, the answer out (text, or JSON when there is a schema)."""

    input: dict[str, Any]
    output: Any


class SkillSpec(_Strict):
    name: str
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    # The variable a chat message fills when the message is not a JSON object of variables.
    input: str | None = None
    variables: dict[str, Variable] = Field(default_factory=dict)
    system: str = ""
    template: str
    examples: list[Example] = Field(default_factory=list)
    # A JSON schema the answer must satisfy: enforced by grammar where the model can, else
    # validated, with a retry that tells the model what was wrong.
    output: dict[str, Any] | None = None
    # The model or route to use; a list means the first that the fleet has.
    model: str | list[str] | None = None
    temperature: float | None = Field(None, ge=0, le=2)
    max_tokens: int | None = Field(None, gt=0)
    # The answer ends at the first of these. A base (completion) model goes on writing the next
    # question after its answer, so its skills stop it, e.g. at a blank line.
    stop: list[str] = Field(default_factory=list, max_length=4)
    retries: int = Field(2, ge=0, le=5)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError("a skill name is letters, digits, '_', '-' and '.'")
        return v

    @field_validator("stop")
    @classmethod
    def _stops(cls, v: list[str]) -> list[str]:
        if any(not x for x in v):
            raise ValueError("a stop sequence cannot be empty")
        return v

    @field_validator("system", "template")
    @classmethod
    def _compiles(cls, v: str) -> str:
        try:
            check_template(v)
        except TemplateProblem as exc:
            raise ValueError(str(exc)) from None
        return v

    @field_validator("output")
    @classmethod
    def _schema(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        if v is not None:
            from jsonschema import Draft202012Validator
            from jsonschema.exceptions import SchemaError

            try:
                Draft202012Validator.check_schema(v)
            except SchemaError as exc:
                raise ValueError(f"not a valid JSON schema: {exc.message}") from None
        return v

    @model_validator(mode="after")
    def _input_known(self) -> SkillSpec:
        if self.input is not None and self.input not in self.variables:
            raise ValueError(f"input {self.input!r} is not one of the variables")
        for i, ex in enumerate(self.examples):
            unknown = set(ex.input) - set(self.variables)
            if unknown:
                raise ValueError(f"examples[{i}] sets unknown variables: {', '.join(sorted(unknown))}")
        return self

    def input_variable(self) -> str | None:
        """The variable a plain chat message fills: ``input``, else the only required variable."""
        if self.input is not None:
            return self.input
        required = [n for n, v in self.variables.items() if v.required and v.default is None]
        return required[0] if len(required) == 1 else None

    def version(self) -> str:
        """The content hash: any change to the prompt, examples or schema is a new version."""
        data = self.model_dump(mode="json")
        if not data["stop"]:
            del data["stop"]  # skills written before the key existed keep their versions
        canon = json.dumps(data, ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(canon.encode("utf-8")).hexdigest()[:12]
