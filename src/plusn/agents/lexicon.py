"""The words of a slot's options as people say them, derived from the words the author gave.

An author lists a few words per option; people say others built the same way. Two general
derivations, neither a list of phrasings:

- **heads and bases.** Words of different options that end alike (本市户口 / 外地户口, "local
  hukou" / "non-local hukou") end in the slot's head noun (户口, hukou); what comes before it is
  the option's base (本市, "local"). A word that is another of the options' words with more after
  it shows a head too (外地人 is 外地 + 人). Every base of an option with every head is a word of
  that option: 外地人 gives 本地人; base + head names the slot itself, the specific kind. A
  Latin base alone ("local") is a weak word, as below: "local" is said of anything. (A Chinese
  one is not taken alone: 本人 of 本人意愿 is also "I".) A word in the passive (被开除) is
  also said without its marker ("单位把我开除了").
  Particles (了, 的, 过) are no heads: 离职了 is not 离职 + a noun.
- **places.** A slot whose options are *here* and the rest (本市 / 外地, 本区 / 外区) is about
  where. The option named with 本 (this city, this district) or "local" is here; words that
  point here (这边, 这里, 当地, here) mean it, and with two options the words that point away
  (别的地方, 老家, elsewhere) mean the other. "户口不在这边" is then a negated here: the other.
  Such a word is weak ("我这边" is also "on my side").

A weak word counts only with a word naming the slot in its clause or the one before ("户口不在
这边", "my hukou is not local"); said only in reply to the question, it is a guess, confirmed
before a decision rests on it.

Latin words are compared as whole words, in lower case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .spec import Slot

_PARTICLES = set("了的过着吗呢吧啊啦呀么嘛")
_HERE_NAME = re.compile(r"^本[市省区县地镇城乡村州]")  # 本市, 本区: "this city", "this district"
# The closed class of words that point at a place from where the user stands.
HERE = ("这边", "这里", "这儿", "此地", "当地", "本地", "咱这", "我们这", "咱们这", "here", "local", "this city")
AWAY = ("外地", "别的地方", "其他地方", "别处", "老家", "外省", "外市", "elsewhere", "another city",
        "another province", "out of town", "from out of town")
_LATIN = re.compile(r"^[\x00-\x7f]+$")


@dataclass(frozen=True)
class Lexicon:
    words: dict[str, list[str]]  # option → its words (the author's first, then the derived), lower case
    bare: frozenset[str]  # derived bases: plain words, never the specific kind
    pointing: frozenset[str]  # words that point at a place: weak (see the module's docstring)
    derived: frozenset[str] = frozenset()  # joins that are likely one word, not base + head: never specific


def latin(w: str) -> bool:
    return bool(_LATIN.match(w))


def _split(word: str, head: str) -> str | None:
    """The base of ``word`` before ``head``, if it ends with it and something is left."""
    if latin(word) != latin(head) or not word.endswith(head):
        return None
    base = word[: len(word) - len(head)]
    if latin(word):  # a Latin head starts at a word: " hukou"
        return base.strip() or None if head.startswith(" ") else None
    return base if len(base) >= 2 else None


def _shared_head(a: str, b: str) -> str | None:
    """The longest ending two words share that leaves each a base: whole words for Latin
    ("hukou"), two characters or more for Chinese (户口; one, 房 of 买房 and 租房, is no noun)."""
    if latin(a) != latin(b):
        return None
    if latin(a):
        ta, tb = a.split(), b.split()
        ends = [" " + " ".join(ta[len(ta) - n:]) for n in range(min(len(ta), len(tb)) - 1, 0, -1)
                if ta[len(ta) - n:] == tb[len(tb) - n:]]
    else:
        ends = [a[len(a) - n:] for n in range(min(len(a), len(b)) - 1, 1, -1) if a[len(a) - n:] == b[len(b) - n:]]
    return next((e for e in ends if _split(a, e) and _split(b, e)), None)


def heads(choices: dict[str, list[str]]) -> tuple[set[str], set[str]]:
    """(the endings that name the slot itself, those of them shared by two options: the only
    ones a base is cut from). See the module's docstring."""
    own = [(canon, w.lower()) for canon, ws in choices.items() for w in ws]
    shared = {e for i, (ca, a) in enumerate(own) for cb, b in own[i + 1:]
              if ca != cb and (e := _shared_head(a, b))}
    found = set(shared)
    for _, a in own:  # a word that is another word with more after it: 外地人 = 外地 + 人
        for _, b in own:
            if a != b and a.startswith(b) and latin(a) == latin(b):
                rest = a[len(b):]
                if (rest.startswith(" ") and rest.strip()) or (not latin(rest) and rest):
                    found.add(rest)
    found = {h for h in found if not set(h.strip()) <= _PARTICLES}
    return found, shared & found


