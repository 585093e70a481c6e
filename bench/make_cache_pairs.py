"""Build the question pairs that `plusn eval cache` measures the cache threshold on.

    python bench/make_cache_pairs.py --cmrc ../shared/data/retrieval/cmrc2018-dev/queries.jsonl

writes tests/data/cache/pairs.jsonl (from intents-tune.yaml; the threshold is chosen on it) and
tests/data/cache/pairs-heldout.jsonl (from intents-heldout.yaml: other topics, written apart;
only checked). Rows: {"a", "b", "same", "lang"}, a asked first.

- Paraphrases: every two ways of asking one intent (with one slot value for both), as people
  type them: a greeting or thanks added, punctuation changed, a typo, all lower case; and a few
  that only differ in case, width or closing punctuation (what the cache's exact key absorbs).
- Hard negatives: two `near` intents of a topic (shared words, another question); one intent
  with another slot value (another city, plan, number of years); two other intents of a topic;
  and, in Chinese, two CMRC 2018 questions about the same passage whose answers differ (tuning:
  even passage numbers, held-out: odd).
- Easy negatives: intents of different topics.

The same styling is applied to both kinds, so style alone tells nothing. Deterministic: a
fixed seed, and the same input gives the same files.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import re
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "cache"
SEED = 20240611

NEAR_SAMPLES = 4  # per near pair of intents
SLOT_SAMPLES = 5  # per intent with a slot: the same intent, another value
TOPIC_SAMPLES = 2  # per intent: another intent of its topic
EASY = 40  # per language: intents of different topics
EXACT_EVERY = 4  # one exact-after-normalising pair per this many intents
CMRC = {"tune": (0, 300), "heldout": (1, 200)}  # passage parity, pairs

ZH_PREFIX = ["请问", "你好，", "您好，请问", "麻烦问一下，", "想咨询下，", "问一下，", "同事你好，"]
ZH_SUFFIX = ["？", "", "?", "？？", "，谢谢！", "。谢谢", "，急"]
# Typos an input method makes (a homophone picked by mistake).
ZH_TYPOS = {"公积金": "公基金", "报销": "报消", "密码": "密吗", "怎么": "怎莫", "提取": "提起", "社保": "社宝",
            "发票": "发漂", "申请": "申清", "多少": "多小", "工资": "工姿", "年假": "年价", "退款": "退宽",
            "在哪": "在那", "缓存": "缓村", "失业": "失叶", "试用期": "试用其", "账号": "帐号", "离职": "离值"}
EN_PREFIX = ["Hi, ", "Hello! ", "Quick question: ", "Hey, ", "Sorry to bother you, ", "hi team, "]
EN_SUFFIX = ["", " Thanks!", " thx", " Thank you.", "??", " Thanks in advance."]
_CLOSE = "？?。.！!~"


def _fill(text: str, slot: dict[str, Any] | None, value: Any) -> str:
    return text.format(**{next(iter(slot)): value}) if slot else text


def _slotted(forms: list[str], slot: dict[str, Any] | None) -> bool:
    return bool(slot) and "{" + next(iter(slot or {})) + "}" in forms[0]


def _zh_style(rng: random.Random, text: str) -> str:
    pick = rng.random()
    if pick < 0.3 and not text.startswith(("请问", "你好", "您好")):
        text = rng.choice(ZH_PREFIX) + text
    elif pick < 0.5:
        typos = [k for k in ZH_TYPOS if k in text]
        if typos:
            word = rng.choice(typos)
            text = text.replace(word, ZH_TYPOS[word], 1)
    return text.rstrip(_CLOSE) + rng.choice(ZH_SUFFIX)


def _lower_first(text: str) -> str:
    first = text.split(" ", 1)[0]
    if first in ("I", "I'm", "I've") or first[1:] != first[1:].lower():  # "I", "VPN", "CloudBox"
        return text
    return text[0].lower() + text[1:]


def _en_typo(rng: random.Random, text: str) -> str:
    words = text.split(" ")
    long = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    if not long:
        return text
    i = rng.choice(long)
    w = words[i]
    j = rng.randrange(1, len(w) - 2)
    words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2:]
    return " ".join(words)


def _en_style(rng: random.Random, text: str) -> str:
    pick = rng.random()
    if pick < 0.25:
        text = rng.choice(EN_PREFIX) + _lower_first(text)
    elif pick < 0.45:
        text = _en_typo(rng, text)
    elif pick < 0.55:
        return text.lower().rstrip(_CLOSE)
    suffix = rng.choice(EN_SUFFIX)
    if suffix == "??":
        return text.rstrip(_CLOSE) + suffix
    return text + suffix


def styled(rng: random.Random, lang: str, text: str, p: float) -> str:
    """The question as someone might type it (with probability ``p``; else as written)."""
    if rng.random() >= p:
        return text
    return _zh_style(rng, text) if lang == "zh" else _en_style(rng, text)


def exact_variant(rng: random.Random, lang: str, text: str) -> str:
    """The same question in another case, width, spacing or closing punctuation."""
    if lang == "zh":
        choices = [text.rstrip(_CLOSE), text.rstrip(_CLOSE) + "?", text.rstrip(_CLOSE) + "？！",
                   re.sub(r"[A-Za-z]", lambda m: chr(ord(m.group()) + 0xFEE0), text)]
    else:
        choices = [text.lower(), text.upper(), text.rstrip(_CLOSE) + " ?", "  " + text.rstrip(_CLOSE) + "!!"]
    return rng.choice(choices)


def _row(a: str, b: str, same: bool, lang: str, kind: str) -> dict[str, Any]:
    """A pair; ``kind`` (how it was made) is counted, not written."""
    return {"a": a, "b": b, "same": same, "lang": lang, "kind": kind}


def paraphrases(rng: random.Random, lang: str, topics: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    n = 0
    for topic in topics.values():
        slot = topic.get("slot")
        values = next(iter(slot.values())) if slot else [None]
        for forms in topic["intents"].values():
            for x, y in itertools.combinations(forms, 2):
                value = rng.choice(values)
                a, b = (x, y) if rng.random() < 0.5 else (y, x)
                rows.append(_row(styled(rng, lang, _fill(a, slot, value), 0.25),
                                 styled(rng, lang, _fill(b, slot, value), 0.6), True, lang, "paraphrase"))
            if n % EXACT_EVERY == 0:
                a = _fill(rng.choice(forms), slot, rng.choice(values))
                rows.append(_row(a, exact_variant(rng, lang, a), True, lang, "exact"))
            n += 1
    return rows


def _pair(rng: random.Random, lang: str, slot: Any, fa: list[str], fb: list[str], va: Any, vb: Any,
          kind: str) -> dict[str, Any]:
    return _row(styled(rng, lang, _fill(rng.choice(fa), slot, va), 0.25),
                styled(rng, lang, _fill(rng.choice(fb), slot, vb), 0.6), False, lang, kind)


def negatives(rng: random.Random, lang: str, topics: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for topic in topics.values():
        slot, intents = topic.get("slot"), topic["intents"]
        values = next(iter(slot.values())) if slot else [None]
        near = {frozenset(p) for p in topic.get("near", [])}
        for x, y in topic.get("near", []):
            for _ in range(NEAR_SAMPLES):
                v = rng.choice(values)
                a, b = (x, y) if rng.random() < 0.5 else (y, x)
                rows.append(_pair(rng, lang, slot, intents[a], intents[b], v, v, "near"))
        for name, forms in intents.items():
            if _slotted(forms, slot):
                for _ in range(SLOT_SAMPLES):
                    va, vb = rng.sample(values, 2)
                    same_form = [rng.choice(forms)] if rng.random() < 0.5 else None
                    rows.append(_pair(rng, lang, slot, same_form or forms, same_form or forms, va, vb, "slot"))
            others = [o for o in intents if o != name and frozenset((name, o)) not in near]
            for other in rng.sample(others, min(TOPIC_SAMPLES, len(others))):
                v = rng.choice(values)
                rows.append(_pair(rng, lang, slot, forms, intents[other], v, v, "topic"))
    return rows


def easy(rng: random.Random, lang: str, topics: dict[str, Any]) -> list[dict[str, Any]]:
    pool = [(t, topic.get("slot"), forms) for t, topic in topics.items() for forms in topic["intents"].values()]
    rows = []
    while len(rows) < EASY:
        (ta, sa, fa), (tb, sb, fb) = rng.sample(pool, 2)
        if ta != tb:
            va = rng.choice(next(iter(sa.values()))) if sa else None
            vb = rng.choice(next(iter(sb.values()))) if sb else None
            rows.append(_row(styled(rng, lang, _fill(rng.choice(fa), sa, va), 0.25),
                             styled(rng, lang, _fill(rng.choice(fb), sb, vb), 0.6), False, lang, "easy"))
    return rows


def cmrc_pairs(rng: random.Random, path: Path, parity: int, count: int) -> list[dict[str, Any]]:
    """Two questions about one CMRC 2018 passage whose answers share nothing, one pair per passage."""
    by_passage: dict[int, list[dict[str, Any]]] = {}
    for line in path.read_text(encoding="utf-8").split("\n"):
        if line.strip():
            q = json.loads(line)
            by_passage.setdefault(int(q["_id"].split("_")[1]), []).append(q)
    rows = []
    for passage in sorted(p for p in by_passage if p % 2 == parity):
        candidates = [(x, y) for x, y in itertools.combinations(by_passage[passage], 2)
                      if not set(x["answers"]) & set(y["answers"]) and x["text"].strip() != y["text"].strip()]
        if candidates:
            x, y = rng.choice(candidates)
            rows.append(_row(x["text"].strip(), y["text"].strip(), False, "zh", "cmrc"))
    rng.shuffle(rows)
    return rows[:count]


def build(which: str, cmrc: Path) -> list[dict[str, Any]]:
    rng = random.Random(f"{SEED}-{which}")
    spec = yaml.safe_load((DATA / f"intents-{which}.yaml").read_text(encoding="utf-8"))
    rows = []
    for lang in ("zh", "en"):
        rows += paraphrases(rng, lang, spec[lang]) + negatives(rng, lang, spec[lang]) + easy(rng, lang, spec[lang])
    parity, count = CMRC[which]
    rows += cmrc_pairs(rng, cmrc, parity, count)
    seen: set[tuple[str, str]] = set()
    unique = []
    for r in rows:  # a sample drawn twice counts once
        if (r["a"], r["b"]) not in seen:
            seen.add((r["a"], r["b"]))
            unique.append(r)
    return unique


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cmrc", type=Path, default=ROOT.parent / "shared/data/retrieval/cmrc2018-dev/queries.jsonl",
                    help="CMRC 2018 dev questions (BEIR queries.jsonl)")
    args = ap.parse_args()
    for which, out in (("tune", "pairs.jsonl"), ("heldout", "pairs-heldout.jsonl")):
        rows = build(which, args.cmrc)
        (DATA / out).write_text("".join(json.dumps({k: r[k] for k in ("a", "b", "same", "lang")}, ensure_ascii=False)
                                        + "\n" for r in rows), encoding="utf-8")
        print(f"{out}: {len(rows)} pairs")
        for lang in ("zh", "en"):
            for same in (True, False):
                mine = [r for r in rows if r["lang"] == lang and r["same"] == same]
                kinds = Counter(r["kind"] for r in mine)
                print(f"  {lang} {'same' if same else 'different'}: {len(mine)} ("
                      + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())) + ")")


if __name__ == "__main__":
    main()
