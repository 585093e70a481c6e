"""plusn tune's parts that need no torch: data sets, the GGUF name and layout mapping, paired CIs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from plusn.cli import main
from plusn.evals.paired import paired_bootstrap
from plusn.knowledge.sqlite_store import StoredChunk
from plusn.tune import data, sources
from plusn.tune.gguf_export import convert, gguf_name, interleave_heads

MSG = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]


def ex(prompt: str, answer: str = "ok") -> sources.Example:
    return sources.Example([{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}], "file")


def test_build_redacts_drops_repeated_prompts_and_splits_by_prompt() -> None:
    rows = [ex("Mail me at li.lei@example.com", "Sure, li.lei@example.com"), ex("  hello   World "), ex("hello world"),
            *[ex(f"question {i}") for i in range(200)]]
    built = data.build(rows, validation=0.25, seed=1)
    everything = built.train + built.validation
    assert built.duplicates == 1 and len(everything) == 202
    assert "li.lei@example.com" not in json.dumps([e.messages for e in everything])
    assert built.redacted["EMAIL"] == 2
    assert 25 < len(built.validation) < 80  # about a quarter
    # the same prompt lands on the same side whatever else is in the set
    again = data.build([ex("question 7"), ex("question 8")], validation=0.25, seed=1)
    held = {e.messages[0]["content"] for e in built.validation}
    assert {e.messages[0]["content"] for e in again.validation} == held & {"question 7", "question 8"}


def test_files_take_arena_tasks_and_conversations(tmp_path: Path) -> None:
    f = tmp_path / "t.jsonl"
    f.write_text(json.dumps({"prompt": "Paris?", "reference": ["city", "town"]}) + "\n"
                 + json.dumps({"messages": MSG}) + "\n", encoding="utf-8")
    got = sources.from_files([f], lambda t: [{"role": "system", "content": "S"}, *sources.bare(t)])
    assert got[0].messages == [{"role": "system", "content": "S"}, {"role": "user", "content": "Paris?"},
                               {"role": "assistant", "content": "city"}]
    assert got[1].messages == MSG
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"messages": MSG[:1]}) + "\n", encoding="utf-8")
    with pytest.raises(Exception, match=r"bad.jsonl:1: messages must end with the assistant"):
        sources.from_files([bad], sources.bare)


def test_qa_pairs_keep_their_citation() -> None:
    chunk = StoredChunk(7, "handbook.md", "Leave policy", "", 0, "Staff get 25 days of leave.", {})

    async def run(model: str, req: object) -> tuple[object, None]:
        class Gen:
            text = "Question: How many days of leave?\nAnswer: 25 days."
        return Gen(), None

    async def collect() -> list[sources.Example]:
        return [e async for e in sources.kb_qa(run, "big", [chunk], kb="hr", max_tokens=64)]

    import asyncio

    [got] = asyncio.run(collect())
    assert got.messages[0]["content"] == "How many days of leave?"
    assert got.messages[1]["content"] == "25 days. [Leave policy]"
    assert got.meta["citations"] == [{"kb": "hr", "source": "handbook.md", "title": "Leave policy", "chunk": 7}]
    assert sources.parse_qa("no form here") is None


def test_tune_data_distils_a_model_and_writes_a_llamafactory_entry(tmp_path: Path) -> None:
    cfg = tmp_path / "plusn.yaml"
    cfg.write_text(yaml.safe_dump({"data_dir": str(tmp_path / "d"), "skills": {"builtin": False}, "models": {
        "large": {"type": "scripted", "rules": [{"match": "capital", "reply": "Paris."}], "replies": ["I know."]}}}))
    prompts = tmp_path / "p.jsonl"
    prompts.write_text("".join(json.dumps({"prompt": f"capital of France {i}? call 1380013800{i}"}) + "\n"
                               for i in range(6)), encoding="utf-8")
    out = tmp_path / "set"
    r = CliRunner().invoke(main, ["tune", "data", "-c", str(cfg), "--distill", "large", "--prompts", str(prompts),
                                  "--system", "Be brief.", "--out", str(out), "--llamafactory", "mine",
                                  "--validation", "0.3", "--no-progress"])
    assert r.exit_code == 0, r.output
    rows = [json.loads(x) for x in (out / "train.jsonl").read_text().splitlines()]
    rows += [json.loads(x) for x in (out / "validation.jsonl").read_text().splitlines()]
    assert len(rows) == 6 and all(x["messages"][-1] == {"role": "assistant", "content": "Paris."} for x in rows)
    assert rows[0]["messages"][0] == {"role": "system", "content": "Be brief."}
    assert "13800138000" not in json.dumps(rows)  # phone numbers redacted
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["sources"] == {"distilled": 6} and manifest["inputs"]["distilled"]["teacher"] == "large"
    info = json.loads((out / "dataset_info.json").read_text())
    assert info["mine"]["file_name"] == "train.jsonl" and info["mine"]["formatting"] == "sharegpt"
    assert info["mine_validation"]["file_name"] == "validation.jsonl"


def test_tune_data_needs_a_source() -> None:
    r = CliRunner().invoke(main, ["tune", "data", "--out", "x"])
    assert r.exit_code != 0 and "at least one source" in r.output


def test_peft_names_map_to_llama_cpp_names() -> None:
    assert gguf_name("base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight") == ("blk.3.attn_q", "a")
    assert gguf_name("base_model.model.model.layers.12.mlp.down_proj.lora_B.weight") == ("blk.12.ffn_down", "b")
    assert gguf_name("base_model.model.lm_head.lora_A.weight") is None


def test_rotary_reordering_of_b_matches_reordering_the_merged_update() -> None:
    """llama.cpp's q and k rows are reordered per head; reordering B reorders the update B @ A."""
    rng = np.random.default_rng(0)
    heads, head_dim, rank, inp = 3, 8, 2, 5
    a = rng.normal(size=(rank, inp)).astype(np.float32)
    b = rng.normal(size=(heads * head_dim, rank)).astype(np.float32)
    assert np.allclose(interleave_heads(b, heads) @ a, interleave_heads(b @ a, heads))
    # within a head, the first half and second half are paired: row i, then row i + head_dim/2
    rows = np.arange(head_dim, dtype=np.float32)[:, None]
    assert interleave_heads(rows, 1)[:4, 0].tolist() == [0, 4, 1, 5]
    out = convert({"model.layers.0.self_attn.k_proj.lora_B.weight": b[:16],
                   "model.layers.0.self_attn.v_proj.lora_B.weight": b[:16]}, n_head=3, n_head_kv=2)
    assert np.array_equal(out["blk.0.attn_k.weight.lora_b"], interleave_heads(b[:16], 2))
    assert np.array_equal(out["blk.0.attn_v.weight.lora_b"], b[:16])  # v is not rotated


def test_paired_bootstrap_interval() -> None:
    better = paired_bootstrap([1.0] * 50, [0.0] * 50)
    assert better["diff"] == 1.0 and better["low"] == 1.0
    same = paired_bootstrap([1, 0] * 50, [0, 1] * 50)
    assert same["low"] < 0 < same["high"] and same["diff"] == 0.0
    some = paired_bootstrap([1] * 30 + [0] * 70, [0] * 100)
    assert 0 < some["low"] < 0.3 < some["high"] < 0.45
    assert paired_bootstrap([1, 0, 1], [0, 0, 1]) == paired_bootstrap([1, 0, 1], [0, 0, 1])  # seeded
