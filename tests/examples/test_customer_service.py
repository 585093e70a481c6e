"""examples/customer-service through the real gateway: prices and discounts come only from the
business database; no row means "don't know"; an invented number never reaches the customer.
The model is scripted (writing SQL is beyond the bundled tiny model); the database is real."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from plusn.gateway.app import create_app
from plusn.load_config import load_settings

EXAMPLE = Path(__file__).parents[2] / "examples" / "customer-service"

WRITER = "SELECT statement"  # the SQL writer's system prompt
ANSWER = "database results"  # the answer writer's
SCRIPT = [
    {"match": "保温杯", "system": WRITER, "reply": "SELECT p.name, p.price, pr.discount, pr.ends FROM products p "
     "JOIN promotions pr ON pr.sku = p.sku WHERE p.name LIKE '%保温杯%' AND pr.ends >= date('now')"},
    {"match": "保温杯", "system": ANSWER, "reply": "保温杯 500ml 售价 89.0 元，折扣 0.1，活动到 2026-12-31。"},
    {"match": "龙井", "system": WRITER, "reply": "SELECT p.name, pr.discount FROM products p JOIN promotions pr "
     "ON pr.sku = p.sku WHERE p.name LIKE '%龙井%' AND pr.ends >= date('now')"},
    {"match": "耳机", "system": WRITER, "reply": "SELECT name, price FROM products WHERE name LIKE '%耳机%'"},
    {"match": "耳机", "system": ANSWER, "reply": "蓝牙耳机 Pro 现在特价 299 元！"},
    {"match": "退货", "system": WRITER, "reply": "SELECT rule FROM policies WHERE topic = '退货'"},
    {"match": "退货", "system": ANSWER, "reply": "签收后 7 天内可无理由退货，茶叶拆封后不退。"},
]


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = load_settings(EXAMPLE / "plusn.yaml", environ={}, overrides={
        "data_dir": str(tmp_path), "models": {"assistant": {"type": "scripted", "rules": SCRIPT,
                                                            "replies": ["(unscripted)"]}}})
    with TestClient(create_app(settings)) as c:
        yield c


def ask(client: TestClient, text: str, model: str = "auto") -> tuple[str, dict[str, Any]]:
    r = client.post("/v1/chat/completions", json={"model": model, "messages": [{"role": "user", "content": text}]})
    assert r.status_code == 200, r.text
    return r.json()["choices"][0]["message"]["content"], r.json()["plusn"]


def test_the_shipped_database_is_built_from_shop_sql(tmp_path: Path) -> None:
    fresh = sqlite3.connect(tmp_path / "fresh.db")
    fresh.executescript((EXAMPLE / "shop.sql").read_text(encoding="utf-8"))
    shipped = sqlite3.connect(EXAMPLE / "shop.db")
    assert list(shipped.iterdump()) == list(fresh.iterdump())


def test_price_and_discount_come_from_the_rows(client: TestClient) -> None:
    text, block = ask(client, "保温杯多少钱？有优惠吗？")
    assert text == "保温杯 500ml 售价 89.0 元，折扣 0.1，活动到 2026-12-31。"
    assert block["sql"]["rows"] == [["保温杯 500ml", 89.0, 0.1, "2026-12-31"]]
    assert [t["node"] for t in block["trace"]] == ["triage", "lookup", "done"]
    assert block["route"]["route"] == "service"  # auto → the service route → the agent


def test_an_ended_promotion_is_not_quoted(client: TestClient) -> None:
    text, block = ask(client, "龙井茶现在打几折？")
    assert text == "数据库中没有查到相关信息，无法提供具体数字。"  # said without asking the model
    assert block["sql"]["rows"] == []


def test_an_invented_price_never_reaches_the_customer(client: TestClient) -> None:
    text, block = ask(client, "蓝牙耳机多少钱")
    assert "299" not in text and "399" in text
    assert "299" in block["sql"]["replaced_answer"]


def test_policy_answer_and_handoff(client: TestClient) -> None:
    text, _ = ask(client, "茶叶能退货吗")
    assert "7 天" in text
    text, block = ask(client, "我要投诉，转人工")
    assert text.startswith("好的，正在为您转接人工客服")
    assert block["served_models"] == ["agent:customer-service"] and block["cost"] == 0  # no model called
    text, block = ask(client, "你好")
    assert "清风商城客服" in text and block["route"]["stages"][0]["stage"] == "rule"
