"""The configuration examples in the docs are real: each YAML block loads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from plusn.load_config import load_settings

ROOT = Path(__file__).parents[2]
DOCS = [ROOT / "README.md", ROOT / "README.zh-CN.md", *sorted((ROOT / "docs").glob("*.md")),
        *sorted((ROOT / "src" / "plusn" / "handbook").glob("*/*.md"))]  # the first run's handbook


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
    # a file a block includes (a route written by `plusn routes fit`; tests/integration/
    # test_router.py serves real ones) exists, empty, beside it
    for rel in re.findall(r"include: \[([^\]]+)\]", text):
        for name in rel.split(","):
            (tmp_path / name.strip()).write_text("{}\n", encoding="utf-8")
    # and so does a folder of documents a knowledge base names
    for rel in re.findall(r"^\s+paths: \[([^\]]+)\]", text, re.M):
        for name in (n.strip() for n in rel.split(",")):
            if not name.startswith(("/", "pkg:")):
                (tmp_path / name).mkdir(exist_ok=True)
    settings = load_settings(path, environ={})
    assert settings.models, f"{where} configures no models"


@pytest.mark.parametrize(("where", "text"), blocks("yaml skill"), ids=[w for w, _ in blocks("yaml skill")])
def test_skill_examples_load(where: str, text: str, tmp_path: Path) -> None:
    from plusn.skills.library import load_file

    path = tmp_path / "skill.yaml"
    path.write_text(text, encoding="utf-8")
    assert load_file(path).version


@pytest.mark.parametrize(("where", "text"), blocks("yaml agent"), ids=[w for w, _ in blocks("yaml agent")])
def test_agent_examples_load(where: str, text: str, tmp_path: Path) -> None:
    from plusn.agents.library import load_file

    path = tmp_path / "agent.yaml"
    path.write_text(text, encoding="utf-8")
    assert load_file(path).version


@pytest.mark.parametrize(("where", "text"), blocks("yaml suite"), ids=[w for w, _ in blocks("yaml suite")])
def test_arena_suite_examples_load(where: str, text: str, tmp_path: Path) -> None:
    from plusn.evals.arena import load_suite

    (tmp_path / "suite.yaml").write_text(text, encoding="utf-8")
    tasks = "\n".join(b for w, b in blocks("json") if w.startswith("arena.md"))
    (tmp_path / "tasks.jsonl").write_text(tasks, encoding="utf-8")
    suite, loaded, _ = load_suite(tmp_path / "suite.yaml")
    assert len(suite.contestants) == 4 and len(loaded) == 3 and loaded[0]["metric"] == "numeric"


def test_the_form_in_the_docs_behaves_as_described(tmp_path: Path) -> None:
    """docs/agents.md: one message fills two slots, and only the certificate is asked for."""
    from plusn.agents import forms
    from plusn.agents.library import load_file

    text = next(t for w, t in blocks("yaml agent") if "leave-request" in t)
    path = tmp_path / "agent.yaml"
    path.write_text(text, encoding="utf-8")
    spec = load_file(path).spec.form
    assert spec is not None
    state = forms.FormState()
    turn = forms.turn(spec, state, "我生病了，要请两天", "zh")
    assert state.values == {"kind": "病假", "days": 2} and turn.asked == "certificate"
    turn = forms.turn(spec, state, "有证明", "zh")
    assert turn.decision is not None and turn.decision["decision"] == "批准"
