"""The learning loop end to end, through a real `plusn serve` and the official openai client:
serve on the largest model while capturing and comparing, export, fit, reload, and serve the
fitted policy for half the cost.

The fleet is scripted so that each model's correctness per prompt is known: the small model is
right on additions only, the mid one on additions and products, the large one always. The fit
is handed nothing the gateway could not know: the served answer's correctness comes from
feedback sent as a user would send it, the others' from agreement with it.
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import yaml
from conftest import plusn_serve

from plusn.database import connect
from plusn.gateway.auth import KeyStore
from plusn.load_config import load_settings

RIGHT = "The result is {last_user}"  # the prompt's last number is its answer
KINDS = {"total": "small", "product": "mid", "integral": "large"}  # the smallest model right on each


def scripted(right_on: str, price: float) -> dict[str, Any]:
    return {"type": "scripted", "replies": ["I am not sure, perhaps 0."], "rules": [{"match": right_on, "reply": RIGHT}],
            "price": {"input_per_1k": price, "output_per_1k": price}}


def config(data_dir: Path) -> dict[str, Any]:
    return {
        "data_dir": str(data_dir), "skills": {"builtin": False}, "safety": {"output": "allow"},
        "models": {"small": scripted("total", 0.1), "mid": scripted("total|product", 0.3),
                   "large": scripted(".", 1.0)},
        "routes": {"maths": {"model": "large", "learning": {
            "capture": True, "shadow": {"share": 0.5, "models": ["small", "mid"]}}}},
        "dispatch": {"default_route": "maths"},
    }


def prompts(n: int, rng: random.Random) -> list[tuple[str, str]]:
    out = []
    for i in range(n):
        kind = rng.choices(list(KINDS), weights=[3, 1, 1])[0]
        a, b = rng.randint(11, 99), rng.randint(11, 99)
        out.append((f"Question {i}: find the {kind} of {a} and {b}. Answer: {a * b + i + 1000}", str(a * b + i + 1000)))
    return out


def last_number(text: str) -> str | None:
    found = re.findall(r"\d+", text)
    return found[-1] if found else None


def serve_all(client: openai.OpenAI, url: str, key: str, asked: list[tuple[str, str]], feedback: bool
              ) -> tuple[float, float]:
    """Accuracy and total cost over ``asked``; with ``feedback``, the user rates every answer."""
    right, cost = 0, 0.0
    for prompt, answer in asked:
        r = client.chat.completions.create(model="auto", messages=[{"role": "user", "content": prompt}])
        block = r.model_extra["plusn"]  # type: ignore[index]
        ok = last_number(r.choices[0].message.content or "") == answer
        right += ok
        cost += block["cost"]
        if feedback:
            fb = httpx.post(f"{url}/v1/feedback", json={"request_id": block["request_id"], "label": "good" if ok else "bad",
                                                       "correct": ok}, headers={"authorization": f"Bearer {key}"})
            assert fb.status_code == 200, fb.text
    return right / len(asked), cost


def count(db: Any, sql: str) -> int:
    conn = connect(db)
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


def plusn(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "plusn.cli", *args], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_traffic_becomes_a_cheaper_route_of_the_same_quality(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "plusn.yaml"
    cfg.write_text(yaml.safe_dump(config(tmp_path / "data")))
    monkeypatch.setenv("PLUSN_ADMIN_KEY", "admin-secret")
    db = load_settings(cfg).state_db()
    store = KeyStore(db)
    key = store.create("analyst", capture=True)
    store.close()
    rng = random.Random(7)
    with plusn_serve(cfg, tmp_path) as (url, _, _proc):
        client = openai.OpenAI(base_url=url + "/v1", api_key=key)
        before_accuracy, before_cost = serve_all(client, url, key, prompts(300, rng), feedback=True)
        # Shadow calls run after each response: wait until they have all been booked.
        deadline, last = time.time() + 60, -1
        while time.time() < deadline:
            shadows = count(db, "SELECT COUNT(*) FROM ledger WHERE shadow = 1")
            if shadows == last:
                break
            last = shadows
            time.sleep(1.0)
        out = plusn("routes", "fit", "--from-ledger", "maths", "--config", str(cfg), "--no-embedding",
                    "--budget", "0.45", "--name", "fitted", "--out", str(tmp_path / "fitted.yaml"))
        print(out)  # the figures docs/learning.md shows (pytest -s)
        assert "now serving 'maths': large: accuracy 1.0000" in out
        fitted = config(tmp_path / "data")
        del fitted["dispatch"]
        cfg.write_text(yaml.safe_dump({**fitted, "include": ["fitted.yaml"]}))
        assert "(changed, serving)" in plusn("routes", "reload", "--config", str(cfg), "--url", url)
        after_accuracy, after_cost = serve_all(client, url, key, prompts(200, rng), feedback=False)
        listed = plusn("routes", "versions", "--config", str(cfg), "--url", url).splitlines()
        assert "serving" in listed[0] and "fitted on: fitted.outcomes.jsonl" in listed[0] and "retired" in listed[1]
        assert "rolled back to" in plusn("routes", "rollback", "--config", str(cfg), "--url", url)
        assert serve_all(client, url, key, prompts(5, rng), feedback=False)[1] == pytest.approx(5 * before_cost / 300,
                                                                                                 rel=0.2)
    print(f"before: accuracy {before_accuracy:.3f}, cost per request {before_cost / 300:.6f}; "
          f"after: accuracy {after_accuracy:.3f}, cost per request {after_cost / 200:.6f}")
    assert before_accuracy == 1.0
    assert after_accuracy >= before_accuracy - 0.01
    assert after_cost / 200 <= 0.5 * before_cost / 300, (after_cost / 200, before_cost / 300)
    # One client row per client request (505 chats, 300 feedbacks), one row per shadow call.
    assert count(db, "SELECT COUNT(*) FROM ledger WHERE shadow = 0 AND endpoint = '/v1/chat/completions'") == 505
    assert count(db, "SELECT COUNT(*) FROM ledger WHERE shadow = 0 AND endpoint = '/v1/feedback'") == 300
    assert count(db, "SELECT COUNT(*) FROM ledger WHERE shadow = 1") == count(
        db, "SELECT COUNT(*) FROM captures WHERE shadow = 1") >= last > 0  # (the rollback's requests shadow too)
    assert count(db, "SELECT COUNT(DISTINCT policy) FROM ledger WHERE endpoint = '/v1/chat/completions'") == 2
    assert os.path.exists(tmp_path / "fitted.outcomes.jsonl")  # the data the policy was fitted on