def _suffix_owners(choices: dict[str, list[str]]) -> dict[str, set[str]]:
    """Each ending cut off a longer word of an option (外地人 = 外地 + 人): the options it was seen in."""
    out: dict[str, set[str]] = {}
    own = [(canon, w) for canon, ws in choices.items() for w in ws]
    for ca, a in own:
        for _, b in own:
            if a != b and a.startswith(b) and latin(a) == latin(b):
                out.setdefault(a[len(b):], set()).add(ca)
    return out


def _here_option(choices: dict[str, list[str]]) -> str | None:
    """The one option named as the place the user is in (本市, 本区, local), if there is one."""
    here = [c for c, ws in choices.items() if any(_HERE_NAME.match(w) or w.lower() in ("local", "here") for w in ws)]
    return here[0] if len(here) == 1 else None


_KEPT: dict[int, tuple[Slot, Lexicon]] = {}


def lexicon(slot: Slot) -> Lexicon:
    """The slot's words, derived once per slot."""
    kept = _KEPT.get(id(slot))
    if kept is not None and kept[0] is slot:
        return kept[1]
    if len(_KEPT) >= 512:
        _KEPT.clear()
    lex = _derive(slot)
    _KEPT[id(slot)] = (slot, lex)
    return lex


def _derive(slot: Slot) -> Lexicon:
    choices = {c: [w.lower() for w in ws] for c, ws in slot.choices().items()}
    taken = {w for ws in choices.values() for w in ws}
    ends, shared = heads(choices)
    bases: dict[str, set[str]] = {c: set() for c in choices}
    for canon, ws in choices.items():
        for w in ws:
            bases[canon] |= {b for h in shared if (b := _split(w, h))}
    words = {c: list(ws) for c, ws in choices.items()}
    for canon, ws in choices.items():  # 被开除 is also said 单位把我开除了: the verb without the passive,
        # unless another option says it too (停卡 of 被停卡 is also in 自己停卡)
        words[canon] += [w[1:] for w in ws if len(w) >= 3 and w[0] == "被" and w[1:] not in taken
                         and not any(w[1:] in o for c, os in choices.items() if c != canon for o in os)]
    bare: set[str] = set()
    # A word joined from a base and an ending seen only in that same option's words (房贷 + the 款
    # of 还贷款, 租房 + the 子 of 租房子: 房贷款, 房子 are one word, not base and head) is made, not
    # said: it is kept, but never the specific kind. Across options (本地 + the 人 of 外地人) or
    # with a head two options share (户籍), the join is the analogy a speaker makes.
    owners = _suffix_owners(choices)
    weakly_made: set[str] = set()
    for canon, bs in bases.items():
        every = bs | {w for w in choices[canon] if not any(w.endswith(h) for h in ends)}
        for b in sorted(bs - taken):
            if latin(b):  # "local" of "local hukou"; a Chinese base cut off (本人 of 本人意愿) may be a pronoun
                words[canon].append(b)
                bare.add(b)
        for b in sorted(every):
            for h in sorted(ends):
                joined = b + h if latin(b) == latin(h) else ""
                if joined and joined not in taken and all(joined not in ws for ws in words.values()):
                    words[canon].append(joined)
                    if h not in shared and canon in owners.get(h, {canon}):
                        weakly_made.add(joined)
    pointing = frozenset(_places(choices, words))
    return Lexicon(words, frozenset(bare), pointing, frozenset(weakly_made))


def _places(choices: dict[str, list[str]], words: dict[str, list[str]]) -> set[str]:
    """Adds the words that point here or away to a here/elsewhere slot's options; returns them."""
    pointing: set[str] = set()
    here = _here_option(choices)
    if here is None:
        return pointing
    away = [c for c in choices if c != here]
    for group, owner in ((HERE, here), (AWAY, away[0] if len(away) == 1 else None)):
        for w in group:
            if owner is not None and all(w not in ws for ws in words.values()):
                words[owner].append(w)
                pointing.add(w)
    return pointing


def specific(lex: Lexicon, word: str) -> bool:
    """A word that holds another of the options' words (外地户口 holds 外地) is the specific kind;
    a join within one option's own words never is (房贷款, made of 房贷 and the 款 of 还贷款, may
    be a loan for a purchase)."""
    word = word.lower()
    return word not in lex.bare and word not in lex.pointing and word not in lex.derived and \
        any(w != word and w in word for ws in lex.words.values() for w in ws)
