"""What a form believes of one conversation (:class:`FormState`, kept between turns) and what
one turn did (:class:`Turn`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .answers import show
from .spec import FormSpec


@dataclass
class FormState:
    values: dict[str, Any] = field(default_factory=dict)  # the answers known with confidence
    asked: str | None = None  # the slot the last question was about
    guesses: dict[str, Any] = field(default_factory=dict)  # values read with low confidence, to confirm
    confirming: bool = False  # the last question asked to confirm guesses[asked]
    conflict: Any = None  # the last question asked which of two values of ``asked`` is right: the new one
    decided: str | None = None  # the decision already given in this conversation
    # slot → [value, the words of the bound it stands for, the bound's ends]: the words are shown for
    # the value, and a number inside the bound refines it without a question
    said: dict[str, list[Any]] = field(default_factory=dict)
    vague: dict[str, str] = field(default_factory=dict)  # slot → a bound too loose to decide on: ask the number
    denied: dict[str, list[Any]] = field(default_factory=dict)  # slot → guesses the user said no to
    # slots whose guess only a yes confirms: inferred, not read, or met once by a no of another question
    implied: list[str] = field(default_factory=list)
    noted: list[str] = field(default_factory=list)  # guesses restated with the last question: an answer confirms them
    passed: list[str] = field(default_factory=list)  # guesses confirmed by an answer to something else
    contested: bool = False  # ``conflict`` was read with confidence: if the user passes over, neither holds

    def as_dict(self) -> dict[str, Any]:
        return {"values": self.values, "asked": self.asked, "guesses": self.guesses, "confirming": self.confirming,
                "conflict": self.conflict, "decided": self.decided, "said": self.said, "vague": self.vague,
                "denied": self.denied, "implied": self.implied, "noted": self.noted,
                "passed": self.passed, "contested": self.contested}

    @classmethod
    def of(cls, d: dict[str, Any] | None) -> FormState:
        d = d or {}
        return cls(values=dict(d.get("values") or {}), asked=d.get("asked"), guesses=dict(d.get("guesses") or {}),
                   confirming=bool(d.get("confirming")), conflict=d.get("conflict"),
                   contested=bool(d.get("contested")), decided=d.get("decided"), said=dict(d.get("said") or {}),
                   vague=dict(d.get("vague") or {}), denied=dict(d.get("denied") or {}),
                   implied=list(d.get("implied") or []), noted=list(d.get("noted") or []),
                   passed=list(d.get("passed") or []))

    def shown(self, name: str, value: Any, lang: str, spec: FormSpec) -> str:
        """A slot's value as the user reads it: the words of the bound it came from, if it did,
        else the value with the unit a number counts in ("13个月", not a 13 that may be years)."""
        said = self.said.get(name)
        if said and said[0] == value:
            return str(said[1])
        slot = spec.slots.get(name)
        return show(value, lang, slot.shown_unit() if slot is not None else None)

    def believed(self) -> dict[str, Any]:
        """The values the tree is walked with: the sure ones and the guesses still to confirm."""
        return {**self.guesses, **self.values}


@dataclass
class Turn:
    """What one turn of the form did, and what to say."""

    reply: str | None = None  # the next question (the form waits), else None
    asked: str | None = None
    decision: dict[str, Any] | None = None  # when the tree reached a leaf
    filled: dict[str, Any] = field(default_factory=dict)
    corrected: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    rejected: dict[str, str] = field(default_factory=dict)
    guessed: dict[str, Any] = field(default_factory=dict)
    confirmed: dict[str, Any] = field(default_factory=dict)
