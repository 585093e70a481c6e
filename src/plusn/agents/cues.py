"""Words that name a slot ("户口", "离职"), worked out from the form itself: a bare option word
or number counts outside its question only near one (see :mod:`.recognize`)."""

from __future__ import annotations

import re

from .answers import NO, YES
from .lexicon import latin, lexicon
from .spec import FormSpec, TreeNode
from .utterance import NEGATORS

FUNCTION_WORDS = {"the", "and", "for", "with", "not", "non", "from", "you", "your", "our", "has", "have", "was", "are"}


def generic(w: str) -> bool:
    return w in YES or w in NO or all(c in NEGATORS + "是有的了" for c in w)


# A form's cue words, worked out once per form (every turn reads every slot): id → (form, words).
_CUES: dict[int, tuple[FormSpec, dict[str, list[str]]]] = {}
_CUE_FORMS = 64  # forms kept; a server has a handful, a test run makes many


def cue_words(spec: FormSpec, name: str) -> list[str]:
    """Words that name a slot (see :func:`_cue_words`), cached per form."""
    kept = _CUES.get(id(spec))
    if kept is None or kept[0] is not spec:
        if len(_CUES) >= _CUE_FORMS:
            _CUES.clear()
        kept = _CUES[id(spec)] = (spec, {})
    words_of = kept[1]
    if name not in words_of:
        words_of[name] = _cue_words(spec, name)
    return words_of[name]


def names_another(spec: FormSpec, name: str, text: str, by_word: bool = False) -> bool:
    """Whether the text names another slot and none of this one's words ("这边有居住证" of 居住证 to
    the household registration; "68是老伴的年龄" of an age to an area). ``by_word``: only by the
    author's own word for it, its label or an alias (价格 in "哦价格说错了")."""
    others = [w.lower() for n, s in spec.slots.items() if n != name for w in (s.label, *s.aliases) if w] if by_word \
        else [c for other in spec.slots if other != name for c in cue_words(spec, other)]
    t = text.lower() if by_word else text
    return not any(c in t for c in cue_words(spec, name)) and any(c in t for c in others)


def _cue_words(spec: FormSpec, name: str) -> list[str]:
    """Words that name a slot: its label, its aliases, the parts of its label its question
    repeats, and the parts its own words share (户口 of 本市户口 and 外地户口); never an option word."""
    slot = spec.slots[name]
    options = {w for s in spec.slots.values() if s.type == "enum" for ws in s.choices().values() for w in ws} | \
        {w for s in spec.slots.values() if s.type == "enum" for ws in lexicon(s).words.values() for w in ws}
    own = [w for ws in slot.choices().values() for w in ws] if slot.type == "enum" else []
    own += [*slot.yes_words, *slot.no_words]
    label = re.sub(r"[（(].*?[)）]", "", slot.label or "")
    named = {label, *slot.aliases} - set(own)  # the author's words count, unless one is a value itself
    found: set[str] = set()
    for n in (2, 3, 4):
        found |= {label[i:i + n] for i in range(len(label) - n + 1)
                  if label[i:i + n] in slot.ask or any(label[i:i + n] in w for w in own)}
    # a yes word and a no word share what names the thing asked; two yes words (or two no words)
    # share it only as the head both end in (到期 of 没到期 and 快到期): elsewhere, what they share
    # may say that answer (机场 of 到了机场才知道 and 到机场才知道, both no)
    no = set(slot.no_words) if slot.type == "boolean" else set()
    for i, a in enumerate(own):
        for b in own[i + 1:]:
            la, lb = a.lower(), b.lower()
            if latin(a) or latin(b):  # whole words: "hukou" of "local hukou" and "non-local hukou"
                shared = {w for w in set(la.split()) & set(lb.split()) if len(w) >= 3 and w not in FUNCTION_WORDS}
            else:
                shared = {a[j:j + n] for n in (2, 3, 4) for j in range(len(a) - n + 1) if a[j:j + n] in b}
            if no and (a in no) == (b in no):  # two words of one answer: only the head both end in
                shared = {w for w in shared if la.endswith(w) and lb.endswith(w)}
            found |= shared
    # a part of the label most other questions say too is the form's topic (老人 of 老人月收入, when
    # every question asks about 老人), naming none of them
    others = [f"{s.label or ''} {s.ask}" for n, s in spec.slots.items() if n != name]
    found = {w for w in found if len(w) >= 2 and w not in options and not generic(w)
             and not (others and sum(w in o for o in others) * 2 > len(others))} | named
    if slot.type in ("integer", "number"):
        found |= _branch_words(spec, name)
    # longest first, then alphabetical: ties broken by the words, not by the set's hash order (the
    # readings that take the first cue found must not change from one run to the next)
    return sorted({w.lower() if latin(w) else w for w in found if w}, key=lambda w: (-len(w), w))


def _branch_words(spec: FormSpec, name: str) -> set[str]:
    """The words of the options whose branch of the tree asks about ``name``: a number said with
    辞职 counts for the months asked only on the 离职 branch. (Numbers only: "我在本市租房"
    names a branch, not where the household is registered.)"""
    out: set[str] = set()

    def visit(node: TreeNode | None, trail: list[tuple[str, str]]) -> None:
        if node is None or node.slot is None:
            return
        if node.slot == name:
            for parent, key in trail:
                out.update(spec.slots[parent].choices().get(key, []) if spec.slots[parent].type == "enum" else [])
        for key, sub in node.cases.items():
            visit(sub, [*trail, (node.slot, key)])
        for then in (c.then for c in node.when):
            visit(then, trail)
        visit(node.default, trail)

    visit(spec.tree, [])
    return out
