"""A reload during 200 concurrent streams, through a real `plusn serve`: no request fails, each
is served by exactly one policy version (the one its ledger row names), and both versions serve."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from conftest import plusn_serve

from plusn.database import connect
from plusn.load_config import load_settings


def config(data_dir: Path, target: str) -> dict[str, Any]:
    slow = {"delay_s": 0.05, "max_concurrency": 500, "max_queue": 0}
    return {"data_dir": str(data_dir), "skills": {"builtin": False}, "safety": {"output": "allow"},
            "models": {"small": {"type": "scripted", "replies": ["small " * 20], **slow},
                       "large": {"type": "scripted", "replies": ["large " * 20], **slow}},
            "routes": {"chat": {"model": target}}, "dispatch": {"default_route": "chat"}}


async def stream(client: httpx.AsyncClient, i: int) -> tuple[str, str]:
    body = {"model": "auto", "stream": True, "messages": [{"role": "user", "content": f"hello {i}"}]}
    text, rid = "", ""
    async with client.stream("POST", "/v1/chat/completions", json=body) as r:
        assert r.status_code == 200
        rid = r.headers["x-request-id"]
        async for line in r.aiter_lines():
            if line.startswith("data: {"):
                event = json.loads(line[6:])
                assert "error" not in event, event
                text += "".join(c["delta"].get("content") or "" for c in event["choices"])
    return rid, text


async def run(url: str, cfg: Path, data_dir: Path) -> list[tuple[str, str]]:
    # The admin key is the gateway's only key, so every request carries it.
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=httpx.Limits(max_connections=300),
                                 headers={"authorization": "Bearer admin-secret"}) as client:
        tasks = []
        for i in range(200):  # started over about two seconds, each streaming for about one
            tasks.append(asyncio.create_task(stream(client, i)))
            await asyncio.sleep(0.01)
            if i == 100:  # halfway: the route moves to the other model
                cfg.write_text(yaml.safe_dump(config(data_dir, "large")))
                r = await client.post("/admin/reload")
                assert r.status_code == 200 and r.json()["changed"], r.text
        return await asyncio.gather(*tasks)


def test_a_reload_under_200_streams_loses_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "plusn.yaml"
    cfg.write_text(yaml.safe_dump(config(tmp_path / "data", "small")))
    monkeypatch.setenv("PLUSN_ADMIN_KEY", "admin-secret")
    with plusn_serve(cfg, tmp_path) as (url, _, _proc):
        results = asyncio.run(run(url, cfg, tmp_path / "data"))
    assert len(results) == 200 and all(text.split()[0] in ("small", "large") for _, text in results)
    conn = connect(load_settings(cfg).state_db())
    try:
        rows = {r["id"]: dict(r) for r in conn.execute(
            "SELECT id, policy, served_models, status FROM ledger WHERE endpoint = '/v1/chat/completions'")}
    finally:
        conn.close()
    assert len(rows) == 200 and all(r["status"] == 200 for r in rows.values())
    served: dict[str, set[str]] = {}
    for rid, text in results:  # one policy version, one model, per request
        served.setdefault(rows[rid]["policy"], set()).add(text.split()[0])
        assert json.loads(rows[rid]["served_models"]) == [text.split()[0]]
    assert len(served) == 2 and all(len(models) == 1 for models in served.values())

