"""Typed settings: what a deployment's configuration may hold, and how a YAML file's errors are
named (file, dotted key, line). Loading the files is ``load_config.load_settings``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .cache.spec import CacheSettings
from .database import Database
from .errors import ConfigError
from .knowledge.spec import KnowledgeSpec, SQLSpec
from .learning.spec import LearningSettings
from .limits.spec import LimitsSettings
from .package_data import resolve
from .responses.spec import ResponsesSettings
from .routing.spec import CascadeSpec, DispatchSpec, RouterSpec, RouteSpec
from .telemetry.spec import TelemetrySettings

M = TypeVar("M", bound=BaseModel)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServerSettings(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    # Requests larger than this get a 413 before their body is read in full.
    max_body_bytes: int = Field(4 * 1024 * 1024, gt=0)
    log_level: Literal["debug", "info", "warning", "error"] = "info"


class AuthSettings(_Strict):
    # An admin key read from this environment variable is always accepted, for every model.
    admin_key_env: str = "PLUSN_ADMIN_KEY"
    # Serve a non-loopback address with no key and no admin key (anyone who can reach it may
    # call the models, read only). Without this, plusn refuses to start that way.
    open: bool = False


Threshold = Annotated[float, Field(gt=0, lt=1)]


class SafetySettings(_Strict):
    """The safety layer; see docs/safety.md."""

    # What to do when the attack detector fires on a request's input: block (an error naming the
    # category, or `refusal` as the answer), flag (serve it, record the decision) or allow.
    input: Literal["block", "flag", "allow"] = "flag"
    # Override the shipped per-language thresholds (probability of an attack, 0..1): one number
    # for every language, or one per language ({zh: 0.6, en: 0.995}; a language left out keeps
    # its shipped threshold). Per language, because the detector's scores are calibrated per
    # language and a threshold that keeps English false positives down costs Chinese recall.
    threshold: Threshold | dict[str, Threshold] | None = None
    # The embedding model for the detector's second stage (borderline scores only); null: first stage only.
    second_stage_model: str | None = "multilingual-e5-small"
    # A refusal to answer with instead of an error when input is blocked.
    refusal: str | None = None
    # Redact PII and secrets before any request reaches a backend marked remote; restore them in replies.
    redact_remote: bool = True
    restore: bool = True
    # Screen retrieved passages for injected instructions before they enter a prompt.
    screen_passages: bool = True
    # Replies: block (stop the stream, finish_reason content_filter), flag or allow, against the
    # built-in categories plus these: {name: {phrases: [...], regex: "..."}}.
    output: Literal["block", "flag", "allow"] = "block"
    categories: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("threshold")
    @classmethod
    def _languages(cls, v: float | dict[str, float] | None) -> float | dict[str, float] | None:
        if isinstance(v, dict):
            unknown = sorted(set(v) - {"zh", "en"})
            if unknown:
                raise ValueError(f"the detector's languages are zh and en, not {', '.join(unknown)}")
        return v


def resolve_paths(paths: list[str], source: str) -> list[Path]:
    """Configured files and folders: relative ones from the config file's folder (the working
    directory for the embedded defaults), ``pkg:<package>/<path>`` inside an installed package."""
    base = Path(source).parent if source.endswith((".yaml", ".yml")) else Path.cwd()
    return [resolve(p, base) for p in paths]


class _Paths(_Strict):
    # Files and folders; relative paths are taken from the config file's folder, and
    # pkg:<package>/<path> names one shipped inside an installed package.
    paths: list[str] = Field(default_factory=list)

    def resolved(self, source: str) -> list[Path]:
        return resolve_paths(self.paths, source)


class SkillsSettings(_Paths):
    """The prompt library (skill files: YAML, or Markdown with front matter); see docs/skills.md."""

    # Serve the starter library (summarize, translate, extract-entities, sentiment, ...).
    builtin: bool = True
    # The model or route for skills that name none: default `auto` where there is one, else the first chat model.
    default_model: str | None = None


class AgentsSettings(_Paths):
    """Agents, workflows and forms (one YAML file each); see docs/agents.md."""

    # The model or route for agents that name none: default `auto` where there is one, else the first chat model.
    default_model: str | None = None
    # How long a workflow waits for the user's next turn before its state is dropped.
    state_ttl_s: float = Field(7 * 86400, gt=0)


class LedgerSettings(_Strict):
    # SQLite file; relative paths are taken from ``data_dir``.
    path: str = "plusn.db"
    # Rows are batched off the hot path and written at least this often.
    flush_interval_s: float = Field(0.2, gt=0)


class Capabilities(_Strict):
    chat: bool = True
    completion: bool = True
    embeddings: bool = False
    context_window: int = Field(4096, gt=0)
    languages: list[str] = Field(default_factory=lambda: ["en"])
    # Tool calls (OpenAI's `tools`) and image parts in messages. Left unsaid, the backend type
    # decides (fleet/model_types.py with_type_defaults): a llama.cpp chat model calls tools under a
    # grammar but reads no images; an OpenAI-compatible upstream is trusted with both.
    tools: bool = False
    vision: bool = False
    structured_output: bool = False
    remote: bool = False


class Price(_Strict):
    """Price per 1,000 tokens, in the deployment's currency (local models are priced too)."""

    input_per_1k: float = Field(0.0, ge=0)
    output_per_1k: float = Field(0.0, ge=0)

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.input_per_1k + completion_tokens * self.output_per_1k) / 1000


