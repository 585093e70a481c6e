"""SIGKILL the gateway in the middle of traffic: the state database stays intact and every
request answered before the ledger's flush interval has its row."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
import yaml
from conftest import plusn_serve

ROOT = Path(__file__).parents[2]
pytestmark = pytest.mark.server


def test_sigkill_under_load_loses_no_committed_row(tmp_path: Path) -> None:
    up = subprocess.Popen([sys.executable, str(ROOT / "bench" / "upstream.py")], stdout=subprocess.PIPE, text=True)
    assert up.stdout is not None
    m = re.search(r"(http://\S+)", up.stdout.readline())
    assert m
    cfg = tmp_path / "plusn.yaml"
    cfg.write_text(yaml.safe_dump({
        "data_dir": str(tmp_path / "data"),
        "ledger": {"flush_interval_s": 0.05},
        "models": {"fast": {"type": "openai", "base_url": m.group(1) + "/v1", "max_concurrency": 64}},
        "safety": {"second_stage_model": None},
        "skills": {"builtin": False},
    }), encoding="utf-8")
    answered: list[tuple[float, str]] = []  # (when, request id)
    stop = threading.Event()
    try:
        with plusn_serve(cfg, tmp_path) as (url, _, proc):
            def client() -> None:
                with httpx.Client(base_url=url, timeout=5) as c:
                    while not stop.is_set():
                        try:
                            r = c.post("/v1/chat/completions", json={
                                "model": "fast", "messages": [{"role": "user", "content": "hi"}]})
                        except httpx.HTTPError:
                            return
                        if r.status_code == 200:
                            answered.append((time.monotonic(), r.headers["x-request-id"]))

            threads = [threading.Thread(target=client) for _ in range(8)]
            for t in threads:
                t.start()
            time.sleep(1.5)
            os.kill(proc.pid, signal.SIGKILL)
            killed = time.monotonic()
            stop.set()
            for t in threads:
                t.join(timeout=10)
    finally:
        up.terminate()
        up.wait(timeout=10)
    db = sqlite3.connect(tmp_path / "data" / "plusn.db")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    ids = {row[0] for row in db.execute("SELECT id FROM ledger")}
    settled = [rid for when, rid in answered if when < killed - 0.5]  # ten flush intervals before
    assert len(settled) > 20
    assert not [rid for rid in settled if rid not in ids]
