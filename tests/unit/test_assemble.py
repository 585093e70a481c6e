"""The composition root builds a deployment in order, and its routes can be rebuilt in place."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from conftest import write_config

from plusn.assemble import assemble
from plusn.errors import ConfigError
from plusn.fleet.backend import GenRequest
from plusn.load_config import load_settings

MODELS = {"small": {"type": "scripted", "replies": ["small says 4"]},
          "large": {"type": "scripted", "replies": ["large says 4"]}}


def test_routes_are_rebuilt_on_a_running_deployment_and_the_models_stay(tmp_path: Path) -> None:
    first = load_settings(write_config(tmp_path, {
        "models": MODELS, "skills": {"builtin": False},
        "cascades": {"math": {"stages": ["small", "large"], "verifier": {"type": "agreement", "min_votes": 1}}},
        "routes": {"sums": {"cascade": "math"}}}), environ={})
    d = assemble(first)
    small = d.fleet.members["small"]
    assert {"cascade:math", "auto"} <= set(d.routes) and "small" not in d.routes
    gen, _ = asyncio.run(d.fleet.run("cascade:math", GenRequest("chat", [{"role": "user", "content": "2+2?"}])))
    assert gen.text == "small says 4"
    d.fleet.member("cascade:math@2")  # a knobbed variant goes with its base
    (tmp_path / "second").mkdir()
    second = load_settings(write_config(tmp_path / "second", {
        "models": MODELS, "skills": {"builtin": False},
        "cascades": {"strict": {"stages": ["small", "large"], "verifier": {"type": "agreement", "min_votes": 2}}},
        "routes": {"sums": {"cascade": "strict"}}}), environ={})
    d.rebuild_routes(second)
    assert "cascade:math" not in d.fleet.members and "cascade:math@2" not in d.fleet.members
    assert "cascade:strict" in d.fleet.members and d.fleet.members["small"] is small
    gen, _ = asyncio.run(d.fleet.run("auto", GenRequest("chat", [{"role": "user", "content": "2+2?"}])))
    assert gen.route is not None and gen.route["cascade"] == "cascade:strict"
    asyncio.run(d.close())


def routes_to(model: str) -> dict[str, object]:
    return {"models": MODELS, "skills": {"builtin": False},
            "cascades": {"math": {"stages": [model], "verifier": {"type": "agreement", "min_votes": 1}}},
            "routes": {"sums": {"cascade": "math"}}, "dispatch": {"default_route": "sums"}}


def test_a_request_in_flight_finishes_on_the_routes_it_started_with(tmp_path: Path) -> None:
    d = assemble(load_settings(write_config(tmp_path, routes_to("small")), environ={}))
    old_auto, old_policy = d.fleet.members["auto"], d.policy
    (tmp_path / "new").mkdir()
    d.rebuild_routes(load_settings(write_config(tmp_path / "new", routes_to("large")), environ={}))
    assert d.policy != old_policy
    ask = GenRequest("chat", [{"role": "user", "content": "2+2?"}])
    # The old auto (held by a request that started before the reload) still reaches the old cascade.
    old = asyncio.run(old_auto.generate(ask))  # type: ignore[union-attr]
    new, _ = asyncio.run(d.fleet.run("auto", ask))
    assert (old.text, new.text) == ("small says 4", "large says 4")
    asyncio.run(d.close())


def test_routes_that_do_not_build_leave_the_old_ones_serving(tmp_path: Path) -> None:
    d = assemble(load_settings(write_config(tmp_path, routes_to("small")), environ={}))
    before, policy = dict(d.fleet.members), d.policy
    bad = load_settings(write_config(tmp_path, routes_to("small")), environ={})
    bad.routes["sums"].cascade = None
    bad.routes["sums"].skill = "nowhere"  # checked only when the routes are built
    with pytest.raises(ConfigError):
        d.rebuild_routes(bad)
    assert d.fleet.members == before and d.policy == policy
    gen, _ = asyncio.run(d.fleet.run("auto", GenRequest("chat", [{"role": "user", "content": "2+2?"}])))
    assert gen.text == "small says 4"
    asyncio.run(d.close())


def test_conversations_that_escalated_stay_on_their_tier_across_a_reload(tmp_path: Path) -> None:
    d = assemble(load_settings(write_config(tmp_path, routes_to("small")), environ={}))
    d.fleet.members["auto"].sticky.put("s:conversation-1", "large")  # type: ignore[attr-defined]
    (tmp_path / "new").mkdir()
    d.rebuild_routes(load_settings(write_config(tmp_path / "new", routes_to("large")), environ={}))
    assert d.fleet.members["auto"].sticky.get("s:conversation-1") == "large"  # type: ignore[attr-defined]
    asyncio.run(d.close())
