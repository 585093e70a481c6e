"""Load: N concurrent streaming clients through `plusn serve` against a fast upstream.

    python bench/load.py [--clients 1000] [--tokens 16] [--json PATH]

Starts bench/upstream.py and `plusn serve` (an OpenAI-compatible model pointing at it) as real
processes on loopback, opens N streaming chat requests at once, and checks the two things that
matter: every stream ends cleanly (``[DONE]``, no error event, status 200), and after a clean
shutdown the ledger holds exactly one row per request sent. It prints the wall time,
requests/s and the client-side latency percentiles (first byte and whole stream).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).parents[1]


def start(cmd: list[str], cwd: Path, pattern: str = r"(http://\S+)") -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=cwd,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert proc.stdout is not None
    deadline = time.monotonic() + 120
    seen = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        m = re.search(pattern, line)
        if m:
            threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()  # type: ignore[union-attr]
            return proc, m.group(1)
    proc.kill()
    raise SystemExit("did not start:\n" + "".join(seen))


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


async def one(client: httpx.AsyncClient, i: int, tokens: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    first = None
    body = {"model": "upstream", "stream": True, "max_tokens": tokens,
            "messages": [{"role": "user", "content": f"request {i}"}]}
    try:
        async with client.stream("POST", "/v1/chat/completions", json=body) as r:
            done, error = False, None
            async for line in r.aiter_lines():
                if not line.startswith("data: "):
                    continue
                if first is None:
                    first = time.perf_counter() - t0
                if line == "data: [DONE]":
                    done = True
                elif '"error"' in line:
                    error = line[:200]
            return {"ok": r.status_code == 200 and done and error is None, "status": r.status_code,
                    "error": error, "first": first, "total": time.perf_counter() - t0}
    except httpx.HTTPError as exc:
        return {"ok": False, "status": None, "error": repr(exc), "first": None, "total": time.perf_counter() - t0}


async def drive(url: str, clients: int, tokens: int) -> tuple[list[dict[str, Any]], float]:
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120) as client:
        t0 = time.perf_counter()
        results = await asyncio.gather(*(one(client, i, tokens) for i in range(clients)))
        return list(results), time.perf_counter() - t0


def run(clients: int, tokens: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        up, up_url = start([sys.executable, str(ROOT / "bench" / "upstream.py"), "--tokens", str(tokens)], tmpdir)
        cfg = tmpdir / "plusn.yaml"
        cfg.write_text(yaml.safe_dump({
            "data_dir": str(tmpdir / "data"),
            "models": {"upstream": {"type": "openai", "base_url": up_url + "/v1", "upstream_model": "fast",
                                    "max_concurrency": clients, "max_queue": clients,
                                    "max_connections": clients, "price": {"input_per_1k": 1, "output_per_1k": 1}}},
            "safety": {"input": "allow", "output": "allow", "second_stage_model": None},
            "skills": {"builtin": False},
        }))
        gw, gw_url = start([sys.executable, "-m", "plusn.cli", "serve", "--config", str(cfg), "--port", "0"], tmpdir,
                           r"listening on (http://\S+)")
        try:
            results, wall = asyncio.run(drive(gw_url, clients, tokens))
        finally:
            gw.terminate()  # a clean shutdown drains the ledger writer
            gw.wait(timeout=60)
            up.terminate()
            up.wait(timeout=10)
        rows = sqlite3.connect(tmpdir / "data" / "plusn.db").execute("SELECT COUNT(*), SUM(status = 200) FROM ledger"
                                                                     ).fetchone()
    ok = [r for r in results if r["ok"]]
    errors = [r for r in results if not r["ok"]]
    return {
        "clients": clients, "tokens": tokens, "ok": len(ok), "errors": len(errors),
        "error_samples": [r["error"] or r["status"] for r in errors[:3]],
        "ledger_rows": rows[0], "ledger_rows_200": rows[1] or 0,
        "wall_s": round(wall, 3), "rps": round(clients / wall, 1),
        "first_byte_ms_p50": round(1000 * pct([r["first"] for r in ok if r["first"]], 0.5), 1),
        "first_byte_ms_p99": round(1000 * pct([r["first"] for r in ok if r["first"]], 0.99), 1),
        "stream_ms_p50": round(1000 * statistics.median([r["total"] for r in ok]), 1) if ok else None,
        "stream_ms_p99": round(1000 * pct([r["total"] for r in ok], 0.99), 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument("--tokens", type=int, default=16)
    ap.add_argument("--json", dest="json_path", default=None)
    args = ap.parse_args()
    res = run(args.clients, args.tokens)
    print(json.dumps(res, indent=2))
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(res, indent=2))
    if res["errors"] or res["ledger_rows"] != args.clients:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
