"""The configuration examples in the docs are real: each YAML block loads."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from plusn.config import load_settings

ROOT = Path(__file__).parents[2]
DOCS = [ROOT / "README.md", ROOT / "README.zh-CN.md", *sorted((ROOT / "docs").glob("*.md"))]


def blocks(lang: str) -> list[tuple[str, str]]:
    out = []
    for doc in DOCS:
        for i, m in enumerate(re.finditer(rf"```{lang}\n(.*?)```", doc.read_text(encoding="utf-8"), re.S)):
            out.append((f"{doc.name}#{i}", m.group(1)))
    return out


@pytest.mark.parametrize(("where", "text"), blocks("yaml"), ids=[w for w, _ in blocks("yaml")])
def test_yaml_examples_are_valid_configs(where: str, text: str, tmp_path: Path) -> None:
    path = tmp_path / "example.yaml"
    path.write_text(text, encoding="utf-8")
    for rel in re.findall(r"outcomes: (\S+)", text):  # a router's recorded outcomes, two models
        header = {"header": True, "models": {"Qwen2-7B-Instruct": {"params_b": 7}, "Qwen2-72B-Instruct": {"params_b": 72}}}
        row = {"id": "1", "prompt": "1+1?", "outcomes": {m: {"correct": True, "answer": "2", "output_tokens": 3}
                                                         for m in header["models"]}}
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("\n".join(json.dumps(x) for x in (header, row)) + "\n")
    settings = load_settings(path, environ={})
    assert settings.models, f"{where} configures no models"
