"""The response cache's parts: normalisation, scopes, which answers are determined, the index."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import write_config

from plusn.assemble import assemble
from plusn.cache.index import Answer, Entry, Index, unit
from plusn.cache.keys import marks_of, normalise, question_of, uncacheable
from plusn.cache.response_cache import Plan, ResponseCache
from plusn.cache.vectors import PROJECT_FROM, ScopeVectors
from plusn.fleet.backend import GenRequest
from plusn.load_config import load_settings


def chat(*texts: str, **kw: Any) -> GenRequest:
    roles = ["user", "assistant"]
    return GenRequest("chat", [{"role": roles[i % 2], "content": t} for i, t in enumerate(texts)], **kw)


def test_normalise_ignores_width_case_spacing_and_closing_punctuation() -> None:
    assert normalise("  How do I  withdraw？ ") == normalise("how do i withdraw") == "how do i withdraw"
    assert normalise("公积金怎么提取？") == normalise("公积金怎么提取") != normalise("公积金怎么提取吗")
    assert normalise("is 1.5 right") != normalise("is 15 right")  # only closing punctuation goes


def test_the_scope_holds_the_earlier_turns_the_parameters_and_the_context() -> None:
    base = question_of(chat("hi", "hello", "how?"), ("key-a", "m", "v1"))
    same = question_of(chat("hi", "hello", "How"), ("key-a", "m", "v1"))
    assert (same.scope, same.key) == (base.scope, base.key)
    for other in (question_of(chat("hey", "hello", "how?"), ("key-a", "m", "v1")),  # an earlier turn
                  question_of(chat("hi", "hello", "how?", max_tokens=5), ("key-a", "m", "v1")),
                  question_of(chat("hi", "hello", "how?"), ("key-b", "m", "v1")),  # another caller
                  question_of(chat("hi", "hello", "how?"), ("key-a", "m", "v2"))):  # another version
        assert other.scope != base.scope and other.key != base.key
    reworded = question_of(chat("hi", "hello", "in what way?"), ("key-a", "m", "v1"))
    assert reworded.scope == base.scope and reworded.key != base.key  # a semantic match may join them
    # fields that do not change the answer are not part of it
    assert question_of(chat("x", extra={"user": "u1"}), ("k",)).key == question_of(chat("x", extra={"user": "u2"}),
                                                                                   ("k",)).key


def test_tool_traffic_is_never_cached() -> None:
    assert uncacheable(chat("x", extra={"tools": []})) == "tools"
    req = chat("x")
    req.messages += [{"role": "assistant", "content": None, "tool_calls": [{"id": "1"}]},
                     {"role": "tool", "content": "42"}, {"role": "user", "content": "so?"}]
    assert uncacheable(req) == "tools"
    assert uncacheable(chat("x", "y")) == "the last message is not the user's"
    assert uncacheable(chat("x")) is None


@pytest.fixture
def cache(tmp_path: Path) -> ResponseCache:
    (tmp_path / "skills").mkdir()
    (tmp_path / "skills" / "cold.yaml").write_text(
        "name: cold\ndescription: d\nmodel: warm\ntemperature: 0\ninput: text\nvariables: {text: {type: string}}\n"
        "template: '{{ text }}'\n", encoding="utf-8")
    cfg = {
        "models": {"one": {"type": "scripted", "replies": ["a"]}, "two": {"type": "scripted", "replies": ["a"]},
                   "warm": {"type": "scripted", "replies": ["a", "b"]},
                   "remote": {"type": "openai", "base_url": "http://127.0.0.1:9/v1"},
                   "remote-0": {"type": "openai", "base_url": "http://127.0.0.1:9/v1", "temperature": 0}},
        "cascades": {"greedy": {"stages": [{"models": ["one"]}, {"models": ["two"]}]},
                     "voting": {"stages": [{"models": ["one"], "samples": 3}, {"models": ["two"]}]}},
        "routes": {"a": {"model": "one"}, "b": {"model": "warm"}},
        "dispatch": {"default_route": "a"},
        "skills": {"builtin": False, "paths": [str(tmp_path / "skills")]},
        "cache": {"enabled": True, "embedding_model": None},
    }
    return ResponseCache(assemble(load_settings(write_config(tmp_path, cfg), environ={})))


@pytest.mark.parametrize(("name", "temperature", "cached"), [
    ("one", None, True), ("warm", None, False), ("warm", 0.0, True), ("one", 0.5, False),
    ("remote", None, False),  # a server's default temperature is not known here
    ("remote-0", None, True), ("cascade:greedy", None, True),
    ("cascade:voting", 0.0, False),  # several samples are drawn at the stage's temperature
    ("auto", None, False),  # one of its routes samples
    ("skill:cold", None, True),  # the skill's temperature wins over its model's
])
def test_only_determined_answers_are_kept(cache: ResponseCache, name: str, temperature: float | None,
                                          cached: bool) -> None:
    plan = cache.plan("k", name, chat("x", temperature=temperature))
    assert isinstance(plan, Plan) is cached, plan
    if not cached:
        assert plan == "sampled (temperature above 0)"


def test_keep_refuses_what_must_not_be_kept(cache: ResponseCache) -> None:
    plan = cache.plan("k", "one", chat("what time is it"))
    assert isinstance(plan, Plan)
    ok = Answer("a", "stop", 1, 1, "one", None, 0.1)
    assert cache.keep(plan, Answer("a", "content_filter", 1, 1, "one", None, 0.1), False) == \
        "finished with content_filter"
    assert cache.keep(plan, ok, True) == "the safety layer acted on it"
    clock = Answer("a", "stop", 1, 1, "one", {"route": "r", "inner": {"datetime": "2026-01-01"}}, 0.1)
    assert cache.keep(plan, clock, False) == "grounded on the clock or SQL"
    assert isinstance(cache.keep(plan, ok, False), Entry)


def entry(key: str, scope: str, vector: np.ndarray | None, name: str = "m", expires: float = 1e12) -> Entry:
    return Entry(key, scope, name, "t", Answer(key, "stop", 1, 1, "m", None, 0.0), vector, 0.0, expires)


def test_a_large_scope_finds_exactly_what_a_whole_product_finds() -> None:
    """Past PROJECT_FROM rows the search skips rows by their projections; it must still find
    every row a product over the whole matrix finds, at any threshold, after removals too.
    The rows are clustered like a scope's questions: a shared direction, topics, rewordings."""
    rng = np.random.default_rng(7)
    dim, topics = 128, 40
    common = rng.standard_normal(dim) * 3
    centres = [common + rng.standard_normal(dim) for _ in range(topics)]
    rows = [unit(centres[i % topics] + 0.35 * rng.standard_normal(dim)) for i in range(2 * PROJECT_FROM + 300)]
    scope = ScopeVectors(dim)
    for i, v in enumerate(rows):
        scope.add(f"k{i}", v)
    assert scope.basis is not None
    for i in range(0, len(rows), 7):  # holes filled by the last rows, their projections moved too
        scope.remove(f"k{i}")
    live = {k: rows[int(k[1:])] for k in scope.keys}
    keys, matrix = list(live), np.stack(list(live.values()))
    skipped = 0
    for j in range(60):
        base = rows[(j * 37) % len(rows)]
        query = unit(base + rng.uniform(0.0, 0.25) * rng.standard_normal(dim))
        sims = matrix @ query
        for threshold in (0.8, 0.9, 0.95, 0.985):
            want = sorted(((keys[i], float(sims[i])) for i in np.flatnonzero(sims >= threshold)),
                          key=lambda ks: -ks[1])[:3]
            got = scope.nearest(query, threshold, 3)
            assert [k for k, _ in got] == [k for k, _ in want], (j, threshold)
            assert np.allclose([s for _, s in got], [s for _, s in want], atol=1e-5)
        q = scope.basis @ query
        d = scope.lengths[: len(keys)] - 2 * scope.projected[: len(keys)] @ q + q @ q
        skipped += int(np.sum(d > 2 * (1 - 0.985)))
    assert skipped > 0.5 * 60 * len(keys)  # and the projections do skip most rows


