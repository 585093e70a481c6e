"""Learning from traffic, in-process over scripted models: feedback by request id, capture only
where the route and the key opted in (redacted, in its own table), shadow calls off the request
path, marked in the ledger and judged by agreement."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import write_config
from fastapi.testclient import TestClient

from plusn.database import connect
from plusn.errors import ConfigError
from plusn.gateway.app import create_app
from plusn.gateway.auth import KeyStore
from plusn.learning.observe import purge
from plusn.ledger.report import usage_report
from plusn.load_config import load_settings

CHAT = "/v1/chat/completions"


def fleet() -> dict[str, Any]:
    price = {"input_per_1k": 1.0, "output_per_1k": 1.0}
    return {
        "models": {
            "small": {"type": "scripted", "replies": ["The answer is 4."], "price": price},
            "mid": {"type": "scripted", "replies": ["I think it is 5."], "price": {"input_per_1k": 3, "output_per_1k": 3}},
            "large": {"type": "scripted", "replies": ["It is 4, surely."], "price": {"input_per_1k": 9, "output_per_1k": 9}},
        },
        "routes": {
            "maths": {"model": "small", "learning": {"capture": True, "shadow": {"share": 1.0, "models": ["mid", "large"]}}},
            "chat": {"model": "small"},
        },
        "dispatch": {"rules": [{"name": "maths", "keywords": ["sum"], "route": "maths"}], "default_route": "chat"},
        "safety": {"output": "allow"},
    }


@pytest.fixture
def app(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    settings = load_settings(write_config(tmp_path, fleet()), environ={})
    store = KeyStore(settings.state_db())
    keys = {"in": store.create("opted-in", capture=True), "out": store.create("opted-out")}
    store.close()
    with TestClient(create_app(settings)) as c:
        yield c, keys


def ask(c: TestClient, key: str, text: str, **kw: Any) -> Any:
    r = c.post(CHAT, json={"model": "auto", "messages": [{"role": "user", "content": text}], **kw},
               headers={"authorization": f"Bearer {key}"})
    assert r.status_code == 200, r.text
    return r


def table(c: TestClient, sql: str) -> list[dict[str, Any]]:
    c.app.state.plusn.ledger.flush()  # type: ignore[attr-defined]
    conn = connect(c.app.state.plusn.settings.state_db())  # type: ignore[attr-defined]
    try:
        return [dict(r) for r in conn.execute(sql).fetchall()]
    finally:
        conn.close()


def settle(c: TestClient) -> None:
    """Wait for the shadow calls started so far (they run after the response)."""
    obs = c.app.state.plusn.observer  # type: ignore[attr-defined]
    deadline = time.time() + 10
    while obs.tasks and time.time() < deadline:
        time.sleep(0.02)


def test_feedback_is_scoped_to_the_key_that_made_the_request(app: tuple[TestClient, dict[str, str]]) -> None:
    c, keys = app
    rid = ask(c, keys["in"], "what is the sum of 2 and 2").json()["plusn"]["request_id"]
    mine = c.post("/v1/feedback", json={"request_id": rid, "label": "good", "correct": True, "comment": "call 13800138000"},
                  headers={"authorization": f"Bearer {keys['in']}"})
    assert mine.status_code == 200 and mine.json()["score"] == 1.0
    theirs = c.post("/v1/feedback", json={"request_id": rid, "score": 0.0},
                    headers={"authorization": f"Bearer {keys['out']}"})
    unknown = c.post("/v1/feedback", json={"request_id": "req-nope", "score": 0.5},
                     headers={"authorization": f"Bearer {keys['in']}"})
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json()["error"]["code"] == "not_found"
    both = c.post("/v1/feedback", json={"request_id": rid, "score": 0.5, "label": "bad"},
                  headers={"authorization": f"Bearer {keys['in']}"})
    assert both.status_code == 400 and "either" in both.json()["error"]["message"]
    rows = table(c, "SELECT * FROM feedback")
    assert [(r["request_id"], r["score"], r["correct"]) for r in rows] == [(rid, 1.0, 1)]  # the foreign one changed nothing
    assert "13800138000" not in rows[0]["comment"]


def test_capture_needs_both_opt_ins_and_stores_no_pii_in_clear(app: tuple[TestClient, dict[str, str]]) -> None:
    c, keys = app
    ask(c, keys["out"], "the sum for 13800138000")  # capturing route, key not opted in
    ask(c, keys["in"], "hello there, my phone is 13800138000")  # opted-in key, route not capturing
    assert table(c, "SELECT * FROM captures") == []
    r = ask(c, keys["in"], "what is the sum of 2 and 2? call 13800138000\n4111111111111111")
    settle(c)
    rows = table(c, "SELECT * FROM captures ORDER BY model")
    rid = r.json()["plusn"]["request_id"]
    assert {row["request_id"] for row in rows} == {rid}
    assert [(row["model"], row["shadow"]) for row in rows] == [("large", 1), ("mid", 1), ("small", 0)]
    assert all("13800138000" not in row["prompt"] and "4111111111111111" not in row["prompt"] for row in rows)
    assert json.loads(rows[2]["prompt"])["messages"][0]["role"] == "user"
    # agreement with the served answer (4): the large model agrees, the mid one does not
    assert {row["model"]: row["agrees"] for row in rows} == {"large": 1, "mid": 0, "small": None}
    assert purge(c.app.state.plusn.settings, 0) == 3  # type: ignore[attr-defined]


def test_shadow_calls_are_marked_and_kept_out_of_counts(app: tuple[TestClient, dict[str, str]]) -> None:
    c, keys = app
    r = ask(c, keys["in"], "the sum please", stream=True)
    events = [json.loads(line[6:]) for line in r.text.splitlines() if line.startswith("data: {")]
    text = "".join(e["choices"][0]["delta"].get("content") or "" for e in events if e["choices"])
    assert text == "The answer is 4." and all(e["plusn"]["served_models"] == ["small"] for e in events if "plusn" in e)
    settle(c)
    ledger = table(c, "SELECT id, shadow, endpoint, served_models, cost FROM ledger ORDER BY id")
    client_rows = [row for row in ledger if not row["shadow"]]
    shadow_rows = [row for row in ledger if row["shadow"]]
    assert len(client_rows) == 1 and sorted(json.loads(row["served_models"])[0] for row in shadow_rows) == ["large", "mid"]
    assert all(row["id"].startswith(client_rows[0]["id"] + ":shadow:") for row in shadow_rows)
    total = usage_report(c.app.state.plusn.settings.state_db(), [])[0]  # type: ignore[attr-defined]
    assert total["requests"] == 1 and total["shadow_cost"] == pytest.approx(sum(r["cost"] for r in shadow_rows))


def test_a_canary_takes_its_share_of_a_route_and_the_ledger_tells_them_apart(tmp_path: Path) -> None:
    data = fleet()
    data["routes"]["maths"]["canary"] = {"route": "fitted", "share": 0.25}
    data["routes"]["fitted"] = {"model": "mid"}
    settings = load_settings(write_config(tmp_path, data), environ={})
    with TestClient(create_app(settings)) as c:
        c.app.state.plusn.fleet.members["auto"].rng.seed(3)  # type: ignore[attr-defined]
        blocks = [c.post(CHAT, json={"model": "auto", "messages": [{"role": "user", "content": f"the sum {i}"}]}
                         ).json()["plusn"] for i in range(200)]
        rows = table(c, "SELECT route, served_models FROM ledger WHERE endpoint = '/v1/chat/completions'")
    tried = [b for b in blocks if b["route"]["route"] == "fitted"]
    assert 30 <= len(tried) <= 70  # about a quarter of 200
    assert all(b["route"]["stages"][-1] == {"stage": "canary", "canary_of": "maths", "reason": "25% of 'maths' tries 'fitted'"}
               for b in tried)
    by_route = {r["route"]: json.loads(r["served_models"]) for r in rows}
    assert by_route == {"maths": ["small"], "fitted": ["mid"]}


def test_a_canary_must_be_another_route_without_its_own(tmp_path: Path) -> None:
    data = fleet()
    data["routes"]["maths"]["canary"] = {"route": "nowhere", "share": 0.1}
    with pytest.raises(ConfigError) as err:
        load_settings(write_config(tmp_path, data), environ={})
    assert err.value.key == "routes.maths.canary.route"


def test_a_blocked_request_is_never_kept(app: tuple[TestClient, dict[str, str]]) -> None:
    c, _ = app
    observer = c.app.state.plusn.observer  # type: ignore[attr-defined]
    assert observer.learning("maths", True) is not None
    assert observer.learning("route:maths", True) is not None  # called by its route name
    assert observer.learning("maths", True, blocked=True) is None
    assert observer.learning("maths", False) is None and observer.learning("chat", True) is None


def test_shadow_calls_are_refused_on_a_route_that_adds_context(tmp_path: Path) -> None:
    data = fleet()
    data["routes"]["maths"]["system"] = "Answer with a number."
    with pytest.raises(ConfigError) as err:
        load_settings(write_config(tmp_path, data), environ={})
    assert err.value.key == "routes.maths.learning.shadow" and "bare request" in err.value.message


def test_a_judge_model_decides_agreement_and_its_calls_count_as_shadow_cost(tmp_path: Path) -> None:
    data = fleet()
    data["models"]["judge"] = {"type": "scripted", "replies": ["yes"], "price": {"input_per_1k": 5, "output_per_1k": 5},
                               "rules": [{"match": "Answer B:\\s*I think it is 5", "reply": "No."}]}
    data["routes"]["maths"]["learning"]["shadow"]["judge"] = "judge"
    settings = load_settings(write_config(tmp_path, data), environ={})
    store = KeyStore(settings.state_db())
    key = store.create("in", capture=True)
    store.close()
    with TestClient(create_app(settings)) as c:
        ask(c, key, "what is the sum of 2 and 2")
        settle(c)
        agrees = {r["model"]: r["agrees"] for r in table(c, "SELECT model, agrees FROM captures WHERE shadow = 1")}
        shadow = table(c, "SELECT served_models, cost FROM ledger WHERE shadow = 1")
        routes = c.get("/v1/console/dashboard", headers={"authorization": f"Bearer {key}"}).json()["routes"]
    assert agrees == {"mid": 0, "large": 1}
    maths = next(r for r in routes if r["route"] == "maths")
    assert (maths["requests"], maths["compared"], maths["agreement"]) == (1, 2, 0.5)  # quality beside cost
    assert all(json.loads(r["served_models"])[-1] == "judge" for r in shadow)  # the judge's call is on the row
    assert all(r["cost"] > 0.01 for r in shadow)  # and in its cost (the judge's price is 5 per 1k)
