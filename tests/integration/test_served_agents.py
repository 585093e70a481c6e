"""A paused workflow survives a real restart of `plusn serve`, driven by the openai SDK."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest
import yaml
from conftest import plusn_serve

pytestmark = pytest.mark.server
EXAMPLE = Path(__file__).parents[2] / "examples" / "housing-fund"


def test_a_form_resumes_after_the_server_restarts(tmp_path: Path) -> None:
    cfg = tmp_path / "plusn.yaml"
    cfg.write_text(yaml.safe_dump({
        "data_dir": str(tmp_path / "data"),
        "models": {"stand-in": {"type": "scripted"}},  # the form calls no model
        "agents": {"paths": [str(EXAMPLE / "agents")]},
    }, allow_unicode=True), encoding="utf-8")
    history = [{"role": "user", "content": "我想提取公积金，我是外地户口"}]
    with plusn_serve(cfg, tmp_path) as (url, _, _):
        sdk = openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0)
        r = sdk.chat.completions.create(model="agent:housing-fund", messages=history)  # type: ignore[arg-type]
        question = r.choices[0].message.content
        assert question is not None and question.startswith("请问您提取住房公积金的原因")
    history += [{"role": "assistant", "content": question}, {"role": "user", "content": "离职了"}]
    with plusn_serve(cfg, tmp_path) as (url, _, _):  # a new process over the same state database
        sdk = openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0)
        r = sdk.chat.completions.create(model="agent:housing-fund", messages=history)  # type: ignore[arg-type]
        assert r.choices[0].message.content == "您离职（与单位解除劳动关系）已经多久了？请告诉我月数。"
        plusn = r.model_extra["plusn"]  # type: ignore[index]
        assert plusn["route"]["resumed"] == "form" and plusn["route"]["waiting_for"] == "months"
