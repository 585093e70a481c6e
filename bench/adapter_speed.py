"""Decoding speed of a tuned model against its base, in the same run: the adapter applied at
run time, and the adapter merged into a copy of the base (`plusn tune merge`).

    python bench/adapter_speed.py [--config examples/vertical/plusn.yaml] [--prompts 20] [--tokens 64]
                                  [--models smollm2-135m-instruct smollm2-entity smollm2-entity-merged]

The models are loaded as `plusn serve` loads them (the config of the vertical example). A tuned
model answers the example's task in a word or two and stops, so timing what each model chooses
to write would compare a few tokens with many. Instead every model is fed the same tokens: each
held-out abstract, then the base model's own greedy continuation of it (``--tokens`` long),
one token per step, as decoding does. A model's figure is tokens per second over those steps
(the median over prompts); models alternate prompt by prompt, so that they meet the same
machine load. The bar for a tuned model is at least 0.90 of the base's rate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from pathlib import Path
from typing import Any

from plusn.assemble import deployed
from plusn.load_config import load_settings

ROOT = Path(__file__).parents[1]


def decode_rate(llm: Any, prompt: list[int], continuation: list[int]) -> float:
    """Tokens per second feeding ``continuation`` one token at a time after ``prompt``."""
    llm.reset()
    llm.eval(prompt)
    t0 = time.perf_counter()
    for tok in continuation:
        llm.eval([tok])
    return len(continuation) / (time.perf_counter() - t0)


async def measure(config: Path, models: list[str], n_prompts: int, n_tokens: int) -> dict[str, Any]:
    tasks = [json.loads(line) for line in (ROOT / "examples" / "vertical" / "tasks.jsonl").read_text().splitlines()]
    async with deployed(load_settings(config, environ={})) as dep:
        llms = {}
        for name in models:
            member = dep.fleet.members[name]
            await member.start()
            llms[name] = member._llm  # the llama.cpp model exactly as served
        base = llms[models[0]]
        rates: dict[str, list[float]] = {m: [] for m in models}
        for i, task in enumerate(tasks[:n_prompts]):
            prompt = base.tokenize(task["prompt"].encode())
            continuation = []
            for tok in base.generate(prompt, temp=0.0):  # the base's greedy continuation, EOS or not
                if len(continuation) == n_tokens:
                    break
                continuation.append(tok)
            order = models if i % 2 == 0 else list(reversed(models))
            for name in order:
                rates[name].append(decode_rate(llms[name], prompt, continuation))
    medians = {m: statistics.median(r) for m, r in rates.items()}
    return {"prompts": n_prompts, "tokens": n_tokens,
            "tokens_per_s": {m: round(v, 1) for m, v in medians.items()},
            "ratio_to_base": {m: round(v / medians[models[0]], 3) for m, v in medians.items() if m != models[0]}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", type=Path, default=ROOT / "examples" / "vertical" / "plusn.yaml")
    ap.add_argument("--models", nargs="+", default=["smollm2-135m-instruct", "smollm2-entity", "smollm2-entity-merged"],
                    help="the base first, then the tuned models")
    ap.add_argument("--prompts", type=int, default=20)
    ap.add_argument("--tokens", type=int, default=64)
    args = ap.parse_args()
    print(json.dumps(asyncio.run(measure(args.config, args.models, args.prompts, args.tokens)), indent=2))


if __name__ == "__main__":
    main()