class CircuitBreaker(_Strict):
    """Stop calling a failing upstream for a while; see docs/resilience.md."""

    # This many failures (5xx, timeouts, broken connections) within window_s open the circuit.
    failures: int = Field(5, ge=1)
    window_s: float = Field(30.0, gt=0)
    # While open, calls fail at once (or go to the fallbacks); after open_s a health probe (or,
    # for backends without one, a single trial request) decides whether it closes again.
    open_s: float = Field(10.0, gt=0)


class ModelSettings(BaseModel):
    """One model of the fleet. Keys beyond these belong to the backend ``type``."""

    model_config = ConfigDict(extra="allow")

    type: str
    description: str = ""
    capabilities: Capabilities = Field(default_factory=Capabilities)
    price: Price = Field(default_factory=Price)
    # Requests running at once; more wait in a bounded queue, and past that get a 429.
    max_concurrency: int = Field(4, ge=1)
    max_queue: int = Field(64, ge=0)
    # How long a request may wait in the queue before a 503.
    queue_timeout_s: float = Field(30.0, gt=0)
    # Load at start-up (True) or on the first request.
    preload: bool = True
    # Resilience (docs/resilience.md). Retries of retryable errors (5xx, 429, timeouts, broken
    # connections) before the first byte, with exponential backoff; null: the backend's default
    # (2 for OpenAI-compatible servers, 0 for in-process models).
    retries: int | None = Field(None, ge=0, le=10)
    backoff_s: float = Field(0.2, ge=0)
    backoff_max_s: float = Field(2.0, ge=0)
    # Other models to try, in order, when this one still fails (before the first byte).
    fallbacks: list[str] = Field(default_factory=list)
    # Give up on a stream whose first token takes longer than this (then retry or fall back).
    first_token_timeout_s: float | None = Field(None, gt=0)
    # null: the backend's default (on for OpenAI-compatible servers); false: off.
    circuit_breaker: CircuitBreaker | bool | None = None

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class Settings(_Strict):
    """The whole configuration of one plusn deployment."""

    data_dir: str = ".plusn"
    # The state database (ledger, keys, audit, paused workflows) in Postgres, e.g.
    # postgresql://plusn@db.internal/plusn (or PLUSN_DATABASE_URL); default: SQLite under data_dir.
    database_url: str | None = None
    # Where assembled model files are cached; shared by every data_dir on the machine.
    models_dir: str = "~/.cache/plusn/models"
    server: ServerSettings = Field(default_factory=ServerSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    ledger: LedgerSettings = Field(default_factory=LedgerSettings)
    models: dict[str, ModelSettings] = Field(default_factory=dict)
    # Named destinations for dispatch: a model or a cascade (later: skills, agents).
    routes: dict[str, RouteSpec] = Field(default_factory=dict)
    cascades: dict[str, CascadeSpec] = Field(default_factory=dict)
    routers: dict[str, RouterSpec] = Field(default_factory=dict)
    dispatch: DispatchSpec = Field(default_factory=DispatchSpec)
    # Knowledge bases (documents to search) and SQL databases (facts to query), by name.
    safety: SafetySettings = Field(default_factory=SafetySettings)
    knowledge: dict[str, KnowledgeSpec] = Field(default_factory=dict)
    sql: dict[str, SQLSpec] = Field(default_factory=dict)
    skills: SkillsSettings = Field(default_factory=SkillsSettings)
    agents: AgentsSettings = Field(default_factory=AgentsSettings)
    limits: LimitsSettings = Field(default_factory=LimitsSettings)
    learning: LearningSettings = Field(default_factory=LearningSettings)
    cache: CacheSettings = Field(default_factory=CacheSettings)
    responses: ResponsesSettings = Field(default_factory=ResponsesSettings)
    telemetry: TelemetrySettings = Field(default_factory=TelemetrySettings)
    # Where the settings came from, for messages; not a user key.
    source: str = Field("<embedded defaults>", exclude=True)
    # the file each included entry ("routes.x") came from, when not the config file itself
    origins: dict[str, str] = Field(default_factory=dict, exclude=True)

    @field_validator("models")
    @classmethod
    def _names(cls, v: dict[str, ModelSettings]) -> dict[str, ModelSettings]:
        for name in v:
            if not name or any(c.isspace() for c in name):
                raise ValueError(f"model name {name!r} must be non-empty and have no spaces")
        return v

    def data_path(self) -> Path:
        return Path(os.path.expanduser(self.data_dir)).resolve()

    def ledger_path(self) -> Path:
        p = Path(os.path.expanduser(self.ledger.path))
        return p if p.is_absolute() else self.data_path() / p

    def state_db(self) -> Any:
        """The state database: Postgres at ``database_url``, else the SQLite file ``ledger_path()``."""
        return Database(self.database_url or self.ledger_path())

    def models_path(self) -> Path:
        return Path(os.path.expanduser(self.models_dir)).resolve()


# --- loading -------------------------------------------------------------------------------


def first_error(exc: ValidationError) -> Any:
    """The error to show: a misspelt key first, since it usually explains a missing one."""
    errors = exc.errors()
    return next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])


