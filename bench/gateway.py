"""Gateway speed: the same upstream called directly, through plusn, and through LiteLLM's proxy.

    python bench/gateway.py [--requests 400] [--concurrency 32] [--litellm] [--capture] [--json PATH]

All on loopback, in one run: bench/upstream.py (a fast OpenAI-compatible server in its own
process) is called

- directly (the anchor),
- through `plusn serve`,
- through LiteLLM's proxy (with --litellm; installed into its own virtual environment under
  ~/.cache/plusn/bench-litellm on first use, so it never touches plusn's).

With --capture, two more gateways serve ``model="auto"`` through one route: one that keeps its
traffic for learning (capture on) and one that does not, to show what capturing adds.

With --otel, one more gateway exports a trace of every request over OTLP/HTTP to a receiver in
this process (tests/otlp_receiver.py), to show what tracing adds when it is on (the plain
gateway has no endpoint set: tracing off).

Added latency: sequential non-streamed requests, each path's latency minus the direct median,
p50 and p99. Throughput: requests/s at a fixed concurrency. Paths alternate in rounds so drift on
the machine hits them alike.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import yaml

sys.path.insert(0, str(Path(__file__).parent))
from load import start

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from otlp_receiver import Receiver  # beside the tests, which use it too

ROOT = Path(__file__).parents[1]
LITELLM_VENV = Path.home() / ".cache" / "plusn" / "bench-litellm"
BODY = {"model": "fast", "messages": [{"role": "user", "content": "hello"}], "max_tokens": 16}


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


async def sequential(url: str, model: str, n: int, headers: dict[str, str]) -> list[float]:
    # aiohttp on the client side too: the client shares the CPU with what it measures, and a
    # cheaper client leaves more of it to the paths under test (all three alike).
    out = []
    data = json.dumps({**BODY, "model": model})
    hdrs = {"content-type": "application/json", **headers}
    async with aiohttp.ClientSession(url) as c:
        for _ in range(5):  # warm the connection
            async with c.post("/v1/chat/completions", data=data, headers=hdrs) as r:
                await r.read()
        for _ in range(n):
            t0 = time.perf_counter()
            async with c.post("/v1/chat/completions", data=data, headers=hdrs) as r:
                await r.read()
                r.raise_for_status()
            out.append((time.perf_counter() - t0) * 1000)
    return out


async def throughput(url: str, model: str, n: int, concurrency: int, headers: dict[str, str]) -> float:
    data = json.dumps({**BODY, "model": model})
    hdrs = {"content-type": "application/json", **headers}
    async with aiohttp.ClientSession(url, connector=aiohttp.TCPConnector(limit=concurrency)) as c:
        gate = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with gate, c.post("/v1/chat/completions", data=data, headers=hdrs) as r:
                await r.read()
                r.raise_for_status()

        t0 = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(n)))
        return n / (time.perf_counter() - t0)


def litellm_python() -> Path:
    py = LITELLM_VENV / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(LITELLM_VENV)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "--quiet", "litellm[proxy]"], check=True)
    return py


def gateway(tmpdir: Path, name: str, up_url: str, capture: bool | None,
            otlp: str | None = None) -> tuple[subprocess.Popen[str], str]:
    """A `plusn serve` over the upstream; with ``capture`` set, ``auto`` serves one route that
    keeps (True) or does not keep (False) its traffic for learning."""
    data: dict[str, Any] = {
        "data_dir": str(tmpdir / f"data-{name}"),
        "models": {"fast": {"type": "openai", "base_url": up_url + "/v1", "max_concurrency": 1024,
                            "max_queue": 4096, "max_connections": 256,
                            "price": {"input_per_1k": 1, "output_per_1k": 1}}},
        "safety": {"input": "allow", "output": "allow", "second_stage_model": None},
        "skills": {"builtin": False},
    }
    if otlp is not None:
        data["telemetry"] = {"otlp_endpoint": otlp}
    if capture is not None:
        data["routes"] = {"all": {"model": "fast", "learning": {"capture": capture}}}
        data["dispatch"] = {"default_route": "all"}
        data["learning"] = {"capture_keyless": True}  # no keys here: the open gateway opts in
    cfg = tmpdir / f"plusn-{name}.yaml"
    cfg.write_text(yaml.safe_dump(data))
    return start([sys.executable, "-m", "plusn.cli", "serve", "--config", str(cfg), "--port", "0"],
                 tmpdir, r"listening on (http://\S+)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--litellm", action="store_true", help="also measure LiteLLM's proxy")
    ap.add_argument("--capture", action="store_true", help="also compare a route with capture on and off")
    ap.add_argument("--otel", action="store_true", help="also a gateway that exports traces over OTLP")
    ap.add_argument("--json", dest="json_path", default=None)
    args = ap.parse_args()
    procs: list[subprocess.Popen[str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        try:
            up, up_url = start([sys.executable, str(ROOT / "bench" / "upstream.py")], tmpdir)
            procs.append(up)
            gw, gw_url = gateway(tmpdir, "plain", up_url, None)
            procs.append(gw)
            paths: dict[str, tuple[str, str, dict[str, str]]] = {"direct": (up_url, "fast", {}),
                                                                  "plusn": (gw_url, "fast", {})}
            if args.otel:
                receiver = Receiver().__enter__()
                proc, url = gateway(tmpdir, "otel", up_url, None, receiver.url)
                procs.append(proc)
                paths["plusn+otel"] = (url, "fast", {})
            if args.capture:
                for name, capture in (("auto", False), ("auto+capture", True)):
                    proc, url = gateway(tmpdir, name, up_url, capture)
                    procs.append(proc)
                    paths[name] = (url, "auto", {})
            if args.litellm:
                lcfg = tmpdir / "litellm.yaml"
                master = "sk-bench-" + os.urandom(16).hex()  # LiteLLM refuses to start without one
                lcfg.write_text(yaml.safe_dump({
                    "model_list": [{"model_name": "fast", "litellm_params": {
                        "model": "openai/fast", "api_base": up_url + "/v1", "api_key": "none"}}],
                    "general_settings": {"master_key": master}}))
                port = 41000 + os.getpid() % 1000
                ll, _ = start([str(litellm_python()), "-m", "litellm.proxy.proxy_cli", "--config", str(lcfg), "--port",
                               str(port), "--host", "127.0.0.1", "--num_workers", "1"], tmpdir,
                              r"(Uvicorn running on http://\S+|Application startup complete)")
                procs.append(ll)
                paths["litellm"] = (f"http://127.0.0.1:{port}", "fast", {"authorization": f"Bearer {master}"})
            lat: dict[str, list[float]] = {k: [] for k in paths}
            rps: dict[str, list[float]] = {k: [] for k in paths}
            per = max(1, args.requests // args.rounds)
            rounds: dict[str, list[float]] = {k: [] for k in paths}  # each round's p50
            for _ in range(args.rounds):
                for name, (url, model, headers) in paths.items():
                    got = asyncio.run(sequential(url, model, per, headers))
                    lat[name] += got
                    rounds[name].append(statistics.median(got))
                    rps[name].append(asyncio.run(throughput(url, model, per, args.concurrency, headers)))
        finally:
            for p in procs:
                p.terminate()
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
    base = statistics.median(lat["direct"])
    res: dict[str, Any] = {"requests": args.requests, "concurrency": args.concurrency,
                           "direct": {"rps": round(statistics.median(rps["direct"]), 1),
                                      "ms_p50": round(base, 3), "ms_p99": round(pct(lat["direct"], 0.99), 3)}}
    for name in paths:
        if name == "direct":
            continue
        res[name] = {"rps": round(statistics.median(rps[name]), 1),
                     "added_ms_p50": round(statistics.median(lat[name]) - base, 3),
                     "added_ms_p99": round(pct(lat[name], 0.99) - pct(lat["direct"], 0.99), 3)}
    if "auto+capture" in res:  # the median over rounds of what capture adds to a round's p50
        diffs = [c - a for c, a in zip(rounds["auto+capture"], rounds["auto"], strict=True)]
        res["capture_added_ms_p50"] = round(statistics.median(diffs), 3)
        res["capture_rounds_ms"] = [round(d, 3) for d in diffs]
    if "plusn+otel" in res:
        res["otel_added_ms_p50"] = round(res["plusn+otel"]["added_ms_p50"] - res["plusn"]["added_ms_p50"], 3)
    if "litellm" in res:
        res["ratio_rps_vs_litellm"] = round(res["plusn"]["rps"] / res["litellm"]["rps"], 2)
    print(json.dumps(res, indent=2))
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
