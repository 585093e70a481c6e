"""Find PII and secrets, replace them with placeholders, and put them back afterwards.

What is found, and how false alarms are kept down:

- Chinese resident ID numbers: 18 characters with a valid birth date and ISO 7064 checksum;
- Chinese mobile numbers: 11 digits starting 13–19, optionally +86, not inside a longer number;
- bank cards: 13–19 digits (spaces or dashes between groups allowed) passing the Luhn check;
- e-mail addresses;
- secrets: private-key blocks, API keys of well-known shapes (OpenAI, Anthropic, AWS, GitHub,
  GitLab, Slack, Google, Stripe), JWTs, bearer tokens, and ``password=…`` / ``密码：…`` values.

Placeholders look like ``[PHONE_1]``. A :class:`Vault` keeps the mapping for one request, so
the same value always gets the same placeholder and a reply that quotes a placeholder can be
restored. Names and street addresses are not detected: without a model they cannot be found
reliably, and false alarms would mangle ordinary text.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def valid_cn_id(s: str) -> bool:
    s = s.upper()
    if not re.fullmatch(r"\d{17}[\dX]", s):
        return False
    try:
        dt.date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        return False
    total = sum(int(d) * w for d, w in zip(s[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == s[17]


def luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


@dataclass(frozen=True)
class Kind:
    name: str  # the placeholder's label
    category: str  # "pii" or "secret"
    pattern: re.Pattern[str]
    check: Callable[[str], bool] | None = None
    group: int = 0  # the part of the match that is the value


_NOT_DIGIT_BEFORE = r"(?<![\dA-Za-z])"
_NOT_DIGIT_AFTER = r"(?![\dA-Za-z])"

KINDS: tuple[Kind, ...] = (
    Kind("PRIVATE_KEY", "secret", re.compile(
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]+?-----END [A-Z ]*PRIVATE KEY-----")),
    Kind("API_KEY", "secret", re.compile(
        r"\b(?:sk-ant-[A-Za-z0-9_\-]{20,}|sk-(?:proj-)?[A-Za-z0-9_\-]{20,}|AKIA[0-9A-Z]{16}|"
        r"gh[pousr]_[A-Za-z0-9]{36,}|glpat-[A-Za-z0-9_\-]{20,}|xox[abprs]-[A-Za-z0-9\-]{10,}|"
        r"AIza[0-9A-Za-z_\-]{35}|[rs]k_live_[0-9A-Za-z]{20,})")),
    Kind("TOKEN", "secret", re.compile(r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}")),
    Kind("TOKEN", "secret", re.compile(r"(?i)\bbearer\s+([A-Za-z0-9_\-.=]{16,})"), group=1),
    Kind("PASSWORD", "secret", re.compile(
        r"(?i)(?:password|passwd|pwd|secret|口令|密码)\s*(?:is|为|是)?\s*[:=：]?\s*([^\s,;，；。'\"]{4,})"), group=1),
    Kind("EMAIL", "pii", re.compile(r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}\b")),
    Kind("ID_CARD", "pii", re.compile(_NOT_DIGIT_BEFORE + r"(\d{17}[\dXx])" + _NOT_DIGIT_AFTER),
         lambda v: valid_cn_id(v), group=1),
    Kind("BANK_CARD", "pii", re.compile(_NOT_DIGIT_BEFORE + r"((?:\d[ \-]?){12,18}\d)" + _NOT_DIGIT_AFTER),
         lambda v: 13 <= len(re.sub(r"\D", "", v)) <= 19 and luhn(re.sub(r"\D", "", v)), group=1),
    Kind("PHONE", "pii", re.compile(r"(?<![\d+])((?:\+?86[ \-]?)?1[3-9]\d[ \-]?\d{4}[ \-]?\d{4})(?!\d)"), group=1),
)


@dataclass
class Finding:
    kind: str
    category: str
    start: int
    end: int


@dataclass
class Vault:
    """The placeholders of one request, both ways."""

    by_value: dict[str, str] = field(default_factory=dict)
    by_placeholder: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def placeholder(self, kind: str, value: str) -> str:
        p = self.by_value.get(value)
        if p is None:
            self.counts[kind] = self.counts.get(kind, 0) + 1
            p = f"[{kind}_{self.counts[kind]}]"
            self.by_value[value] = p
            self.by_placeholder[p] = value
        return p


def find(text: str, categories: frozenset[str] = frozenset({"pii", "secret"})) -> list[Finding]:
    """Non-overlapping findings, earlier kinds (secrets) winning over later ones."""
    taken: list[Finding] = []
    for kind in KINDS:
        if kind.category not in categories:
            continue
        for m in kind.pattern.finditer(text):
            start, end = m.span(kind.group)
            value = m.group(kind.group)
            if kind.check is not None and not kind.check(value):
                continue
            if any(start < f.end and f.start < end for f in taken):
                continue
            taken.append(Finding(kind.name, kind.category, start, end))
    return sorted(taken, key=lambda f: f.start)


def redact(text: str, vault: Vault | None = None) -> tuple[str, list[Finding]]:
    """The text with every finding replaced by its placeholder (or ``[KIND]`` without a vault)."""
    findings = find(text)
    if not findings:
        return text, []
    out, pos = [], 0
    for f in findings:
        out.append(text[pos : f.start])
        value = text[f.start : f.end]
        out.append(vault.placeholder(f.kind, value) if vault is not None else f"[{f.kind}]")
        pos = f.end
    out.append(text[pos:])
    return "".join(out), findings


def scrub(obj: Any) -> Any:
    """The same JSON-like structure with PII and secrets in its strings replaced by their kind."""
    if isinstance(obj, str):
        return redact(obj)[0]
    if isinstance(obj, dict):
        return {k: scrub(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [scrub(v) for v in obj]
    return obj


_PLACEHOLDER = re.compile(r"\[[A-Z_]+_\d+\]")


def restore(text: str, vault: Vault) -> str:
    if not vault.by_placeholder:
        return text
    return _PLACEHOLDER.sub(lambda m: vault.by_placeholder.get(m.group(0), m.group(0)), text)


class StreamRestorer:
    """Restore placeholders in a stream whose pieces may split one: hold back a trailing ``[…``."""

    def __init__(self, vault: Vault, longest: int = 40) -> None:
        self.vault = vault
        self.held = ""
        self.longest = longest

    def feed(self, piece: str) -> str:
        text = self.held + piece
        cut = text.rfind("[")
        if cut != -1 and "]" not in text[cut:] and len(text) - cut <= self.longest:
            self.held, text = text[cut:], text[:cut]
        else:
            self.held = ""
        return restore(text, self.vault)

    def flush(self) -> str:
        text, self.held = self.held, ""
        return restore(text, self.vault)
