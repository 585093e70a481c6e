"""Build the entity-type task from the DBpedia-5k abstracts: one word, derived from the abstract.

The gold answer is the head noun of the abstract's defining phrase: in "Valvestino is a comune
in the province of Brescia", the phrase after "is a" runs to the first preposition, comma or
participle, and its last word, "comune", is the answer. Abstracts without such a phrase are
left out. Tasks are split by a hash of the entity, so the split never changes between runs:

    python examples/vertical/make_tasks.py ../shared/data/retrieval/dbpedia-5k/corpus.jsonl examples/vertical

writes train-tasks.jsonl (for plusn tune data) and tasks.jsonl (held out, for plusn eval run).
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path

DEFINES = re.compile(r"\b(?:is|was|are|were)\s+(?:a|an|the)\s+(.+)", re.I)
# where the defining noun phrase ends
STOP = {"in", "of", "on", "at", "from", "by", "for", "with", "that", "which", "who", "whose", "and", "or",
        "to", "as", "known", "founded", "located", "based", "situated", "where", "between", "since", "about",
        "during", "under", "near", "consisting", "playing", "currently", "formerly", "first", "best",
        # irregular participles ("a song written by ...")
        "written", "co-written", "held", "made", "built", "run", "set", "sung", "drawn", "grown", "shown",
        "taken", "given", "won", "begun", "led", "sold", "spoken", "worn", "chosen", "hosted"}
SKIP_HEADS = {"one", "member", "part", "name", "term", "number", "type", "kind", "series", "list", "form", "group"}


def first_sentence(text: str, limit: int = 320) -> str:
    text = re.sub(r"\s+", " ", text.split(" @en ")[0]).strip()
    cut = re.search(r"(?<=[a-z\)])\.(?:\s|[A-Z]|$)", text)
    sentence = text[: cut.start() + 1] if cut else text
    return sentence[:limit]


def head_noun(sentence: str) -> str | None:
    m = DEFINES.search(sentence)
    if not m:
        return None
    words: list[str] = []
    for raw in m.group(1).split():
        word = raw.strip("\"'“”()")
        if not word or word.lower() in STOP or word.endswith("ed") and words:
            break
        words.append(word)
        if re.search(r"[,;:.()]$", raw):
            break
    if not words:
        return None
    head = re.sub(r"[^A-Za-z-]", "", words[-1]).lower()
    if len(head) < 3 or head in SKIP_HEADS or not head.isascii() or head.endswith("ed"):
        return None
    return head


PROMPT = "{text}"


def main(corpus: Path, out: Path, held_out: int = 200) -> None:
    rows = [json.loads(line) for line in corpus.read_text(encoding="utf-8").splitlines() if line.strip()]
    tasks = []
    for r in rows:
        sentence = first_sentence(r["text"])
        head = head_noun(sentence)
        if head is None or r["title"].lower() in ("", head):
            continue
        tasks.append({"id": r["title"], "prompt": f"{r['title']}: {sentence}", "reference": head, "metric": "exact"})
    tasks.sort(key=lambda t: hashlib.sha256(t["id"].encode()).hexdigest())
    test, train = tasks[:held_out], tasks[held_out:]
    for name, part in (("tasks.jsonl", test), ("train-tasks.jsonl", train)):
        (out / name).write_text("".join(json.dumps(t, ensure_ascii=False) + "\n" for t in part), encoding="utf-8")
    print(f"{len(tasks)} tasks from {len(rows)} abstracts: {len(train)} to train on, {len(test)} held out")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
