"""Forms read what people mean: negation, mentions that are not answers, quantities in words,
corrections only when the user corrects, confirmations of guesses, and the conversation after a
decision. Rules only here (no model); tests/integration/test_form_meaning.py adds the embeddings."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from plusn.agents import forms
from plusn.agents.cues import cue_words
from plusn.agents.quantities import convert, quantities
from plusn.agents.recognize import read
from plusn.agents.spec import FormSpec
from plusn.cli import main
from plusn.evals.forms import score

# A form of its own (not the example): a library card, with a tree on residence, age and fines.
CARD = FormSpec.model_validate({
    "slots": {
        "residence": {"type": "enum", "label": "居住地", "ask": "您住在本区还是外区？",
                      "options": {"本区": ["本区居民", "住本区"], "外区": ["外区居民", "住外区"]}},
        "age": {"type": "integer", "label": "年龄", "ask": "您多大了？", "min": 0, "max": 120, "aliases": ["岁"]},
        "fines": {"type": "boolean", "label": "未还罚款", "ask": "您有没有未缴的图书罚款？",
                  "yes_words": ["有罚款", "欠罚款"], "no_words": ["没有罚款", "罚款交清了"]},
        "weeks": {"type": "integer", "label": "借期", "ask": "您想借多少天？", "unit": "天", "min": 1, "max": 90},
    },
    "tree": {"slot": "residence", "cases": {
        "外区": {"decision": "需押金办卡"},
        "本区": {"slot": "fines", "cases": {
            "true": {"decision": "先缴罚款"},
            "false": {"slot": "weeks", "when": [{"if": "value <= 30", "then": {"decision": "可以办卡"}}],
                      "default": {"decision": "借期过长"}}}}}},
})


@pytest.mark.parametrize(("text", "unit", "value"), [
    ("一年半", "月", 18), ("半年", "月", 6), ("十个月", "月", 10), ("两天", "天", 2), ("一周", "天", 7),
    ("两个半月", "月", 2.5), ("a year and a half", "月", 18), ("two weeks", "天", 14), ("三年", "天", 1095),
])
def test_durations_are_read_in_the_slot_unit(text: str, unit: str, value: float) -> None:
    q = quantities(text)[0]
    assert convert(q, unit) == pytest.approx(value)


@pytest.mark.parametrize(("text", "value"), [
    ("我住外区", "外区"), ("我不住本区", "外区"), ("不是本区的，住外区", "外区"), ("本区居民", "本区"),
])
def test_negation_turns_an_option_around(text: str, value: str) -> None:
    assert read(CARD, text, "residence", "zh").found["residence"].value == value


def test_a_mention_is_not_an_answer_unless_a_cue_names_the_slot() -> None:
    assert "residence" not in read(CARD, "我在本区上班", None, "zh").found  # nothing asked, no cue
    assert read(CARD, "居住地是本区", None, "zh").found["residence"].value == "本区"  # the label names it
    assert "居住地" in cue_words(CARD, "residence")
    # an option's own word, said only as where something is done, is no answer in passing either
    aid = FormSpec.model_validate({"slots": {
        "hukou": {"type": "enum", "label": "户籍", "ask": "户口是城镇、农村还是外地？",
                  "options": {"城镇": ["城镇户口"], "农村": ["农村户口"], "外地": ["外地户口"]}},
        "support": {"type": "boolean", "label": "赡养人", "ask": "有没有子女？"}}})
    assert "hukou" not in read(aid, "有子女，就是都在外地打工", "support", "zh").found
    assert read(aid, "户口在外地", "support", "zh").found["hukou"].value == "外地"  # its slot named
    assert read(aid, "在外地", "hukou", "zh").found["hukou"].value == "外地"  # the question asked it
    assert read(aid, "在外地", None, "zh", expected="hukou").found["hukou"].value == "外地"
    # in a correction of the user's own it is one; of where someone else is, it is not
    assert read(aid, "说错了，我们是在农村的", "support", "zh").found["hukou"].value == "农村"
    assert "hukou" not in read(aid, "不对，我有两个儿子，都在外地", "support", "zh").found
    # 不对 denies something said; "有没有子女？" is answered by what the reply has, not by it
    assert "support" not in read(aid, "不对，我有两个儿子，都在外地", "support", "zh").found
    assert read(aid, "不是，没有", "support", "zh").found["support"].value is False


def test_a_yes_word_inside_another_sentence_is_no_answer() -> None:
    assert "fines" not in read(CARD, "我家附近没有地铁站，来一趟不方便", "fines", "zh").found
    assert read(CARD, "没有", "fines", "zh").found["fines"].value is False
    paid = read(CARD, "罚款早就交清了", "fines", "zh").found["fines"]  # names the slot, no yes/no word
    assert not paid.sure  # a guess, confirmed before a decision rests on it


def test_a_value_said_in_passing_asks_which_is_right_and_a_cue_corrects() -> None:
    state = forms.FormState()
    forms.turn(CARD, state, "本区居民", "zh")
    t = forms.turn(CARD, state, "外区居民", "zh")  # answers the fines question with another residence
    assert state.values["residence"] == "本区" and t.asked == "residence" and "哪个是对的" in (t.reply or "")
    t = forms.turn(CARD, state, "外区", "zh")
    assert state.values["residence"] == "外区" and t.decision is not None and t.decision["decision"] == "需押金办卡"
    state = forms.FormState()
    forms.turn(CARD, state, "本区居民", "zh")
    t = forms.turn(CARD, state, "不对，说错了，我是外区居民", "zh")
    assert t.corrected == {"residence": ("本区", "外区")} and t.decision["decision"] == "需押金办卡"


def test_a_guess_is_confirmed_before_any_decision_and_passing_over_confirms_it() -> None:
    state = forms.FormState({"residence": "本区", "fines": False}, "weeks")
    t = forms.turn(CARD, state, "大概两周吧", "zh")  # asked weeks: 14 days, sure
    assert t.decision is not None and state.values["weeks"] == 14
    state = forms.FormState({"residence": "本区"}, "fines")
    t = forms.turn(CARD, state, "罚款交清了，借三周", "zh")  # a duration with no word naming its slot: a guess
    assert state.guesses == {"weeks": 21} and t.decision is None and "对吗" in (t.reply or "")
    t = forms.turn(CARD, state, "对", "zh")
    assert t.decision is not None and t.decision["decision"] == "可以办卡"
    state = forms.FormState({"residence": "本区"}, "weeks", {"fines": False}, confirming=False)
    state.asked, state.confirming, state.guesses = "residence", True, {"residence": "外区"}
    state.values = {}
    t = forms.turn(CARD, state, "你好", "zh")  # nothing said about it: asked again, no decision
    assert t.decision is None and state.guesses == {"residence": "外区"}


def test_a_fact_after_the_decision_updates_it_and_says_whether_it_changed() -> None:
    state = forms.FormState()
    t = forms.turn(CARD, state, "本区居民，没有罚款，借期十天", "zh")
    assert t.decision is not None and t.decision["decision"] == "可以办卡"
    state.asked = None
    t = forms.turn(CARD, state, "不对，借期其实是四十天", "zh")
    assert t.decision["decision"] == "借期过长" and any("结论有变化" in n for n in t.decision["notes"])


def test_scoring_counts_an_early_wrong_decision() -> None:
    decisions = {"可以提取", "暂不能提取"}
    assert score(["请问？", "可以提取。"], "可以提取", decisions)["outcome"] == "right"
    res = score(["暂不能提取。", "可以提取。"], "可以提取", decisions)
    assert res["outcome"] == "wrong" and res["early_wrong"]
    assert score(["请问？"], "可以提取", decisions)["outcome"] == "undecided"


def test_a_decision_a_later_fact_changes_is_allowed_only_before_the_end() -> None:
    decisions = {"可以提取", "暂不能提取", "需补充材料"}
    changed = ["暂不能提取。", "结论有变化：可以提取。"]
    assert score(changed, "可以提取", decisions, ["暂不能提取"])["outcome"] == "right"
    assert score(changed, "可以提取", decisions, ["需补充材料"])["outcome"] == "wrong"  # not the one listed
    res = score(["可以提取。", "暂不能提取。"], "可以提取", decisions, ["暂不能提取"])
    assert res["outcome"] == "wrong" and not res["early_wrong"]  # listed, but the last reply must be right


def test_eval_forms_runs_the_real_backend_and_reports_failures(tmp_path: Path) -> None:
    root = Path(__file__).parents[2]
    cfg = tmp_path / "plusn.yaml"
    cfg.write_text(f"data_dir: {tmp_path / 'data'}\nmodels:\n  stand-in: {{type: scripted}}\n"
                   f"agents:\n  paths: [{root / 'examples' / 'housing-fund' / 'agents'}]\n", encoding="utf-8")
    data = tmp_path / "d.jsonl"
    data.write_text('{"id": "a-1", "agent": "housing-fund", "turns": ["租房", "户口不在本市", "备案了"], '
                    '"decision": "可以提取"}\n{"id": "a-2", "agent": "housing-fund", "turns": ["你好"], '
                    '"decision": "可以提取"}\n', encoding="utf-8")
    out = tmp_path / "r.json"
    r = CliRunner().invoke(main, ["eval", "forms", "--data", str(data), "-c", str(cfg), "--no-progress",
                                  "--json", str(out)])
    assert r.exit_code == 0, r.output
    assert "1/2 decided right" in r.output and "a-2 (housing-fund): undecided" in r.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "turns": []}\n', encoding="utf-8")
    r = CliRunner().invoke(main, ["eval", "forms", "--data", str(bad), "-c", str(cfg)])
    assert r.exit_code != 0 and "bad.jsonl:1: 'agent' must be a string" in r.output


def test_eval_forms_scores_the_decision_the_agent_reports_when_its_answer_does_not_name_it(tmp_path: Path) -> None:
    agents = tmp_path / "agents"
    agents.mkdir()
    (agents / "leave.yaml").write_text(
        "name: leave\nlanguage: zh\nform:\n  slots:\n    kind: {type: enum, ask: 请什么假？, options: {年假: [年休假], 事假: [私事]}}\n"
        "  tree: {slot: kind, cases: {年假: {decision: 批准, answer: 好的，已为您办好。}, "
        "事假: {decision: 需主管审批, answer: 请找主管。}}}\n", encoding="utf-8")
    cfg = tmp_path / "plusn.yaml"
    cfg.write_text(f"data_dir: {tmp_path / 'data'}\nmodels:\n  stand-in: {{type: scripted}}\n"
                   f"agents:\n  paths: [{agents}]\n", encoding="utf-8")
    data = tmp_path / "d.jsonl"  # the answers never say 批准; a thanks after the decision repeats it
    data.write_text('{"id": "l-1", "agent": "leave", "turns": ["年假", "谢谢"], "decision": "批准"}\n'
                    '{"id": "l-2", "agent": "leave", "turns": ["有点私事"], "decision": "批准"}\n', encoding="utf-8")
    r = CliRunner().invoke(main, ["eval", "forms", "--data", str(data), "-c", str(cfg), "--no-progress"])
    assert r.exit_code == 0, r.output
    assert "1/2 decided right; 1 wrong" in r.output and "l-2 (leave): wrong" in r.output


def test_zhou_sui_is_an_age_in_years_not_weeks() -> None:
    # "十五周岁": full years of age; "十五周" alone is weeks
    (q,) = quantities("十五周岁，下个月才满十六")[:1]
    assert q.unit == "岁" and q.value == 15
    assert quantities("十五周")[0].unit == "周"


def test_a_take_back_after_something_said_corrects_it_and_answers_no_yes_no_question() -> None:
    # the 不对 corrects the weeks; it is no "no" to the fines question asked
    got = read(CARD, "借三周，不对，说错了，借两周，罚款那个", "fines", "zh").found.get("fines")
    assert got is None or not got.sure
    assert read(CARD, "不对，没有罚款", "fines", "zh").found["fines"].value is False  # opening a reply it may
    assert read(CARD, "哦，不对", "fines", "zh").found["fines"].value is False  # after a mere "oh" it is the answer


def test_an_age_said_in_english_is_read_for_the_person_the_slot_asks_about() -> None:
    own = FormSpec.model_validate({"slots": {"age": {"type": "integer", "label": "年龄", "ask": "您今年多大？",
                                                     "unit": "岁", "min": 0, "max": 120}}})
    elder = FormSpec.model_validate({"slots": {"age": {"type": "integer", "label": "老人年龄", "ask": "老人今年多大？",
                                                       "unit": "岁", "min": 0, "max": 120, "aliases": ["老人"]}}})

    def age(spec: FormSpec, text: str) -> object:
        got = read(spec, text, None, "en").found.get("age")
        return None if got is None else (got.value, got.sure)

    assert age(own, "I'm 29, just graduated") == (29, True)
    assert age(own, "29 years old") == (29, True)
    assert age(own, "my mother is 75") is None and age(own, "my car is 5 years old") is None
    assert age(elder, "she lives alone, she is 75") == (75, True)
    assert age(elder, "he turned 80 in March") == (80, True)
    assert age(elder, "I'm 45") is None  # the user's age, not the elder's
    # of one person only, now, and plainly: never these
    for text in ("I'm 82 and my son is 50", "she turns 80 in December", "he is 65 kg", "she's 70 or 80",
                 "he is 90 percent disabled", "my mother lives with my wife, she's 60", "she's 80, sorry, 79",
                 "he turned 60 in Shanghai", "两年前，he turned 79", "she is 75 and he is eighty"):
        assert age(elder, text) is None, text
    for text in ("29 years old when I graduated, now 32", "I'm 29 and my wife is 31", "帮我父亲问的，I'm 45",
                 "I'm 40 hours a week", "for my uncle, I'm 45", "it's for him, I'm 45", "车是旧车，20 years old"):
        assert age(own, text) is None, text


def test_english_numbers_past_twelve_are_numbers_with_or_without_a_unit() -> None:
    assert [(q.value, q.unit) for q in quantities("now I'm thirty-three")] == [(33, None)]
    assert [(q.value, q.unit) for q in quantities("forty five years")] == [(45, "年")]
    assert quantities("two kids") == [] and quantities("one of them") == []  # a determiner, no number


def test_an_english_negation_before_the_authors_english_word_turns_it_around() -> None:
    # the author's yes words may be English ("have fines", "owe a fine"); "don't" before one says no
    card = FormSpec.model_validate({**CARD.model_dump(), "slots": {**CARD.model_dump()["slots"], "fines": {
        **CARD.model_dump()["slots"]["fines"], "yes_words": ["有罚款", "owe a fine"]}}})

    def fines(text: str) -> bool | None:
        r = read(card, text, "fines", "zh").found.get("fines")
        return None if r is None else r.value

    assert fines("I owe a fine") is True
    for text in ("I don't owe a fine", "we do not owe a fine", "I don't really owe a fine", "I never owe a fine",
                 "No, I don't owe a fine.", "Nope, I don’t owe a fine"):
        assert fines(text) is False, text
    assert fines("no I owe a fine") is True  # a no with no break before the words: not a negation of them
    # only a reply that is a plain no and nothing else: beside a contrast, another person, another
    # time, a wish, a thing had, the negated words are read neither way (they may be said beside a
    # yes: "but I do"; or be a no the rules cannot tell: "I personally don't owe a fine"); once,
    # "…, and we don't own a car." at the end of a first message decided on a car
    for text in ("my wife doesn't owe a fine but I do", "I didn't owe a fine until last month",
                 "I wish I didn't owe a fine", "I don't owe a fine myself, my son does", "I don't owe a fine, I owe two",
                 "I don't owe a fine, 但是我老婆有", "Suppose I don't owe a fine", "It's false that I don't owe a fine",
                 "We have a parking ticket. I don't owe a fine.", "Hubby has one, I don't owe a fine",
                 "I personally don't owe a fine.", "In 2020 I didn't owe a fine.",
                 "In this library I don't owe a fine.", "Yes. I do not owe a fine.", "no one here doesn't owe a fine",
                 "Hi, we live in the city, a family of three, and we don't owe a fine."):
        assert fines(text) is None, text
    # beside another yes word or a no word it is read neither way too (either may be said of another
    # person or thing: "我没车, my wife doesn't own a car but my son does"); said again without a
    # negation, as before
    assert fines("我老公有罚款。I don't owe a fine") is None
    assert fines("没有罚款, I don't owe a fine, my son does") is None
    assert fines("I didn't owe a fine before, but now I owe a fine") is True
    # a yes word inside a no word said ("expired" in "not expired") is that no word's
    licence = FormSpec.model_validate(yaml.safe_load(
        (Path(__file__).parents[1] / "data" / "forms" / "agents" / "driving-licence.yaml").read_text("utf-8"))["form"])
    assert read(licence, "not expired yet", "expired", "zh").found["expired"].value is False
    assert "expired" not in read(licence, "it hasn't expired, I think, but 下个月到期", "expired", "zh").found


def test_an_english_word_said_of_the_other_party_is_not_the_users() -> None:
    crash = FormSpec.model_validate({"slots": {
        "fault": {"type": "boolean", "label": "主要责任", "ask": "事故认定书里，您本人负主要责任吗？",
                  "yes_words": ["at fault", "mainly responsible"], "no_words": ["not at fault"]}}})

    def fault(text: str) -> tuple[object, bool] | None:
        r = read(crash, text, None, "zh").found.get("fault")
        return None if r is None else (r.value, r.sure)

    assert fault("The police report says the other driver was fully at fault.") is None
    assert fault("The other driver was at fault, I was not at fault") == (False, True)
    # not: the user's own, with the other party after it, or in another clause
    assert fault("I was at fault, not the other driver") == (True, True)
    assert fault("It was raining on the other side. I was at fault") == (True, True)
    assert fault("I took another road and was at fault") == (True, True)  # another thing, not party


def test_a_count_said_of_another_person_in_a_correction_is_asked_about_not_taken() -> None:
    """"现在就我老婆一个人上班" counts those who work, said of the wife: no correction of the household."""
    spec = FormSpec.model_validate({
        "slots": {
            "members": {"type": "integer", "label": "家庭人口", "unit": "人", "units": {"口": 1},
                        "ask": "家里几口人？", "min": 1, "max": 20},
            "ill": {"type": "boolean", "label": "重病成员", "ask": "家里有没有重病的？"}},
        "tree": {"slot": "members", "when": [{"if": "value <= 1", "then": {"decision": "单人户"}}],
                 "default": {"slot": "ill", "cases": {"true": {"decision": "单独施保"}, "false": {"decision": "低保"}}}},
    })
    state = forms.FormState()
    t = forms.turn(spec, state, "两口人，我跟我老婆", "zh")
    assert state.values["members"] == 2 and t.asked == "ill"
    t = forms.turn(spec, state, "不对，说错了，我上个月下岗了，现在就我老婆一个人上班", "zh")
    assert state.values.get("members") != 1 and not t.corrected and t.decision is None
    assert t.asked == "members" and "哪个是对的" in (t.reply or "")  # asked, in case it was meant


def test_a_zero_inside_a_chinese_number_keeps_the_places() -> None:
    # "一百零五平" was read as 150 and gave a wrong decision; 一百五 is 150, 一百零五 is 105
    assert [q.value for q in quantities("一百零五平")] == [105]
    assert [q.value for q in quantities("两千零五块")] == [2005]
    assert [q.value for q in quantities("三万零五百")] == [30500]
    assert [q.value for q in quantities("一百五")] == [150] and [q.value for q in quantities("两千五")] == [2500]
    # digits with a place word: "2千零50" is 2050 (was 2000 and 50), "2千5" 2500, "1万2" 12000
    assert [q.value for q in quantities("月收入2千零50")] == [2050]
    assert [q.value for q in quantities("2千5")] == [2500] and [q.value for q in quantities("1万2")] == [12000]
    assert [q.value for q in quantities("2千 5个人")] == [2000, 5]


def test_the_number_said_again_in_a_correction_is_the_one_corrected() -> None:
    """Said before the correction word and again after it, or the answer held said again right
    after it ("说错了，六十八是我老伴的岁数，我本人七十二"): what is corrected, not the answer."""
    said = read(CARD, "借四十天……不对，说错了，四十天是我儿子要借的，我借二十天", "weeks", "zh").found["weeks"]
    assert said.value == 20
    held = read(CARD, "哦不对，四十岁是我老伴的岁数，我今年四十二岁", None, "zh", values={"age": 40}).found
    assert held["age"].value == 42
    # said again as itself, it is the answer ("六十九，不对，是六十九周岁，虚岁七十" once read 70)
    for text in ("四十天，不对，是四十天没错，我儿子借五十天", "四十天，不对，我记错了，就是四十天，我老伴借五十天"):
        assert read(CARD, text, "weeks", "zh").found["weeks"].value == 40, text


def test_a_place_stated_before_a_question_in_the_same_message_counts() -> None:
    # "户口还在老家，能领这边的养老补贴吗？" went unread: the message asked, so every word pointing
    # at a place was skipped, the one stated of the slot too
    def where(text: str) -> str | None:
        r = read(CARD, text, None, "zh").found.get("residence")
        return None if r is None else r.value

    assert where("居住地一直在这边，能办卡吗？") == "本区"
    assert where("居住地还在老家，能办卡吗？") == "外区"
    # asked of a move or a plan, or the place said before the slot's word: nothing stated
    for text in ("居住地迁到这边，要什么材料？", "我这边想问居住地的事，能办吗？", "居住地想落在这边，可以吗？", "居住地在这边吗？"):
        assert where(text) is None, text
    # a review's: a case supposed, a time before, a doubt, a move, the user's own in a message
    # about someone else
    for text in ("如果居住地在老家，能办卡吗？", "居住地以前在老家，现在能办吗？", "居住地不知道在老家还是这边，能办吗？",
                 "居住地在老家，不过已经迁过来了，能办吗？", "我居住地在老家，能给我妈办卡吗？",
                 "孩子居住地在这边，我能办吗？", "居住地好像在这边，能办吗？", "居住地在老家吗，能办卡？"):
        assert where(text) is None, text



# A form of its own with a place and a thing that is somewhere: a library card for non-residents.
VISITOR = FormSpec.model_validate({
    "slots": {
        "hukou": {"type": "enum", "label": "户籍", "ask": "您是本市户籍还是外地户籍？",
                  "options": {"本市": ["本市户口", "本地户口"], "外地": ["外地户口", "外省"]}},
        "permit": {"type": "boolean", "label": "居住证", "ask": "您有本市居住证吗？",
                   "yes_words": ["有居住证"], "no_words": ["没有居住证"]},
    },
    "tree": {"slot": "hukou", "cases": {"本市": {"decision": "免押金"},
                                        "外地": {"slot": "permit", "cases": {"true": {"decision": "免押金"},
                                                                             "false": {"decision": "交押金"}}}}},
})


def test_here_said_of_another_slots_thing_is_no_answer_to_the_place() -> None:
    got = read(VISITOR, "户口在河南老家，这边有居住证", "hukou", "zh").found
    assert got["hukou"].value == "外地" and got["hukou"].sure  # 这边 is where the permit is
    assert got["permit"].value is True
    assert read(VISITOR, "在这边", "hukou", "zh").found["hukou"].value == "本市"  # alone, it answers
