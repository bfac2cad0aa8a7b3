"""Strong signals in what people say (强信息, seed 001): a threat to life, a danger to the public,
a group about to act. The rules are data (runtime/config/risk.toml); this is how they are read
and how a text is judged, with no I/O, so the same text is judged the same everywhere.

A text is first normalised: NFKC (full-width digits and letters become ASCII, １２ → 12),
traditional characters turned to simplified (OpenCC's t2s tables, opencc-python-reimplemented; a
text holding none of the characters those tables change is left as it is), and
spaces removed. A rule then fires when one of its patterns matches, unless the clause it matches in
(up to the next 。！？；，,.!?; or line end) also holds one of the rule's exclusions (防止轻生宣传 is
not a threat), or a negation stands right before the match (我不会跳楼). The case's level is its
highest rule's; every rule that fired is a reason."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from typing import Any

from pydantic import Field

from models.base import Strict

CLAUSE_END = re.compile(r"[。！？；，、,.!?;\n]")
NEGATION = re.compile(r"(不会|不要|不想|没有|没想|并未|并不|绝不|不是|别|没)$")
NEGATION_REACH = 3  # characters before a match in which a negation cancels it


class RiskLevel(StrEnum):
    red = "red"  # 红色: act at once (a life, the public)
    orange = "orange"  # 橙色: a group about to act
    yellow = "yellow"  # 黄色: watch it

    @property
    def rank(self) -> int:
        return {"red": 3, "orange": 2, "yellow": 1}[self.value]


class RiskRuleError(ValueError):
    """A rule file that cannot be used, naming the rule and its field."""


@dataclass(frozen=True)
class RiskRule:
    id: str
    level: RiskLevel
    reason: str  # shown to people, Chinese first
    reason_en: str
    patterns: tuple[re.Pattern[str], ...]
    unless: tuple[re.Pattern[str], ...] = ()
    # Patterns that must also match somewhere in the text for this rule to fire (a group with an act).
    with_any: tuple[re.Pattern[str], ...] = ()


@dataclass(frozen=True)
class Reason:
    rule: str
    level: RiskLevel
    reason: str
    reason_en: str
    matched: str  # the words that fired it, as normalised


@dataclass(frozen=True)
class Risk:
    level: RiskLevel | None  # None: no strong signal
    reasons: tuple[Reason, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return self.mark().model_dump(mode="json")

    def mark(self) -> RiskMark:
        """As a case records it."""
        return RiskMark(
            level=self.level,
            reasons=[
                RiskReason(rule=r.rule, level=r.level, reason=r.reason, reason_en=r.reason_en, matched=r.matched)
                for r in self.reasons
            ],
        )


class RiskReason(Strict):
    rule: str
    level: RiskLevel
    reason: str
    reason_en: str
    matched: str = ""  # the words that fired it; empty when a supervisor set the level


class RiskMark(Strict):
    """A case's strong signal, as filed (the edge judges the text: CaseInput.risk) or as a
    supervisor set it since (reassess_risk). No level: no strong signal."""

    level: RiskLevel | None = None
    reasons: list[RiskReason] = Field(default_factory=list)

    @property
    def red(self) -> bool:
        return self.level == RiskLevel.red

    @property
    def rank(self) -> int:
        """For ordering boards: red first (3), then orange, yellow, none (0)."""
        return self.level.rank if self.level else 0


@cache
def _to_simplified() -> Any:
    from opencc import OpenCC  # opencc-python-reimplemented: pure Python, its tables in the package

    return OpenCC("t2s")


@cache
def traditional() -> frozenset[str]:
    """The characters t2s changes, found once (0.2 s): a text without any needs no conversion,
    which costs 4 µs a character (measured: 22 ms for the longest description)."""
    convert = _to_simplified().convert
    return frozenset(ch for ch in map(chr, range(0x3400, 0xA000)) if convert(ch) != ch)


def normalise(text: str) -> str:
    """The text as the rules read it: NFKC, simplified characters, no spaces."""
    folded = unicodedata.normalize("NFKC", text)
    if not traditional().isdisjoint(folded):
        folded = _to_simplified().convert(folded)
    return re.sub(r"\s+", "", folded)


@dataclass(frozen=True)
class RiskRules:
    rules: tuple[RiskRule, ...] = field(default_factory=tuple)

    @classmethod
    def parse(cls, data: dict[str, Any], where: str = "risk rules") -> RiskRules:
        """The rules of a parsed TOML file ([[rule]] tables); RiskRuleError naming the rule."""
        traditional()  # at load (a worker's or a gateway's start), never at a filing
        found: list[RiskRule] = []
        seen: set[str] = set()
        for n, raw in enumerate(data.get("rule", [])):
            name = str(raw.get("id") or f"rule[{n}]")
            at = f"{where}: rule {name!r}"
            if not raw.get("id"):
                raise RiskRuleError(f"{at}: id is missing")
            if name in seen:
                raise RiskRuleError(f"{at}: id is used twice")
            seen.add(name)
            unknown = set(raw) - {"id", "level", "reason", "reason_en", "patterns", "unless", "with_any"}
            if unknown:
                raise RiskRuleError(f"{at}: unknown field {sorted(unknown)[0]!r}")
            try:
                level = RiskLevel(raw.get("level"))
            except ValueError:
                raise RiskRuleError(f"{at}: level must be red, orange or yellow, not {raw.get('level')!r}") from None
            for text_field in ("reason", "reason_en"):
                if not isinstance(raw.get(text_field), str) or not raw[text_field].strip():
                    raise RiskRuleError(f"{at}: {text_field} is missing")
            if not raw.get("patterns"):
                raise RiskRuleError(f"{at}: patterns is missing")
            found.append(
                RiskRule(
                    id=name,
                    level=level,
                    reason=raw["reason"],
                    reason_en=raw["reason_en"],
                    patterns=_compiled(at, "patterns", raw["patterns"]),
                    unless=_compiled(at, "unless", raw.get("unless", [])),
                    with_any=_compiled(at, "with_any", raw.get("with_any", [])),
                )
            )
        return cls(tuple(found))

    def assess(self, *texts: str | None) -> Risk:
        """The strongest signal in these texts (a complaint's title and description)."""
        text = normalise("。".join(t for t in texts if t))
        reasons = [reason for rule in self.rules if (reason := _fired(rule, text)) is not None]
        if not reasons:
            return Risk(None)
        reasons.sort(key=lambda r: -r.level.rank)
        return Risk(reasons[0].level, tuple(reasons))


def _compiled(at: str, name: str, patterns: Any) -> tuple[re.Pattern[str], ...]:
    if not isinstance(patterns, list) or not all(isinstance(p, str) and p for p in patterns):
        raise RiskRuleError(f"{at}: {name} must be a list of patterns")
    compiled = []
    for pattern in patterns:
        try:
            compiled.append(re.compile(normalise(pattern)))
        except re.error as err:
            raise RiskRuleError(f"{at}: {name}: {pattern!r} is not a pattern ({err})") from None
    return tuple(compiled)


def _fired(rule: RiskRule, text: str) -> Reason | None:
    if rule.with_any and not any(p.search(text) for p in rule.with_any):
        return None
    for pattern in rule.patterns:
        for match in pattern.finditer(text):
            if _negated(text, match.start()) or _excluded(rule, text, match):
                continue
            return Reason(rule.id, rule.level, rule.reason, rule.reason_en, match.group(0))
    return None


def _negated(text: str, start: int) -> bool:
    return NEGATION.search(text[max(0, start - NEGATION_REACH) : start]) is not None


def _excluded(rule: RiskRule, text: str, match: re.Match[str]) -> bool:
    """An exclusion in the clause the match stands in."""
    starts = [m.end() for m in CLAUSE_END.finditer(text, 0, match.start())]
    begin = starts[-1] if starts else 0
    end_match = CLAUSE_END.search(text, match.end())
    clause = text[begin : end_match.start() if end_match else len(text)]
    return any(p.search(clause) for p in rule.unless)