def test_a_large_scope_of_short_vectors_is_searched_whole() -> None:
    """Vectors too short to be worth projecting (here 32 dimensions) are never projected: past
    PROJECT_FROM rows the scope still adds rows and finds them."""
    rng = np.random.default_rng(3)
    scope = ScopeVectors(32)
    rows = [unit(rng.standard_normal(32)) for _ in range(PROJECT_FROM + 10)]
    for i, v in enumerate(rows):
        scope.add(f"k{i}", v)
    assert scope.basis is None
    assert scope.nearest(rows[-1], 0.99, 3)[0][0] == f"k{len(rows) - 1}"


def test_the_index_finds_the_nearest_of_its_scope_and_keeps_its_rows_consistent() -> None:
    rng = np.random.default_rng(1)
    vectors = [unit(rng.standard_normal(16)) for _ in range(50)]
    index = Index()
    for i, v in enumerate(vectors):
        index.put(entry(f"k{i}", "s" if i % 2 == 0 else "other", v), 1000)
    for i in range(0, 50, 4):  # remove some from the middle: the last row moves into each hole
        index.remove(f"k{i}")
    for i in range(2, 50, 4):
        found = index.nearest("s", vectors[i], 0.99, 0.0)
        assert found is not None and found[0].key == f"k{i}"
    assert index.nearest("s", vectors[0], 0.99, 0.0) is None or index.nearest("s", vectors[0], 0.99, 0.0)[0].key != "k0"
    assert index.nearest("s", vectors[1], 0.99, 0.0) is None  # k1 is in the other scope
    assert index.get("k2", now=2e12) is None and "k2" not in index  # expired on the way


