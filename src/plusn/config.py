"""Typed settings: one YAML file plus ``PLUSN_*`` environment overrides.

With no file, the embedded defaults (``defaults.yaml`` in the package) apply. A user file is
deep-merged over them, except ``models``, which replaces the default fleet when given (a team
that serves only remote models should not load the bundled ones). Every error names the file,
the dotted key and, where known, the line.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import ConfigError
from .knowledge.spec import KnowledgeSpec, SQLSpec
from .limits.spec import LimitsSettings
from .routing.spec import CascadeSpec, DispatchSpec, RouterSpec, RouteSpec

ENV_PREFIX = "PLUSN_"
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


class SafetySettings(_Strict):
    """The safety layer; see docs/safety.md."""

    # What to do when the attack detector fires on a request's input: block (an error naming the
    # category, or `refusal` as the answer), flag (serve it, record the decision) or allow.
    input: Literal["block", "flag", "allow"] = "flag"
    # Override the shipped per-language thresholds (probability of an attack, 0..1).
    threshold: float | None = Field(None, gt=0, lt=1)
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


class _Paths(_Strict):
    # Files and folders; relative paths are taken from the config file's folder.
    paths: list[str] = Field(default_factory=list)

    def resolved(self, source: str) -> list[Path]:
        base = Path(source).parent if source.endswith((".yaml", ".yml")) else Path.cwd()
        return [p if p.is_absolute() else base / p for p in (Path(os.path.expanduser(x)) for x in self.paths)]


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
    tools: bool = False
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
        from .store import Database

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


def _defaults_text() -> str:
    return files("plusn").joinpath("defaults.yaml").read_text(encoding="utf-8")


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


def _merge(base: dict[str, Any], over: dict[str, Any], path: str = "",
           fleet: Literal["replace", "merge"] = "replace") -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if path == "" and key == "models" and fleet == "replace":
            out[key] = value  # a user's fleet replaces the default fleet
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value, f"{path}.{key}", fleet)
        else:
            out[key] = value
    return out


def _env_overrides(environ: dict[str, str]) -> dict[str, Any]:
    """``PLUSN_SERVER__PORT=9000`` becomes ``{"server": {"port": 9000}}``."""
    reserved = {"PLUSN_CONFIG", "PLUSN_ADMIN_KEY"}
    out: dict[str, Any] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or name in reserved:
            continue
        parts = [p.lower() for p in name[len(ENV_PREFIX):].split("__") if p]
        if not parts or parts[0] not in Settings.model_fields or parts[0] == "source":
            continue
        try:
            value = yaml.safe_load(raw) if raw.strip() else raw
        except yaml.YAMLError:
            value = raw
        cur = out
        for p in parts[:-1]:
            cur = cur.setdefault(p, {})
        cur[parts[-1]] = value
    return out


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


def load_settings(
    path: str | os.PathLike[str] | None = None,
    *,
    environ: dict[str, str] | None = None,
    overrides: dict[str, Any] | None = None,
) -> Settings:
    """Load the embedded defaults, a YAML file over them, then ``PLUSN_*`` variables."""
    environ = dict(os.environ if environ is None else environ)
    if path is None and environ.get("PLUSN_CONFIG"):
        path = environ["PLUSN_CONFIG"]
    data, _ = _parse(_defaults_text(), "<embedded defaults>")
    source, node = "<embedded defaults>", None
    origins: dict[str, tuple[str, yaml.Node | None]] = {}
    if path is not None:
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read the config file: {exc.strerror}", file=source) from exc
        user, node = _parse(text, source)
        included = _includes(user, source, (str(Path(source).resolve()),))
        layer: dict[str, Any] = {}
        for _, extra, _ in included:  # the user's files merge among themselves, fleets too
            layer = _merge(layer, extra, fleet="merge")
        data = _merge(data, _merge(layer, user, fleet="merge"))
        origins = _origins(included, user)
    data = _merge(data, _env_overrides(environ))
    if overrides:
        data = _merge(data, overrides)
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        err = first_error(exc)
        loc = tuple(err["loc"])
        key = ".".join(str(p) for p in loc) or "<top>"
        # an entry that came from an included file is reported in that file
        source, node = origins.get(".".join(str(p) for p in loc[:2]), (source, node))
        line = _line_of(node, loc) if node is not None else None
        at = f" (line {line})" if line else ""
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key; check its spelling against plusn.example.yaml"
        raise ConfigError(f"{msg}{at}{more}", file=source, key=key) from exc
    settings.source = source
    # Validate each model's backend-specific keys now, so errors surface at config time.
    from .fleet.registry import validate_model

    for name, model in settings.models.items():
        validate_model(name, model, source)
    settings.origins = {k: f for k, (f, _) in origins.items()}
    try:
        _check_references(settings)
    except ConfigError as exc:
        where = settings.origins.get(".".join((exc.key or "").split(".")[:2]))
        if where is None:
            raise
        raise ConfigError(exc.detail, file=where, key=exc.key) from exc
    return settings


def _includes(user: dict[str, Any], source: str, seen: tuple[str, ...]
              ) -> list[tuple[str, dict[str, Any], yaml.Node | None]]:
    """``include: [file, ...]``: config files merged before this one (paths relative to it), e.g.
    a route written by ``plusn routes fit``. An included file may include others; each comes
    before the file that includes it. Returns (file, data, YAML tree) in merge order."""
    paths = user.pop("include", None) or []
    if isinstance(paths, str):
        paths = [paths]
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise ConfigError("include must be a file name or a list of them", file=source, key="include")
    out: list[tuple[str, dict[str, Any], yaml.Node | None]] = []
    for p in paths:
        path = Path(os.path.expanduser(p))
        if not path.is_absolute():
            path = Path(source).parent / path
        if str(path.resolve()) in seen:
            raise ConfigError(f"{path} includes itself, through {' -> '.join(seen)}", file=source, key="include")
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read included file {path}: {exc.strerror}", file=source, key="include") from exc
        data, node = _parse(text, str(path))
        out += _includes(data, str(path), (*seen, str(path.resolve())))
        out.append((str(path), data, node))
    return out


def _origins(included: list[tuple[str, dict[str, Any], yaml.Node | None]], user: dict[str, Any]
             ) -> dict[str, tuple[str, yaml.Node | None]]:
    """Which file each entry (``routes.x``, ``cascades.y``...) last came from, for the entries
    the including file does not set itself: errors in them are reported there."""
    out: dict[str, tuple[str, yaml.Node | None]] = {}
    for path, data, node in included:
        for section, entries in data.items():
            if isinstance(entries, dict):
                for name in entries:
                    out[f"{section}.{name}"] = (path, node)
    for section, entries in user.items():
        if isinstance(entries, dict):
            for name in entries:
                out.pop(f"{section}.{name}", None)
    return out


def _check_references(s: Settings) -> None:
    """Every route, cascade and rule names something that exists."""
    models = set(s.models)
    for name, c in s.cascades.items():
        for m in c.members():
            if m not in models:
                raise ConfigError(f"unknown model {m!r}; models: {', '.join(models) or '(none)'}",
                                  file=s.source, key=f"cascades.{name}")
        ref = c.reference()
        if ref is not None:
            if ref not in models:
                raise ConfigError(f"unknown model {ref!r}; models: {', '.join(models) or '(none)'}",
                                  file=s.source, key=f"cascades.{name}.budget.reference")
            price = s.models[ref].price
            if not (price.input_per_1k or price.output_per_1k):
                raise ConfigError(f"the budget is a share of what {ref!r} would cost, but {ref!r} has no price; "
                                  f"set models.{ref}.price", file=s.source, key=f"cascades.{name}.budget")
    for name, r in s.routes.items():
        if r.model is not None and r.model not in models:
            raise ConfigError(f"unknown model {r.model!r}", file=s.source, key=f"routes.{name}.model")
        if r.cascade is not None and r.cascade not in s.cascades:
            raise ConfigError(f"unknown cascade {r.cascade!r}", file=s.source, key=f"routes.{name}.cascade")
        if r.router is not None and r.router not in s.routers:
            raise ConfigError(f"unknown router {r.router!r}", file=s.source, key=f"routes.{name}.router")
        if r.knowledge is not None and r.knowledge not in s.knowledge:
            raise ConfigError(f"unknown knowledge base {r.knowledge!r}; knowledge bases: "
                              f"{', '.join(s.knowledge) or '(none)'}", file=s.source, key=f"routes.{name}.knowledge")
        if r.sql is not None and r.sql not in s.sql:
            raise ConfigError(f"unknown SQL database {r.sql!r}; databases: {', '.join(s.sql) or '(none)'}",
                              file=s.source, key=f"routes.{name}.sql")
        if r.sql is not None and r.sql_model is not None and r.sql_model not in models:
            raise ConfigError(f"unknown model {r.sql_model!r}", file=s.source, key=f"routes.{name}.sql_model")
    for name, ms in s.models.items():
        for fb in ms.fallbacks:
            if fb not in models or fb == name:
                raise ConfigError(f"fallback {fb!r} is not another model of the fleet", file=s.source,
                                  key=f"models.{name}.fallbacks")
    for name, rt in s.routers.items():
        for member in rt.members():
            if member not in models:
                raise ConfigError(f"unknown model {member!r}; models: {', '.join(models) or '(none)'}",
                                  file=s.source, key=f"routers.{name}.predictor.models")
        missing = [m for m in rt.models() if m not in rt.costs]
        if missing:
            raise ConfigError(f"no cost for {missing[0]!r}", file=s.source, key=f"routers.{name}.costs")
        if rt.embedding_model is not None and rt.embedding_model not in models:
            raise ConfigError(f"unknown embedding model {rt.embedding_model!r}", file=s.source,
                              key=f"routers.{name}.embedding_model")
        if rt.predictor.get("embedding") and rt.embedding_model is None:
            raise ConfigError("the predictor reads the prompt's embedding: name the fleet's embedding model",
                              file=s.source, key=f"routers.{name}.embedding_model")
        if rt.budget is not None:
            ref = rt.budget.reference or max(rt.models(), key=lambda m: rt.costs.get(m, 0.0))
            if ref not in models:
                raise ConfigError(f"unknown model {ref!r}", file=s.source, key=f"routers.{name}.budget.reference")
            price = s.models[ref].price
            if not (price.input_per_1k or price.output_per_1k):
                raise ConfigError(f"the budget is a share of what {ref!r} would cost, but {ref!r} has no price; "
                                  f"set models.{ref}.price", file=s.source, key=f"routers.{name}.budget")
    for name, c in s.cascades.items():
        if c.start is None:
            continue
        starter = s.routers.get(c.start.router)
        if starter is None:
            raise ConfigError(f"unknown router {c.start.router!r}", file=s.source, key=f"cascades.{name}.start.router")
        unknown = [st.models[0] for st in c.stages if st.models[0] not in starter.models()]
        if unknown:
            raise ConfigError(f"router {c.start.router!r} predicts nothing for {unknown[0]!r}", file=s.source,
                              key=f"cascades.{name}.start.router")
    for name, kb in s.knowledge.items():
        if kb.embedding_model not in models:
            raise ConfigError(f"unknown embedding model {kb.embedding_model!r}", file=s.source,
                              key=f"knowledge.{name}.embedding_model")
    d = s.dispatch
    if d.knowledge is not None and d.knowledge not in s.knowledge:
        raise ConfigError(f"unknown knowledge base {d.knowledge!r}", file=s.source, key="dispatch.knowledge")
    for name, r in s.routes.items():
        if r.timezone != "UTC":
            try:
                from zoneinfo import ZoneInfo

                ZoneInfo(r.timezone)
            except (KeyError, ValueError):
                raise ConfigError(f"unknown timezone {r.timezone!r} (use an IANA name such as Asia/Shanghai)",
                                  file=s.source, key=f"routes.{name}.timezone") from None
    for i, rule in enumerate(d.rules):
        if rule.route is not None and rule.route not in s.routes:
            raise ConfigError(f"unknown route {rule.route!r}", file=s.source, key=f"dispatch.rules[{i}].route")
    for route in d.intents:
        if route not in s.routes:
            raise ConfigError(f"unknown route {route!r}", file=s.source, key=f"dispatch.intents.{route}")
    if d.intents and d.intent_model not in models:
        raise ConfigError(f"unknown embedding model {d.intent_model!r}", file=s.source, key="dispatch.intent_model")
    if d.default_route is not None and d.default_route not in s.routes:
        raise ConfigError(f"unknown route {d.default_route!r}", file=s.source, key="dispatch.default_route")