def file_error(exc: ValidationError, node: yaml.Node | None, source: str, offset: int = 0) -> ConfigError:
    """A validation error of a YAML file (a skill, an agent) as a ConfigError naming the file,
    the dotted key and the line (``offset``: lines before the YAML, as in front matter)."""
    err = first_error(exc)
    loc = tuple(err["loc"])
    line = _line_of(node, loc)
    at = f" (line {line + offset})" if line else ""
    msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
    return ConfigError(f"{msg}{at}", file=source, key=".".join(map(str, loc)) or "<top>")


def read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the {what}: {exc.strerror}", file=str(path)) from exc


def validated(model: type[M], data: dict[str, Any], node: yaml.Node | None, source: str, offset: int = 0) -> M:
    """``model`` from a YAML file's data; a ConfigError naming file, key and line if it does not fit."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise file_error(exc, node, source, offset) from None


def parse_yaml(text: str, source: str) -> tuple[dict[str, Any], yaml.Node | None]:
    """A YAML mapping and its node tree (for line numbers); errors name the file and line."""
    return _parse(text, source)


def _parse(text: str, source: str) -> tuple[dict[str, Any], yaml.Node | None]:
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise ConfigError(f"not valid YAML{where}: {getattr(exc, 'problem', exc)}", file=source) from None
    if data is None:
        return {}, None
    if not isinstance(data, dict):
        raise ConfigError("the top level must be a mapping of keys", file=source)
    return data, node


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """Best-effort line number (1-based) of a dotted key inside a composed YAML tree."""
    line = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if str(k.value) == str(part):
                    line = k.start_mark.line + 1
                    node = v
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line