def test_bounds_evict_the_least_recently_used_of_that_name_only() -> None:
    index = Index()
    for i in range(3):
        index.put(entry(f"a{i}", "s", None, name="a"), 3)
    index.put(entry("b0", "s", None, name="b"), 3)
    assert index.get("a0", 0.0) is not None  # used: now the most recent
    index.put(entry("a3", "s", None, name="a"), 3)
    assert "a1" not in index and {"a0", "a2", "a3", "b0"} <= set(index._entries)
    assert index.clear(name="a") == 3 and len(index) == 1


@pytest.mark.parametrize(("a", "b", "agree"), [
    ("What were the sales in 2023 Q3?", "What were the sales in 2022 Q3?", False),
    ("三月十五号开会吗", "三月二十五号开会吗", False),
    ("How much storage comes with CloudBox Business?", "How much storage comes with CloudBox Basic?", False),
    ("iPhone 13 多少钱", "iphone 13 多少钱", True),
    ("How do I change my Slack password?", "how to change slack password", True),  # lower case names nothing
    ("请问一下年假有几天", "年假几天", True),  # 一下 and 几 are no numbers
    ("Can I take two days off?", "Can I take 2 days off?", True),
])
def test_marks_hold_the_numbers_and_names_a_meaning_match_must_agree_on(a: str, b: str, agree: bool) -> None:
    assert marks_of(a).agree(marks_of(b)) is agree


def test_a_near_question_about_another_number_is_passed_over_for_the_next() -> None:
    index = Index()
    v = unit(np.ones(8))
    near = unit(np.ones(8) + 0.01 * np.arange(8))
    index.put(Entry("2022", "s", "m", "t", Answer("2022 answer", "stop", 1, 1, "m", None, 0.0), v, 0.0, 1e12,
                    marks_of("sales in 2022?")), 10)
    index.put(Entry("2023", "s", "m", "t", Answer("2023 answer", "stop", 1, 1, "m", None, 0.0), near, 0.0, 1e12,
                    marks_of("sales in 2023?")), 10)
    found = index.nearest("s", v, 0.9, 0.0, marks_of("what were the sales in 2023"))
    assert found is not None and found[0].key == "2023"  # not the closer 2022 entry
    assert index.nearest("s", v, 0.9, 0.0, marks_of("sales in 2024?")) is None
