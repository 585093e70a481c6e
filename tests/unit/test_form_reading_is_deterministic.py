"""A reading must not change from one run to the next: Python orders a set of strings by a hash
seeded per process, so any tie broken by a set's order (cue words of equal length) would make
the same message read sure in one run and a guess in another."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from plusn.agents.cues import cue_words
from plusn.agents.spec import FormSpec

TRANSFER = {
    "slots": {
        "stage": {"type": "enum", "label": "入学类型", "ask": "请问孩子是哪种入学？（一年级 / 插班转学）",
                  "options": {"一年级": ["上一年级"], "插班转学": ["转学", "插班"]}},
        "letter": {"type": "boolean", "label": "转学证明", "ask": "原学校有没有开具转学证明（联系函）？（是 / 否）",
                   "yes_words": ["有转学证明", "开了转学证明", "转学证明开了", "有联系函", "开了联系函"],
                   "no_words": ["没有转学证明", "没开转学证明", "转学证明没开", "没有联系函", "没开联系函"]},
    },
    "tree": {"slot": "stage", "cases": {"一年级": {"decision": "报名"}, "插班转学": {
        "slot": "letter", "cases": {"true": {"decision": "可以插班"}, "false": {"decision": "先开证明"}}}}},
}

_READ = """
import json, sys
from plusn.agents.recognize import read
from plusn.agents.spec import FormSpec
spec = FormSpec.model_validate(json.loads(sys.argv[1]))
got = read(spec, sys.argv[2], None, "zh")
print(json.dumps({k: [v.value, v.sure] for k, v in sorted(got.found.items())}, ensure_ascii=False))
"""


def test_cue_words_are_ordered_longest_first_then_by_the_words() -> None:
    cues = cue_words(FormSpec.model_validate(TRANSFER), "letter")
    assert cues == sorted(cues, key=lambda w: (-len(w), w))


def test_the_same_message_reads_the_same_under_any_hash_seed() -> None:
    outs = set()
    for seed in ("0", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-c", _READ, json.dumps(TRANSFER, ensure_ascii=False),
                               "转学的证明老家学校已经给开了"], capture_output=True, text=True, env=env, check=True)
        outs.add(done.stdout.strip())
    assert len(outs) == 1, outs
    assert json.loads(outs.pop())["letter"][0] is True
