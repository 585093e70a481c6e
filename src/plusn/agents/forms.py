"""Slot filling over a decision tree: what the form believes, and what it says next.

Each turn the form reads the user's message for every fact it states (:mod:`.recognize` by
rules, :mod:`.meaning` by embeddings for the answer the rules cannot read, a configured
extractor model for the long tail), then decides what the facts are worth:

- **a new value for a filled slot** replaces the old one only when the user corrects ("不对",
  "说错了", "其实是", "actually") or answers the question just asked about it; otherwise the
  form asks which is right;
- **a guess** (a match by meaning, a number with no word naming its slot) is confirmed before
  any decision rests on it: said back with the next question while one remains ("（我记下的是：
  请假天数 3。…）"), else asked about, all in one question ("您是说提取原因：租房，对吗？"); a
  user who answers something else without contradicting it has confirmed it (:mod:`.confirming`);
- **a bound** (不到一年, 二十多天, more than 2 years) decides only where it is as good as the
  number: the tree's conditions on its slot take the same branch at both ends of the interval.
  Then a point inside it is kept, and the user's own words are shown for it; otherwise the
  form asks for the exact number rather than decide on a guess;
- **a decision** is given only when every slot on the path is known with confidence. After it,
  a fact the user adds updates it, and the form says whether the outcome changed.

Then it walks the policy tree from the root: the first question whose slot is still unknown is
asked; a leaf is the decision, returned with the path taken.
"""

from __future__ import annotations

import re
from typing import Any

from ..templating import TemplateProblem, evaluate, render
from .answers import UNSURE, Invalid, fmt, validate, words
from .confirming import passed_over, plain_yes_no, settle
from .cues import cue_words
from .form_state import FormState, Turn
from .numbers import about_another
from .quantities import DURATIONS, convert_quantity, quantities
from .recognize import negated_options, read
from .spec import FormSpec, TreeNode
from .utterance import MEASURE, SOMEONE_ELSE, Read, Reading, clause_spans, topic_of
from .yes_no import negated_ask

__all__ = ["FormState", "Invalid", "Turn", "exact_for_bound", "recognise", "turn", "validate", "walk"]


