"""examples/housing-fund through the real gateway: the form asks only for what is missing,
accepts corrections, decides right on every branch of the policy tree, and a paused
conversation survives a restart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ledger_rows
from fastapi.testclient import TestClient

from plusn.gateway.app import create_app
from plusn.load_config import load_settings

EXAMPLE = Path(__file__).parents[2] / "examples" / "housing-fund" / "plusn.yaml"
MODEL = "agent:housing-fund"


def settings(tmp_path: Path) -> Any:
    # The form calls no model; a scripted one stands in for the default fleet so nothing loads.
    return load_settings(EXAMPLE, environ={}, overrides={
        "data_dir": str(tmp_path / "data"), "models": {"stand-in": {"type": "scripted"}}})


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(settings(tmp_path))) as c:
        yield c


class Conversation:
    def __init__(self, client: TestClient, session: str | None = None) -> None:
        self.client = client
        self.messages: list[dict[str, str]] = []
        self.session = session
        self.asked: list[str | None] = []
        self.block: dict[str, Any] = {}

    def say(self, text: str) -> str:
        self.messages.append({"role": "user", "content": text})
        headers = {"x-plusn-session": self.session} if self.session else {}
        r = self.client.post("/v1/chat/completions", json={"model": MODEL, "messages": self.messages},
                             headers=headers)
        assert r.status_code == 200, r.text
        reply = r.json()["choices"][0]["message"]["content"]
        self.messages.append({"role": "assistant", "content": reply})
        self.block = r.json()["plusn"]
        self.asked.append(self.block["route"].get("waiting_for"))
        return str(reply)

    @property
    def decision(self) -> str | None:
        return (self.block.get("decision") or {}).get("decision")


# Every leaf of the tree: the turns, the slots asked (None: decided), the decision.
BRANCHES = [
    (["我退休了，想提取公积金"], [None], "可以提取"),
    (["我想提取公积金", "买房", "是的，有发票"], ["purpose", "invoice", None], "可以提取"),
    (["我买了房想提取公积金", "没有发票"], ["invoice", None], "暂不能提取"),
    (["还房贷可以提取吗", "正常还款，没有逾期"], ["loan_normal", None], "可以提取"),
    (["还房贷可以提取吗", "逾期了两个月"], ["loan_normal", None], "暂不能提取"),
    (["我是本地户口，想用公积金付房租"], [None], "可以提取"),
    (["我是外地户口，租房能提取吗", "已经备案了"], ["rent_filed", None], "可以提取"),
    (["租房提取", "外地", "还没办备案"], ["hukou", "rent_filed", None], "暂不能提取"),
    (["我离职了，本市户籍"], [None], "暂不能提取"),
    (["我离职了", "外地户籍", "八个月"], ["hukou", "months", None], "可以提取"),
    (["我辞职了，外地人", "3个月"], ["months", None], "暂不能提取"),
    (["我离职两年了，外地户籍"], [None], "可以提取"),
]


@pytest.mark.parametrize(("turns", "asked", "decision"), BRANCHES, ids=[b[0][0] for b in BRANCHES])
def test_every_branch_of_the_tree(client: TestClient, turns: list[str], asked: list[str | None],
                                  decision: str) -> None:
    c = Conversation(client)
    replies = [c.say(t) for t in turns]
    assert c.asked == asked  # only what is missing, one question at a time
    assert c.decision == decision
    assert replies[-1].startswith(decision)
    path = c.block["decision"]["path"]
    assert path[0]["slot"] == "purpose" and path[-1]["value"] is not None
    assert c.block["route"]["status"] == "done" and c.block["trace"][0]["type"] == "form"


def test_a_correction_changes_the_path(client: TestClient) -> None:
    c = Conversation(client)
    c.say("我想租房提取公积金")
    assert c.asked[-1] == "hukou"
    c.say("外地")
    assert c.asked[-1] == "rent_filed"
    reply = c.say("不对，我是本地户口")
    assert "已更正：户籍 → 本市" in reply
    assert c.decision == "可以提取"  # 租房 + 本市 needs no filing: the question is dropped
    assert [p["value"] for p in c.block["decision"]["path"]] == ["租房", "本市"]


def test_a_correction_after_the_decision_reopens_the_form(client: TestClient) -> None:
    c = Conversation(client)
    c.say("我离职了，本市户籍")
    assert c.decision == "暂不能提取"
    reply = c.say("说错了，我是外地户籍")
    assert "已更正" in reply and c.asked[-1] == "months"
    c.say("10个月")
    assert c.decision == "可以提取"


def test_a_message_after_the_decision_that_changes_nothing_read_neither_restarts_nor_decides(
        client: TestClient) -> None:
    c = Conversation(client)
    c.say("我离职了，本市户籍")
    assert c.decision == "暂不能提取"
    reply = c.say("这样也不行吗，我交了好多年了")  # no fact of the form: no new case, no outcome said again
    assert c.block["route"].get("unread") is True and c.decision is None and c.asked[-1] is None
    assert "户籍 本市" in reply and "暂不能提取" not in reply  # what the outcome rests on, not the outcome
    c.say("说错了，我是外地户籍")  # a fact still reopens the form
    assert c.asked[-1] == "months"
    c.say("10个月")
    assert c.decision == "可以提取"
    c.say("不用重新开始，我就想知道为什么")  # no start over
    assert c.block["route"].get("unread") is True


def test_a_guess_against_an_answer_after_the_decision_does_not_say_the_outcome_again(client: TestClient) -> None:
    c = Conversation(client)
    c.say("我离职了，外地户籍")
    c.say("10个月")
    assert c.decision == "可以提取"
    reply = c.say("我这边想问户籍的事")  # 这边 here is "on my side": a guess at most, against an answer
    assert c.block["route"].get("unread") is True and c.decision is None
    assert "户籍 外地" in reply and "可以提取" not in reply
    c.say("重新开始，帮我同事问：他离职了")  # a new case: nothing of the last one carries over
    assert c.asked[-1] == "hukou" and c.block["route"].get("restarted")


def test_an_invalid_answer_is_explained_and_asked_again(client: TestClient) -> None:
    c = Conversation(client)
    c.say("我离职了，外地户口")
    reply = c.say("很久了")
    assert "不符合要求" in reply and c.asked[-1] == "months"
    c.say("700个月")
    assert "不能大于 600" in c.messages[-1]["content"]
    c.say("7")
    assert c.decision == "可以提取"


def test_a_paused_form_survives_a_gateway_restart(tmp_path: Path) -> None:
    for session in (None, "case-42"):
        with TestClient(create_app(settings(tmp_path))) as first:
            c = Conversation(first, session)
            c.say("我想提取公积金")
            c.say("租房")
            assert c.asked == ["purpose", "hukou"]
        with TestClient(create_app(settings(tmp_path))) as second:  # a new process would see the same
            c.client = second
            c.say("外地")
            c.say("备案了")
            assert c.decision == "可以提取"
            assert c.block["route"]["resumed"] == "form"
            rows = [r for r in ledger_rows(second) if r["route"] == MODEL]
            assert rows and all(r["status"] == 200 for r in rows)


def test_agents_cli_runs_a_conversation_on_the_terminal(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from plusn.cli import main

    cfg = tmp_path / "plusn.yaml"
    text = EXAMPLE.read_text(encoding="utf-8").replace("paths: [agents]", f"paths: [{EXAMPLE.parent / 'agents'}]")
    cfg.write_text(text.replace("data_dir: .plusn/housing-fund", f"data_dir: {tmp_path / 'data'}"), encoding="utf-8")
    res = CliRunner().invoke(main, ["agents", "run", "housing-fund", "-c", str(cfg)],
                             input="我离职了\n外地户籍\n8个月\n")
    assert res.exit_code == 0, res.output
    assert res.output.splitlines()[-1].startswith("可以提取。外地户籍职工离职已满 8 个月")
    listed = CliRunner().invoke(main, ["agents", "list", "-c", str(cfg)])
    assert "agent:housing-fund" in listed.output and "6 slots" in listed.output


def test_each_caller_has_its_own_conversation(client: TestClient) -> None:
    keys = client.app.state.plusn.keys  # type: ignore[attr-defined]
    a, b = keys.create("team-a"), keys.create("team-b")
    for key in (a, b):  # the same words, the same session id, two callers
        r = client.post("/v1/chat/completions", headers={"authorization": f"Bearer {key}", "x-plusn-session": "s1"},
                        json={"model": MODEL, "messages": [{"role": "user", "content": "我想租房提取"}]})
        assert r.json()["plusn"]["route"]["waiting_for"] == "hukou"
    r = client.post("/v1/chat/completions", headers={"authorization": f"Bearer {a}", "x-plusn-session": "s1"},
                    json={"model": MODEL, "messages": [{"role": "user", "content": "本市"}]})
    assert r.json()["plusn"]["decision"]["values"] == {"purpose": "租房", "hukou": "本市"}
    # b's conversation is untouched by a's answer, and a's values are not b's to see
    r = client.post("/v1/chat/completions", headers={"authorization": f"Bearer {b}", "x-plusn-session": "s1"},
                    json={"model": MODEL, "messages": [{"role": "user", "content": "外地"}]})
    assert r.json()["plusn"]["route"]["waiting_for"] == "rent_filed"


def test_same_opening_words_do_not_collide(client: TestClient) -> None:
    one, two = Conversation(client), Conversation(client)
    one.say("我想租房提取")
    two.say("我想租房提取")
    one.say("本市")
    assert one.decision == "可以提取"
    two.say("外地")  # still finds the state it paused in
    assert two.asked[-1] == "rent_filed"


def test_a_changed_agent_restarts_a_paused_conversation(tmp_path: Path) -> None:
    agents = tmp_path / "agents"
    agents.mkdir()
    text = (EXAMPLE.parent / "agents" / "housing-fund.yaml").read_text(encoding="utf-8")
    (agents / "housing-fund.yaml").write_text(text, encoding="utf-8")
    cfg = settings(tmp_path).model_copy(update={"agents": settings(tmp_path).agents.model_copy(
        update={"paths": [str(agents)]})})
    with TestClient(create_app(cfg)) as c:
        conv = Conversation(c)
        conv.say("我离职了")
        assert conv.asked[-1] == "hukou"
    # the slot it waits on is renamed while the conversation is paused
    (agents / "housing-fund.yaml").write_text(text.replace("hukou", "residence"), encoding="utf-8")
    with TestClient(create_app(cfg)) as c:
        conv.client = c
        reply = conv.say("外地")
        assert conv.block["route"]["restarted"] and reply.startswith("请问您提取住房公积金的原因")
