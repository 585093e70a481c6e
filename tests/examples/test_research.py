"""examples/research through the real gateway: a waterfall of search (real hybrid retrieval with
the real embedder) → analyse → write, ending in a report whose citations name the documents.
The writing model is scripted; retrieval and the workflow are real."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from plusn.gateway.app import create_app
from plusn.load_config import load_settings

EXAMPLE = Path(__file__).parents[2] / "examples" / "research"
SCRIPT = [
    {"match": "列出回答", "reply": "- 小模型每次调用的成本只有大模型的几十分之一 [1]\n- 简单请求交给小模型 [1]"},
    {"match": "研究报告", "reply": "结论：1+N 架构能降低成本 [1]。\n依据：小模型成本低，简单请求不必调用大模型 [1]。"},
]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = load_settings(EXAMPLE / "plusn.yaml", environ={}, overrides={
        "data_dir": str(tmp_path_factory.mktemp("research"))})
    settings.models["assistant"] = settings.models["assistant"].model_validate(
        {"type": "scripted", "rules": SCRIPT, "replies": ["(unscripted)"]})
    with TestClient(create_app(settings)) as c:
        yield c


def ask(client: TestClient, text: str) -> tuple[str, dict[str, Any]]:
    r = client.post("/v1/chat/completions", json={"model": "agent:research",
                                                  "messages": [{"role": "user", "content": text}]})
    assert r.status_code == 200, r.text
    return r.json()["choices"][0]["message"]["content"], r.json()["plusn"]


def test_an_empty_knowledge_base_gives_no_report(client: TestClient) -> None:
    text, block = ask(client, "私有化部署为什么能省钱？")
    assert text.startswith("知识库中没有找到") and block["served_models"] == []  # no model called
    assert [t["node"] for t in block["trace"]] == ["search", "enough", "nothing"]


def test_search_analyse_write_with_citations(client: TestClient) -> None:
    docs = [{"source": p.name, "content_base64": base64.b64encode(p.read_bytes()).decode()}
            for p in sorted((EXAMPLE / "docs").glob("*.md"))]
    r = client.post("/v1/kb/docs/documents", json={"documents": docs})
    assert r.status_code == 200, r.text
    text, block = ask(client, "私有化部署为什么能省钱？")
    assert [t["node"] for t in block["trace"]] == ["search", "enough", "analyse", "write", "done"]
    assert text.startswith("结论：1+N 架构能降低成本 [1]。")
    cited = [c["document"] for c in block["citations"]]
    assert cited[0] == "deployment-costs.md"  # the document about costs ranks first
    assert "[1] 私有化部署的成本构成" in text  # the report lists its sources
    analyse = client.app.state.plusn.fleet.members["assistant"].received[0]  # type: ignore[attr-defined]
    assert "几十分之一" in analyse.messages[-1]["content"]  # the passages reached the analysis step
    assert block["served_models"] == ["assistant", "assistant"]
