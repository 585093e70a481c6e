"""An SFT data set from examples: redacted, de-duplicated, split, written with its manifest.

The output is the common chat JSONL format (one ``{"messages": [...]}`` per line) that PEFT,
TRL, LLaMA-Factory and most trainers read, beside a ``manifest.json`` saying where every
example came from and what was done to it. The split is by a hash of the prompt, so rebuilding
the set with more data never moves an old example from train to validation (which would leak
what was trained on into what is measured).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..safety.redact import redact
from .sources import Example


@dataclass
class Built:
    train: list[Example]
    validation: list[Example]
    duplicates: int = 0
    redacted: Counter[str] = field(default_factory=Counter)
    sources: Counter[str] = field(default_factory=Counter)


def redacted(ex: Example, found: Counter[str]) -> Example:
    """The example with PII and secrets replaced by their kind, as everywhere else in plusn."""
    msgs = []
    for m in ex.messages:
        text, findings = redact(m["content"])
        found.update(f.kind for f in findings)
        msgs.append({"role": m["role"], "content": text})
    return Example(msgs, ex.source, ex.meta)


def in_validation(key: str, share: float, seed: int) -> bool:
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def build(examples: list[Example], *, validation: float = 0.1, seed: int = 0) -> Built:
    """Redact, drop repeated prompts (the first one stays), and split."""
    out = Built([], [])
    seen: set[str] = set()
    for ex in examples:
        ex = redacted(ex, out.redacted)
        key = ex.prompt_key()
        if key in seen:
            out.duplicates += 1
            continue
        seen.add(key)
        out.sources[ex.source] += 1
        (out.validation if in_validation(key, validation, seed) else out.train).append(ex)
    return out


def _write(path: Path, rows: list[Example]) -> str:
    text = "".join(json.dumps({"messages": ex.messages, "source": ex.source, "meta": ex.meta},
                              ensure_ascii=False) + "\n" for ex in rows)
    path.write_text(text, encoding="utf-8")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def llamafactory_entry(name: str, file: str) -> dict[str, Any]:
    """LLaMA-Factory's dataset_info.json entry for a chat JSONL file ("sharegpt" with OpenAI roles)."""
    return {name: {
        "file_name": file, "formatting": "sharegpt", "columns": {"messages": "messages"},
        "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user",
                 "assistant_tag": "assistant", "system_tag": "system"},
    }}


def write(built: Built, out: Path, *, validation: float, seed: int, inputs: dict[str, Any],
          llamafactory: str | None = None) -> dict[str, Any]:
    """train.jsonl, validation.jsonl, manifest.json (and dataset_info.json) in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    files = {"train.jsonl": _write(out / "train.jsonl", built.train),
             "validation.jsonl": _write(out / "validation.jsonl", built.validation)}
    manifest: dict[str, Any] = {
        "format": "chat-jsonl (messages)", "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "examples": {"train": len(built.train), "validation": len(built.validation)},
        "sources": dict(built.sources), "inputs": inputs, "duplicates_dropped": built.duplicates,
        "redacted": dict(built.redacted), "split": {"validation": validation, "seed": seed, "by": "sha256 of the prompt"},
        "sha256": files,
    }
    if llamafactory:
        info = {**llamafactory_entry(llamafactory, "train.jsonl"),
                **llamafactory_entry(f"{llamafactory}_validation", "validation.jsonl")}
        (out / "dataset_info.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
        manifest["llamafactory"] = {"dataset_info": "dataset_info.json", "dataset": llamafactory,
                                    "eval_dataset": f"{llamafactory}_validation"}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    return manifest
