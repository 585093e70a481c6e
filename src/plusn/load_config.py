"""Loading the configuration: one YAML file plus ``PLUSN_*`` environment overrides.

With no file, the embedded defaults apply: ``defaults.yaml`` in the package (the bundled
models), and over it ``first_run.yaml`` (routes, a handbook and a guard on those models). A user
file is deep-merged over ``defaults.yaml`` alone, except ``models``, which replaces the default
fleet when given (a team that serves only remote models should not load the bundled ones).
Every error names the file, the dotted key and, where known, the line. Each model's
type-specific keys are checked here too, through the backend registry, so a bad one fails
before anything starts.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import yaml
from pydantic import ValidationError

from .config import Settings, _line_of, _parse, first_error, resolve_paths
from .errors import ConfigError
from .fleet.model_types import validate_model

ENV_PREFIX = "PLUSN_"


def _packaged(name: str) -> str:
    return files("plusn").joinpath(name).read_text(encoding="utf-8")


def _defaults_text() -> str:
    return _packaged("defaults.yaml")


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
    if path is None:
        # The first run: routes, a handbook and a guard over the bundled models. Never under a
        # user's file, whose own `models` would leave these routes pointing at nothing.
        first_run, _ = _parse(_packaged("first_run.yaml"), "<embedded defaults>")
        data = _merge(data, first_run, fleet="merge")
    else:
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
    for name, model in settings.models.items():
        validate_model(name, model, source)
    settings.origins = {k: f for k, (f, _) in origins.items()}
    try:
        check_references(settings)
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


def check_references(s: Settings) -> None:
    """Every route, cascade and rule names something that exists."""
    _check_cascades(s)
    _check_routes(s)
    _check_routers(s)
    _check_dispatch(s)
    _check_learning(s)


def _known_models(s: Settings, names: list[str], key: str) -> None:
    """Every name is a model of the fleet; the first that is not is an error at ``key``."""
    for m in names:
        if m not in s.models:
            raise ConfigError(f"unknown model {m!r}; models: {', '.join(s.models) or '(none)'}", file=s.source,
                              key=key)


def _check_cascades(s: Settings) -> None:
    for name, c in s.cascades.items():
        _known_models(s, list(c.members()), f"cascades.{name}")
        ref = c.reference()
        if ref is not None:
            _check_budget_reference(s, ref, f"cascades.{name}.budget")
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


def _check_budget_reference(s: Settings, ref: str, key: str) -> None:
    """A budget is a share of what its reference model would cost: a model of the fleet, priced."""
    _known_models(s, [ref], f"{key}.reference")
    price = s.models[ref].price
    if not (price.input_per_1k or price.output_per_1k):
        raise ConfigError(f"the budget is a share of what {ref!r} would cost, but {ref!r} has no price; "
                          f"set models.{ref}.price", file=s.source, key=key)


def _check_routes(s: Settings) -> None:
    models = set(s.models)
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
    for name, r in s.routes.items():
        if r.canary is not None:
            other = s.routes.get(r.canary.route)
            if other is None or r.canary.route == name:
                raise ConfigError(f"the canary {r.canary.route!r} is not another route", file=s.source,
                                  key=f"routes.{name}.canary.route")
            if other.canary is not None:
                raise ConfigError(f"the canary {r.canary.route!r} has a canary of its own", file=s.source,
                                  key=f"routes.{name}.canary.route")
    for name, ms in s.models.items():
        for fb in ms.fallbacks:
            if fb not in models or fb == name:
                raise ConfigError(f"fallback {fb!r} is not another model of the fleet", file=s.source,
                                  key=f"models.{name}.fallbacks")
    for name, r in s.routes.items():
        if r.timezone not in ("UTC", "local"):
            try:
                ZoneInfo(r.timezone)
            except (KeyError, ValueError):
                raise ConfigError(f"unknown timezone {r.timezone!r} (use an IANA name such as Asia/Shanghai, or local)",
                                  file=s.source, key=f"routes.{name}.timezone") from None


def _check_learning(s: Settings) -> None:
    """A route's shadow models are models of the fleet, remote ones only where allowed."""
    for name, r in s.routes.items():
        shadow = r.learning.shadow if r.learning is not None else None
        if shadow is None:
            continue
        if r.kb(s.dispatch.knowledge) or r.sql or r.datetime or r.system:
            raise ConfigError("shadow calls send the bare request, so on a route that adds context (knowledge, "
                              "sql, datetime, system) they would compare unlike answers; capture without shadow "
                              "here", file=s.source, key=f"routes.{name}.learning.shadow")
        judge = s.models.get(shadow.judge) if shadow.judge is not None else None
        if shadow.judge is not None and (judge is None or not judge.capabilities.chat):
            raise ConfigError(f"no chat model named {shadow.judge!r}", file=s.source,
                              key=f"routes.{name}.learning.shadow.judge")
        key = f"routes.{name}.learning.shadow.models"
        _known_models(s, shadow.models, key)
        for m in shadow.models:
            if s.models[m].capabilities.remote and not shadow.remote:
                raise ConfigError(f"{m!r} is remote: shadow calls would send the prompt out; set "
                                  f"routes.{name}.learning.shadow.remote: true to allow it", file=s.source, key=key)


def _check_routers(s: Settings) -> None:
    models = set(s.models)
    for name, rt in s.routers.items():
        _known_models(s, list(rt.members()), f"routers.{name}.predictor.models")
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
            _check_budget_reference(s, ref, f"routers.{name}.budget")


def _check_dispatch(s: Settings) -> None:
    """Knowledge bases' embedders, and every route the dispatcher names."""
    models = set(s.models)
    for name, kb in s.knowledge.items():
        if kb.embedding_model not in models:
            raise ConfigError(f"unknown embedding model {kb.embedding_model!r}", file=s.source,
                              key=f"knowledge.{name}.embedding_model")
        _check_paths(s, kb.paths, f"knowledge.{name}.paths")
    d = s.dispatch
    if d.knowledge is not None and d.knowledge not in s.knowledge:
        raise ConfigError(f"unknown knowledge base {d.knowledge!r}", file=s.source, key="dispatch.knowledge")
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


def _check_paths(s: Settings, refs: list[str], key: str) -> None:
    """Each configured file or folder exists (a pkg: one in an installed package)."""
    for ref in refs:
        try:
            path = resolve_paths([ref], s.source)[0]
        except ConfigError as exc:
            raise ConfigError(exc.detail, file=s.source, key=key) from None
        if not path.exists():
            raise ConfigError(f"no such file or folder: {path}", file=s.source, key=key)
