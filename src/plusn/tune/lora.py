"""LoRA fine-tuning on CPU: PEFT + transformers on PyTorch, from the GGUF base plusn serves.

transformers reads the GGUF file and dequantises it to float32: the weights trained against are
exactly the quantised weights llama.cpp computes with, so the adapter fits the model it will
be served on. The loop is plain PyTorch rather than a Trainer, because it must stop after a
time budget, save, and resume exactly where it stopped (optimizer, step and data order), and
report a validation loss curve. Only the last assistant message of each example is learned.

Everything here needs the ``tune`` extra (torch, transformers, peft, gguf), which lives in a
virtual environment of its own (``make test-tune``); nothing is imported until a command runs.
"""

from __future__ import annotations

import json
import math
import os
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .. import jsonl
from ..errors import ConfigError, MissingDependency

TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


@dataclass
class Knobs:
    rank: int = 16
    alpha: float = 32.0
    epochs: float = 1.0
    lr: float = 5e-4
    batch: int = 8
    max_len: int = 256
    eval_every: int = 25
    threads: int | None = None
    seed: int = 0
    max_minutes: float | None = None


def base_file(base: str, config_path: str | None) -> Path:
    """A GGUF file from a path, ``pkg:...`` or the name of a ``llamacpp`` model of the config."""
    from ..fleet.llamacpp import resolve_model_path
    from ..load_config import load_settings

    if base.startswith(("pkg:", "assemble:")) or Path(os.path.expanduser(base)).is_file():
        # a file needs no config (nor the extras the default fleet's other models need)
        return resolve_model_path(base, Path(".plusn") / "models")
    settings = load_settings(config_path)
    spec = base
    member = settings.models.get(base)
    if member is not None:
        if member.type != "llamacpp" or not member.options.get("path"):
            raise ConfigError(f"model {base!r} is not a llamacpp model with a GGUF path", file=settings.source,
                              key=f"models.{base}.path")
        spec = member.options["path"]
    return resolve_model_path(spec, settings.models_path())


def need() -> None:
    missing = [m for m in ("torch", "transformers", "peft", "gguf") if not _importable(m)]
    if missing:
        raise MissingDependency(f"plusn tune lora needs {', '.join(missing)}: install the 'tune' extra in a virtual "
                                "environment of its own (make test-tune builds one: .venv-tune)")


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def load_base(base: Path) -> tuple[Any, Any]:
    """(model, tokenizer) from a GGUF file, dequantised to float32; nothing is fetched."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(str(base.parent), gguf_file=base.name)
        model = AutoModelForCausalLM.from_pretrained(str(base.parent), gguf_file=base.name)
    except (ValueError, OSError, KeyError) as exc:
        raise ConfigError(f"transformers cannot read {base}: {exc}") from exc
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    return model, tok


def encode(tok: Any, messages: list[dict[str, Any]], max_len: int) -> tuple[list[int], list[int]]:
    """(input ids, labels): the loss is on the final assistant message (and its end token) only."""
    prompt = tok.apply_chat_template(messages[:-1], add_generation_prompt=True, tokenize=True)
    full = tok.apply_chat_template(messages, tokenize=True)
    prompt, full = list(_ids(prompt)), list(_ids(full))
    if full[: len(prompt)] != prompt:  # a template that rewrites earlier turns: learn the whole answer span
        prompt = full[: len(prompt)]
    labels = [-100] * len(prompt) + full[len(prompt):]
    if len(full) > max_len:  # keep the answer; cut the oldest context
        full, labels = full[-max_len:], labels[-max_len:]
    return full, labels


def _ids(x: Any) -> list[int]:
    return list(x["input_ids"] if isinstance(x, dict) or hasattr(x, "keys") else x)


def read_set(path: Path, tok: Any, max_len: int) -> list[tuple[list[int], list[int]]]:
    rows = []
    for n, row in jsonl.numbered(path, "training data"):
        msgs = row.get("messages") if isinstance(row, dict) else None
        if not isinstance(msgs, list) or not msgs or msgs[-1].get("role") != "assistant":
            raise ConfigError(f"{path}:{n}: expected {{\"messages\": [...]}} ending with the assistant's answer")
        rows.append(encode(tok, [{"role": m["role"], "content": m["content"]} for m in msgs], max_len))
    if not rows:
        raise ConfigError(f"{path}: no examples")
    return rows


def batches(rows: list[Any], size: int, seed: int, epoch: int) -> list[list[int]]:
    """Indices per batch for one epoch: shuffled by (seed, epoch), so a resumed run sees the same order."""
    order = list(range(len(rows)))
    random.Random(seed * 1000 + epoch).shuffle(order)
    return [order[i:i + size] for i in range(0, len(order), size)]


def collate(torch: Any, rows: list[tuple[list[int], list[int]]], pad: int) -> dict[str, Any]:
    width = max(len(ids) for ids, _ in rows)
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    labels = torch.full((len(rows), width), -100, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, (x, y) in enumerate(rows):
        ids[i, : len(x)] = torch.tensor(x)
        labels[i, : len(y)] = torch.tensor(y)
        mask[i, : len(x)] = 1
    return {"input_ids": ids, "labels": labels, "attention_mask": mask}


def val_loss(torch: Any, model: Any, rows: list[Any], size: int, pad: int) -> float:
    """Mean loss per answer token over the validation set."""
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(rows), size):
            b = collate(torch, rows[i:i + size], pad)
            n = int((b["labels"][:, 1:] != -100).sum())
            total += float(model(**b).loss) * n
            count += n
    model.train()
    return total / max(1, count)


def plot(history: dict[str, Any], path: Path) -> None:
    """The training and validation loss against the step, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=100)
    if history["train"]:
        s, v = zip(*history["train"], strict=True)
        ax.plot(s, v, color="#9aa5b1", linewidth=1, label="train (batch)")
    if history["validation"]:
        s, v = zip(*history["validation"], strict=True)
        ax.plot(s, v, color="#1f6feb", marker="o", markersize=3, label="validation")
    ax.set_xlabel("step")
    ax.set_ylabel("loss per answer token")
    ax.set_title("LoRA fine-tuning")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def schedule(step: int, total: int, warmup: int) -> float:
    """Linear warm-up, then cosine decay to a tenth of the learning rate."""
    if step < warmup:
        return (step + 1) / warmup
    t = (step - warmup) / max(1, total - warmup)
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, t)))


def save_meta(out: Path, knobs: Knobs, base: Path, extra: dict[str, Any]) -> None:
    (out / "training.json").write_text(json.dumps({"base": str(base), "knobs": asdict(knobs), **extra}, indent=2),
                                       encoding="utf-8")


def now() -> float:
    return time.monotonic()
