"""Answer extraction, verifiers, rules, intents and sticky sessions."""

from __future__ import annotations

import numpy as np
import pytest

from plusn.routing.extract import Extractor, last_number
from plusn.routing.intents import UNKNOWN, IntentClassifier
from plusn.routing.rules import Rules
from plusn.routing.spec import CascadeSpec, RouteSpec, RuleSpec
from plusn.routing.sticky import StickyStore, conversation_key
from plusn.routing.verifiers import AgreementVerifier, Answer, VoteVerifier


@pytest.mark.parametrize(("text", "want"), [
    ("The answer is 18.", "18"), ("$1,234.50 in total", "1234.5"), ("3/4 of them", "0.75"),
    ("共计１２个", "12"), ("no number here", None), ("-5 degrees", "-5"), ("#### 72", "72"),
])
def test_last_number(text: str, want: str | None) -> None:
    assert last_number(text) == want


def test_json_field_regex_and_text_extractors() -> None:
    assert Extractor(type="json_field", field="a.b").extract('noise {"a": {"b": "Yes"}} end') == "yes"
    assert Extractor(type="json_field", field="x").extract("not json") is None
    assert Extractor(type="regex", pattern=r"Answer: (\w+)").extract("Answer: A ... Answer: C") == "c"
    t = Extractor(type="text", similarity=0.8)
    assert t.same(t.extract("Paris, France."), t.extract("paris france"))
    assert not t.same(t.extract("Paris"), t.extract("Berlin"))


def ans(model: str, final: str | None) -> Answer:
    return Answer(model, f"... {final}", final)


def test_agreement_needs_votes_and_a_majority() -> None:
    v, ex = AgreementVerifier(min_votes=2), Extractor()
    assert v.judge([ans("a", "4"), ans("b", "4")], ex).accept
    assert not v.judge([ans("a", "4"), ans("b", "5")], ex).accept
    assert not v.judge([ans("a", "4"), ans("b", "4"), ans("c", "5"), ans("d", "5")], ex).accept  # a tie
    assert not v.judge([ans("a", None), ans("b", None)], ex).accept


def test_vote_weighs_strong_models_more() -> None:
    v, ex = VoteVerifier(weights={"weak": 1.0, "strong": 3.0}, threshold=1.5), Extractor()
    final, margin = v.scores([ans("weak", "1"), ans("strong", "2")], ex)
    assert (final, margin) == ("2", 2.0)
    assert v.judge([ans("weak", "1"), ans("strong", "2")], ex).accept
    assert not v.judge([ans("weak", "1"), ans("weak", "2")], ex).accept


def test_cascade_spec_short_forms() -> None:
    spec = CascadeSpec.model_validate({"stages": ["a", ["b", "c"], {"models": ["d"], "samples": 3}]})
    assert [s.models for s in spec.stages] == [["a"], ["b", "c"], ["d"]] and spec.stages[2].samples == 3
    assert spec.members() == ["a", "b", "c", "d"]
    with pytest.raises(ValueError):
        RouteSpec.model_validate({"model": "a", "cascade": "b"})
    with pytest.raises(ValueError):
        RuleSpec.model_validate({"name": "x", "keywords": ["k"]})  # neither answer nor route


def test_rules_keywords_regex_exact() -> None:
    rules = Rules([
        RuleSpec(name="hi", exact=["hello"], answer="Hi!"),
        RuleSpec(name="fund", keywords=["公积金", "housing fund"], route="policy"),
        RuleSpec(name="order", regex=r"(?i)order\s+#?\d{6}", route="orders"),
    ])
    assert rules.match("Hello!").rule == "hi"  # type: ignore[union-attr]
    assert rules.match("hello there") is None  # exact means the whole message
    assert rules.match("怎么提取公积金？").route == "policy"  # type: ignore[union-attr]
    assert rules.match("about my Housing Fund account").route == "policy"  # type: ignore[union-attr]
    assert rules.match("fundamental housing funds") is None  # whole words for Latin text
    assert rules.match("where is ORDER #123456").route == "orders"  # type: ignore[union-attr]


def test_intent_classifier_calibrates_and_says_unknown() -> None:
    rng = np.random.default_rng(0)
    centres = {"a": rng.normal(size=16), "b": rng.normal(size=16), UNKNOWN: rng.normal(size=16)}
    labels, vecs = [], []
    for lbl, c in centres.items():
        for _ in range(6):
            labels.append(lbl)
            vecs.append(c + 0.3 * rng.normal(size=16))
    clf = IntentClassifier(labels, np.array(vecs), threshold=0.5)
    assert clf.classify(centres["a"]).intent == "a"
    assert clf.classify(centres["b"]).intent == "b"
    assert clf.classify(centres[UNKNOWN]).intent == UNKNOWN
    mid = clf.classify(centres["a"] + centres["b"])
    assert mid.probability < clf.classify(centres["a"]).probability


def test_sticky_store_expires_and_is_bounded() -> None:
    s = StickyStore(ttl_s=1000, max_sessions=2)
    s.put("a", "big")
    s.put("b", "big")
    s.put("c", "big")
    assert s.get("a") is None and s.get("c") == "big"
    s.ttl_s = -1
    assert s.get("c") is None
    k1 = conversation_key([{"role": "user", "content": "x"}])
    assert k1 == conversation_key([{"role": "user", "content": "x", "name": "ignored"}])
    assert k1 != conversation_key([{"role": "user", "content": "y"}])


def test_outcome_files_are_read_as_json_lines_even_with_unicode_line_separators(tmp_path) -> None:
    import json

    from plusn.fleet.replay import Outcomes

    rows = [{"header": True, "task": "t", "models": {"m": {"params_b": 1}}},
            {"id": "1", "prompt": "第一行\u2028第二行", "outcomes": {"m": {"correct": True, "answer": "a\u2029b",
                                                                         "output_tokens": 3}}}]
    path = tmp_path / "o.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    out = Outcomes.load(path)
    assert len(out.rows) == 1 and out.by_model["m"]["第一行\u2028第二行"].answer == "a\u2029b"


def test_an_outcome_row_without_every_model_is_named_by_its_line(tmp_path) -> None:
    import json

    import pytest

    from plusn.errors import ConfigError
    from plusn.fleet.replay import Outcomes

    rows = [{"header": True, "models": {"a": {"params_b": 1}, "b": {"params_b": 2}}},
            {"id": "1", "prompt": "p1", "outcomes": {"a": {"correct": True}, "b": {"correct": False}}},
            {"id": "2", "prompt": "p2", "outcomes": {"a": {"correct": True}}}]
    path = tmp_path / "o.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    with pytest.raises(ConfigError, match=r"o.jsonl.*line 3 has no outcome for model 'b'"):
        Outcomes.load(path)
