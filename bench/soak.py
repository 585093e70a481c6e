"""Soak: steady traffic through `plusn serve` for minutes, watching the gateway's memory.

    python bench/soak.py [--seconds 600] [--warmup 60] [--concurrency 16] [--json PATH]

Starts bench/upstream.py and `plusn serve` as real processes on loopback and keeps
``--concurrency`` clients busy with a mix of streamed and plain chat requests (a few of them
failing upstream, a few cut off by the client) for ``--seconds``. The gateway's resident memory
(RSS, from /proc) is sampled every few seconds; the figure is its growth from the end of the
warm-up to the end of the run (the bar: under 5%). At the end every request must have its
ledger row.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import yaml

sys.path.insert(0, str(Path(__file__).parent))
from load import start

ROOT = Path(__file__).parents[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def drive(url: str, seconds: float, warmup: float, concurrency: int, pid: int) -> dict[str, Any]:
    rng = random.Random(0)
    sent = errors = 0
    samples: list[tuple[float, float]] = []
    t0 = time.monotonic()
    stop = t0 + seconds

    async def client(c: aiohttp.ClientSession) -> None:
        nonlocal sent, errors
        while time.monotonic() < stop:
            r = rng.random()
            model = "bad" if r < 0.05 else "fast"
            body = {"model": model, "stream": r > 0.5, "max_tokens": 16,
                    "messages": [{"role": "user", "content": f"message {rng.randrange(10**6)}"}]}
            sent += 1
            try:
                async with c.post("/v1/chat/completions", json=body) as resp:
                    if r > 0.97:  # a client that hangs up early
                        await resp.content.read(10)
                        resp.close()
                        continue
                    await resp.read()
                    if resp.status != 200 and model == "fast":
                        errors += 1
            except aiohttp.ClientError:
                errors += 1

    backlog: list[float] = []

    async def sampler(c: aiohttp.ClientSession) -> None:
        while time.monotonic() < stop:
            samples.append((time.monotonic() - t0, rss_mb(pid)))
            # the ledger writer must keep up: its queue is where the memory went when it did not
            async with c.get("/metrics") as m:
                for line in (await m.text()).splitlines():
                    if line.startswith("plusn_ledger_backlog "):
                        backlog.append(float(line.split()[1]))
            await asyncio.sleep(min(5.0, max(0.5, seconds / 60)))

    async with aiohttp.ClientSession(url, connector=aiohttp.TCPConnector(limit=concurrency)) as c:
        await asyncio.gather(sampler(c), *(client(c) for _ in range(concurrency)))
    after_warmup = [m for t, m in samples if t >= warmup] or [m for _, m in samples]
    base, end = after_warmup[0], sum(m for _, m in samples[-3:]) / len(samples[-3:])
    return {"seconds": seconds, "warmup_s": warmup, "requests": sent, "errors": errors,
            "rss_mb_after_warmup": round(base, 1), "rss_mb_end": round(end, 1),
            "rss_growth_pct": round(100 * (end - base) / base, 2), "rss_samples": len(samples),
            "ledger_backlog_max": max(backlog, default=0.0)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=600)
    ap.add_argument("--warmup", type=float, default=60)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--input-policy", choices=["flag", "block", "allow"], default="flag",
                    help="safety.input: the attack detector runs on every request unless allow")
    ap.add_argument("--json", dest="json_path", default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        up, up_url = start([sys.executable, str(ROOT / "bench" / "upstream.py")], tmpdir)
        cfg = tmpdir / "plusn.yaml"
        cfg.write_text(yaml.safe_dump({
            "data_dir": str(tmpdir / "data"),
            "models": {"fast": {"type": "openai", "base_url": up_url + "/v1", "max_concurrency": 256},
                       "bad": {"type": "openai", "base_url": up_url + "/v1", "upstream_model": "fail-500",
                               "retries": 0, "circuit_breaker": False}},
            "safety": {"second_stage_model": None, "input": args.input_policy},
            "skills": {"builtin": False},
        }))
        gw, gw_url = start([sys.executable, "-m", "plusn.cli", "serve", "--config", str(cfg), "--port", "0"],
                           tmpdir, r"listening on (http://\S+)")
        try:
            res = asyncio.run(drive(gw_url, args.seconds, args.warmup, args.concurrency, gw.pid))
        finally:
            gw.terminate()
            gw.wait(timeout=60)
            up.terminate()
            up.wait(timeout=10)
        res["ledger_rows"] = sqlite3.connect(tmpdir / "data" / "plusn.db").execute(
            "SELECT COUNT(*) FROM ledger").fetchone()[0]
    print(json.dumps(res, indent=2))
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(res, indent=2))
    if res["errors"] or res["ledger_rows"] != res["requests"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