def recognise(spec: FormSpec, text: str, asked: str | None, lang: str,
              values: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    """(values the rules read with confidence in the message, slots whose answer was invalid: why)."""
    got = read(spec, text, asked, lang, values)
    return {k: r.value for k, r in got.found.items() if r.sure}, got.rejected


def _step(spec: FormSpec, name: str, value: Any) -> dict[str, Any]:
    """A step of a decision's path: the slot, its label, its value and, for a number, its unit."""
    slot = spec.slots[name]
    unit = slot.shown_unit()
    return {"slot": name, "label": slot.label or name, "value": value, **({"unit": unit} if unit else {})}


def walk(spec: FormSpec, values: dict[str, Any]) -> tuple[str | None, TreeNode | None, list[dict[str, Any]]]:
    """(the slot to ask next, the leaf reached, the path so far)."""
    path: list[dict[str, Any]] = []
    if spec.tree is None:
        for name in spec.slots:
            if name not in values:
                return name, None, path
            path.append(_step(spec, name, values[name]))
        return None, TreeNode(decision="complete"), path
    node: TreeNode | None = spec.tree
    while node is not None:
        if node.decision is not None:
            return None, node, path
        assert node.slot is not None
        if node.slot not in values:
            return node.slot, None, path
        value = values[node.slot]
        path.append(_step(spec, node.slot, value))
        node = _branch(node, value, values)
    return None, None, path  # no case matched and there is no default


def _branch(node: TreeNode, value: Any, values: dict[str, Any]) -> TreeNode | None:
    """The node a value of ``node``'s slot leads to: its case, the first condition it meets, or the default."""
    key = str(value).lower() if isinstance(value, bool) else fmt(value) if isinstance(value, float) else str(value)
    nxt = node.cases.get(key)
    if nxt is None:
        for c in node.when:
            try:
                ok = evaluate(c.if_, {**values, "value": value})
            except TemplateProblem:
                ok = False
            if ok:
                nxt = c.then
                break
    return nxt if nxt is not None else node.default


def _decides(spec: FormSpec, known: dict[str, Any], name: str, points: tuple[float, ...]) -> bool:
    """Whether every node the conversation can still reach takes the same branch at each point (a
    bound's ends and the point kept). Only branches the known values lead to are weighed: a
    threshold on another case's path (the rural limit for an urban household) does not make a
    bound vague. A node whose own slot is not known yet may go any way, so all its branches are
    weighed; and when a known value changes, the bound is weighed again (:func:`_reweigh`)."""
    return _same_branch(spec.tree, [{**known, name: x} for x in points])


def _same_branch(node: TreeNode | None, at: list[dict[str, Any]]) -> bool:
    if node is None or node.decision is not None:
        return True
    if node.slot not in at[0]:
        subs = [*node.cases.values(), *(c.then for c in node.when), node.default]
    else:
        taken = {id(b): b for b in (_branch(node, p[node.slot], p) for p in at)}
        if len(taken) > 1:
            return False
        subs = list(taken.values())
    return all(_same_branch(sub, at) for sub in subs)


def _weigh_bounds(spec: FormSpec, state: FormState, got: Read) -> None:
    """Keep a bound only where it decides as the number would (see :func:`_decides`); otherwise
    drop it: the form asks for the number. (The tree's conditions are thresholds; a condition
    true only inside the interval, ``value == 5``, is not seen from its ends.)"""
    for name, r in list(got.found.items()):
        if r.span is None:
            continue
        known = {**state.believed(), **{k: x.value for k, x in got.found.items()}}
        if _decides(spec, known, name, (r.span[0], r.value, r.span[1])):
            state.said[name] = [r.value, r.said, *r.span]
            state.vague.pop(name, None)
        else:
            del got.found[name]
            got.rejected.pop(name, None)
            state.vague[name] = r.said or ""
            held = state.values.get(name, state.guesses.get(name))
            if held is not None and (name == state.asked or got.correction) and not r.span[0] <= held <= r.span[1]:
                # "不对，应该是一千二左右": a loose bound that answers or corrects withdraws the number
                # held; the form asks for the new one rather than decide on the old
                for held_in in (state.values, state.guesses, state.said):
                    held_in.pop(name, None)


def _reweigh(spec: FormSpec, state: FormState) -> None:
    """A bound kept earlier is weighed again with what is known now: a slot answered since may
    compare with it (``value > income * 0.3``), and the bound may no longer decide."""
    for name, said in list(state.said.items()):
        held = state.values if state.values.get(name) == said[0] else state.guesses
        if len(said) != 4 or held.get(name) != said[0]:
            continue
        if not _decides(spec, state.believed(), name, (said[2], said[0], said[3])):
            del held[name], state.said[name]
            state.vague[name] = str(said[1])


def expected_slot(spec: FormSpec, state: FormState) -> str | None:
    """The slot a message answers when it answers no question: the one the form would ask next,
    or, once the form has decided, the tree's first (a message after a decision is about it)."""
    if state.asked:
        return None
    need = walk(spec, state.believed())[0]
    return need if need is not None or spec.tree is None else spec.tree.slot


def turn(spec: FormSpec, state: FormState, text: str | None, lang: str,
         extracted: dict[str, Any] | None = None, meaning: dict[str, Reading] | None = None) -> Turn:
    """Read one user message (None on the first turn of a workflow that reached the form with
    nothing to read), update what the form believes and say what comes next. ``meaning``: the
    readings of the embedding pass; ``extracted``: the extractor model's values."""
    out = Turn()
    if text:
        got = _read(spec, state, text, lang)
        for name, r in (meaning or {}).items():
            if name not in got.found or (not got.found[name].sure and r.sure):
                got.found[name] = r
                got.rejected.pop(name, None)
        for name, value in (extracted or {}).items():
            if name in spec.slots and (name not in got.found or not got.found[name].sure):
                try:  # the model's answer to the question is taken; what else it read is confirmed first
                    v = validate(spec.slots[name], value, lang)
                except Invalid:
                    continue
                got.found[name] = Reading(v, sure=name == (state.asked or expected_slot(spec, state)), source="model")
                got.rejected.pop(name, None)
        # a reply that answers another slot passes over a confirmation, even with a number too
        # loose to keep ("大概五年半"): it was read, just not precisely enough; one unsure of
        # anything ("不好说，反正入职两年了") agrees to nothing
        other = any(n != state.asked for n in got.found) and not any(w in text.lower() for w in UNSURE)
        exact_for_bound(spec, state, text, got, lang)
        together = tuple(state.noted) if state.confirming else ()  # asked about with the guess confirmed
        passed_over(spec, state, text, got, out)  # (before a bound too loose to keep is set apart)
        if state.asked in got.rejected and any(n != state.asked for n in got.found):
            del got.rejected[state.asked]  # it answers another question ("三年"): kept, and this one asked again
        _weigh_bounds(spec, state, got)
        asked = state.asked
        settle(spec, state, text, got, out, other, lang, together)
        # "不是病假，是事假" denies the option held and names another: a correction of that slot
        denied = {n for n, r in got.found.items() if spec.slots[n].type == "enum" and n in state.values
                  and state.values[n] != r.value and state.values[n] in negated_options(spec.slots[n], text)}
        _apply(spec, state, got, asked, out, denied)
        out.rejected = got.rejected
        for name in [n for n in state.vague if n in state.values]:
            del state.vague[name]  # the number came
    return _next(spec, state, out, lang)


def _read(spec: FormSpec, state: FormState, text: str, lang: str) -> Read:
    """The message's facts. After a confirmation question the user may answer the question
    that comes next instead, so the message is read as an answer to that one, and separately
    for a value of the slot being confirmed (its answer under ``state.asked``)."""
    if not state.confirming or state.asked is None:
        return read(spec, text, state.asked, lang, state.values, expected_slot(spec, state),
                    settling=state.conflict is not None)
    own = read(spec, text, state.asked, lang, state.values, confirming=True).found.get(state.asked)
    if plain_yes_no(text) is not None:
        got = read(spec, text, None, lang, state.values)  # "是的" answers the confirmation, not the next question
    else:
        rest = {k: v for k, v in state.believed().items() if k != state.asked}
        after = walk(spec, {**rest, state.asked: state.guesses.get(state.asked)})[0]
        got = read(spec, text, after, lang, state.values)
        got.rejected.clear()  # no answer to a question not yet asked is not an invalid one
    got.found.pop(state.asked, None)
    if own is not None:
        got.found[state.asked] = own
    return got


def exact_for_bound(spec: FormSpec, state: FormState, text: str, got: Read, lang: str) -> None:
    """A bare number near a bound the form holds, said as the exact figure ("两千九左右", then
    "刚查了存折，每月三千零五十", "具体是2050"), is that answer: near is within the bound's width
    beyond either end, and its clause says it is exact or names the slot, and no one else
    ("有个儿子，每个月打给我八百五", "老伴七十七了" are not). It refines the bound, or, outside it,
    is a new value (asked about like any other: see :func:`_apply`). Only where one bound is
    held and no slot read the number already."""
    believed = state.believed()
    held = [(n, said) for n, said in state.said.items() if len(said) == 4 and believed.get(n) == said[0]]
    taken = {r.at for r in got.found.values() if r.at is not None}
    if len(held) != 1 or held[0][0] in got.found:
        return
    name, (_, _, low, high) = held[0]
    slot, width = spec.slots[name], high - low
    spans, cues = clause_spans(text), cue_words(spec, name)
    for q in quantities(text):
        v = convert_quantity(q, slot.counts_in(), slot.unit_words())
        ts, te = topic_of(spans, q.start)  # its clause and the one before ("刚查了，每月三千零五十")
        clause = text[ts:te].lower()
        # of whom: another person, or the user where the slot is about someone else ("我今年八十了"
        # beside an elder's age)
        of_another = (_FIRST_PERSON if about_another(slot) else SOMEONE_ELSE).search(clause) is not None
        said_so = (_EXACTLY.search(clause) or any(c in clause for c in cues)) and not of_another
        counted = q.counted or (q.unit is None and MEASURE.match(text, q.end) is not None)  # 兄妹三个
        if q.start not in taken and v is not None and not v.bounded and not counted and said_so and \
                low - width <= v.value <= high + width:
            try:
                got.found[name] = Reading(validate(slot, v.value, lang), sure=True, at=q.start)
            except Invalid:
                continue
            return


# the user speaking of themselves (not "我爸", "我妈", "我家")
_FIRST_PERSON = re.compile(r"我(?![们家爸妈父母])|本人|\bI\b|\bmy\b|\bme\b", re.I)
# words that say a figure is the exact one ("具体是", "刚查了", "准确地说")
_EXACTLY = re.compile(r"具体|准确|确切|精确|实际|其实|查了|看了|算了一下|一算|exactly|precisely|actually", re.I)


def _within(said: list[Any] | None, old: Any, value: Any) -> bool:
    """Whether ``value`` is inside the bound that ``old`` was stored for (see FormState.said)."""
    return said is not None and len(said) == 4 and said[0] == old and said[2] <= value <= said[3]


# a question about what was done before something ("就医之前有没有办理备案？"): done now is too late
_BEFORE = re.compile(r"之前|以前|事前|提前|出发前|\bbefore\b", re.I)


def _apply(spec: FormSpec, state: FormState, got: Read, asked: str | None, out: Turn, denied: set[str]) -> None:
    for name, r in got.found.items():
        old = state.values.get(name)
        if name not in state.values:
            if r.sure:
                out.filled[name] = state.values[name] = r.value
                state.guesses.pop(name, None)
            elif state.guesses.get(name) != r.value:
                out.guessed[name] = state.guesses[name] = r.value
        elif r.span is None and _within(state.said.get(name), old, r.value):
            out.filled[name] = state.values[name] = r.value  # the number a bound stood for refines it
            del state.said[name]  # and is no bound: shown as said, never weighed again
        elif old == r.value or (not r.sure and not got.correction and (r.source != "rule" or name not in state.passed)):
            # a repetition, or a guess that cannot overturn an answer the user gave ("还有半个月的课
            # 没上", "我爸妈名下有一套房子")
            state.guesses.pop(name, None)
        elif not r.sure and not got.correction:  # the rules' guess against a guess only passed over:
            state.guesses.pop(name, None)  # which is right?
            state.asked, state.conflict, state.contested = name, r.value, False
        elif not r.sure:  # a correction whose slot is a guess ("其实是七年", "actually only 8 months")
            state.guesses.pop(name, None)
            if r.source == "rule" and not got.asking and not r.bare \
                    and sum(not x.sure for x in got.found.values()) == 1:
                out.corrected[name] = (old, r.value)  # a number in the slot's own unit, stated, that
                state.values[name] = r.value  # no other slot reads: "对了，我交的其实是七年"
            else:  # in another unit, read by meaning or a model, asked about ("...也能退吗"): which is right?
                state.asked, state.conflict, state.contested = name, r.value, False
        elif name == asked or got.correction or name in denied or \
                (got.update and old is False and r.value is True and not negated_ask(spec.slots[name])
                 and not _BEFORE.search(spec.slots[name].ask)):
            # (a thing not done before and done now is an update: "出生证明今天已经办好了")
            out.corrected[name] = (old, r.value)
            state.values[name] = r.value
            if name in state.passed:
                state.passed.remove(name)  # said now, not only passed over
        else:  # a different value, said in passing: which is right?
            state.asked, state.conflict, state.contested = name, r.value, True


def _next(spec: FormSpec, state: FormState, out: Turn, lang: str) -> Turn:
    w = words(lang)
    notes = []
    if spec.confirm_corrections:
        for name, (_, new) in out.corrected.items():
            notes.append(w["corrected"].format(label=spec.slots[name].label or name,
                                               value=state.shown(name, new, lang, spec)))
    if state.conflict is not None and state.asked in spec.slots:
        slot = spec.slots[state.asked]
        q = w["conflict"].format(label=slot.label or state.asked,
                                 old=state.shown(state.asked, state.values.get(state.asked), lang, spec),
                                 new=state.shown(state.asked, state.conflict, lang, spec))
        return _ask(out, notes, q, state.asked)
    _reweigh(spec, state)
    _implied(spec, state)
    need, leaf, path = walk(spec, state.believed())
    guess = next((p["slot"] for p in path if p["slot"] in state.guesses and p["slot"] not in state.values), None)
    pending = [g for g in state.guesses if g not in state.values and g not in state.implied]
    if pending and need is not None and guess not in state.implied and need not in state.vague and \
            spec.slots[need].type != "boolean":
        # a question still to ask: the guesses go with it, said back, and its answer confirms them
        # (an inferred guess is asked about on its own, and confirmed only by a yes; before a yes/no
        # question a bare 是 or 不对 could be said of either, so the guess is asked about first)
        state.noted = pending
        shown = w["and"].join(f"{spec.slots[g].label or g} {state.shown(g, state.guesses[g], lang, spec)}" for g in state.noted)
        notes.append(w["noted"].format(values=shown))
        guess = None
    if guess is not None:
        state.asked, state.confirming = guess, True
        # the other guesses go in the same question, so that one reply settles them all: a yes,
        # or an answer to something else, confirms them; a no takes them all back, to be asked
        # again (an inferred guess needs a yes of its own, so it is asked about alone)
        on_path = {p["slot"] for p in path}  # (a guess the decision does not rest on is not asked about)
        state.noted = [] if guess in state.implied else [g for g in pending if g != guess and g in on_path]
        pairs = [w["pair"].format(label=spec.slots[g].label or g, value=state.shown(g, state.guesses[g], lang, spec))
                 for g in (guess, *state.noted)]
        return _ask(out, notes, w["confirm"].format(values=w["and"].join(pairs)), guess)
    if need is not None:
        if need in out.rejected:
            notes.append(w["invalid"].format(why=out.rejected[need]))
        state.asked = need
        if need in state.vague:  # a bound that could go either way: the number decides
            label = spec.slots[need].label or need
            return _ask(out, notes, w["exact"].format(said=state.vague[need], label=label), need)
        return _ask(out, notes, render(spec.slots[need].ask, dict(state.values)), need)
    state.asked = None
    if leaf is None:
        out.decision = {"decision": None, "path": path, "values": dict(state.values), "answer": None,
                        "notes": notes}
        return out
    if state.decided is not None and (out.filled or out.corrected or out.confirmed):
        notes.append(w["unchanged" if state.decided == leaf.decision else "changed"])
    state.decided = leaf.decision
    answer = _answer(spec, state, leaf.answer, leaf.decision) if leaf.answer else leaf.decision
    out.decision = {"decision": leaf.decision, "path": path, "values": dict(state.values), "answer": answer,
                    "notes": notes}
    return out


def _implied(spec: FormSpec, state: FormState) -> None:
    """An option the user's other answers imply, as a guess to confirm. Someone who answers the
    questions of one branch ("借用二十天" to a form that asks the days only after 显示器) while
    the question that chooses the branch went unread is likely on that branch: when the answers
    known with confidence fit under one option only, one of them asked under no other, that
    option is offered for confirmation, and only a yes confirms it: the user never said it, so
    answering something else does not (as it does for a reading of what they said); never
    offered again once denied. A branch that decides at once asks nothing, so any answer fits
    it: "交了三年" implies nothing where 本人意愿 decides without asking. An implied option that another reading of the
    message contradicts leaves both in doubt: neither is offered."""
    node, known = spec.tree, state.values
    while node is not None and node.decision is None and node.slot in known:
        node = _branch(node, known[node.slot], known)
    if node is None or node.slot is None or not node.cases or spec.slots[node.slot].type != "enum":
        return
    given = set(state.values) - _asked_above(spec.tree, node) - {node.slot}
    if not given:
        return
    branches = {o: node.cases.get(o) or node.default for o in spec.slots[node.slot].choices()}
    reach = {o: _asked_in(b) for o, b in branches.items()}
    fits = [o for o, r in reach.items() if (given <= r or _leaf(branches[o])) and o not in state.denied.get(node.slot, [])]
    only = {s for s in given if sum(s in r for r in reach.values()) == 1}
    if len(fits) != 1 or not only:
        return
    held = state.guesses.get(node.slot)
    if held is None:
        state.guesses[node.slot] = fits[0]
        state.implied.append(node.slot)
    elif held != fits[0]:
        del state.guesses[node.slot]  # the message read one way, the answers imply another: ask
        if node.slot in state.implied:
            state.implied.remove(node.slot)


def _leaf(node: TreeNode | None) -> bool:
    return node is not None and node.decision is not None


def _asked_in(node: TreeNode | None) -> set[str]:
    """The slots a subtree asks about."""
    if node is None or node.decision is not None:
        return set()
    subs = [*node.cases.values(), *(c.then for c in node.when), node.default]
    return {node.slot or ""} | {s for sub in subs for s in _asked_in(sub)}


def _asked_above(root: TreeNode | None, target: TreeNode) -> set[str]:
    """The slots asked on the way from the root down to ``target``."""
    if root is None or root is target or root.decision is not None:
        return set()
    for sub in [*root.cases.values(), *(c.then for c in root.when), root.default]:
        if sub is target or (sub is not None and _target_in(sub, target)):
            return {root.slot or ""} | _asked_above(sub, target)
    return set()


def _target_in(node: TreeNode, target: TreeNode) -> bool:
    """Whether ``target`` is ``node`` or below it."""
    if node is target:
        return True
    if node.decision is not None:
        return False
    return any(sub is not None and _target_in(sub, target)
               for sub in [*node.cases.values(), *(c.then for c in node.when), node.default])


def _answer(spec: FormSpec, state: FormState, template: str, decision: str | None) -> str:
    """The decision's answer, with a bound's words where its value is shown ("您离职二十多天"),
    or with the numbers if the template computes with them."""
    # only where the template shows the value as it is ({{ days }}): one that computes with it
    # ({{ days * 2 }}) gets the number
    words_of = {n: said[1] for n, said in state.said.items() if state.values.get(n) == said[0] and n in spec.slots
                and re.search(r"\{\{\s*" + re.escape(n) + r"\s*\}\}", template)
                and not re.search(r"\{\{[^}]*\b" + re.escape(n) + r"\b[^}]*[-+*/%|][^}]*\}\}|"
                                  r"\{\{[^}]*[-+*/%][^}]*\b" + re.escape(n) + r"\b[^}]*\}\}", template)}
    try:
        text = render(template, {**state.values, **words_of, "decision": decision})
    except TemplateProblem:
        return render(template, {**state.values, "decision": decision})
    for name, said in words_of.items():
        for lead in (said[:2], said[:1]):  # "孩子满 {{ age }}" with "满六岁": 满 once
            if re.search(rf"{re.escape(lead)}\s*\{{\{{\s*{re.escape(name)}\s*\}}\}}", template):
                text = re.sub(rf"{re.escape(lead)}\s*(?={re.escape(said)})", "", text)
        units = spec.slots[name].unit_words()
        if any(q.unit for q in quantities(said, units)):  # the words have their unit: the template's is one too many
            unit = "|".join(re.escape(u) for u in sorted({*DURATIONS, *units, "周岁"}, key=lambda u: (-len(u), u)))
            text = re.sub(rf"{re.escape(said)}\s*(?:{unit})(?![A-Za-z])", said.replace("\\", "\\\\"), text)
    return text


def _ask(out: Turn, notes: list[str], question: str, slot: str) -> Turn:
    out.reply = "\n".join([*notes, question])
    out.asked = slot
    return out
