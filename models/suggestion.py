"""The unit suggested at dispatch (智能派单): what a case records of it and how it is decided.

The edge asks the district's model (readmodel/unit_model.py, learned from that district's own
closed cases) for its three likeliest units. When the likeliest is at least as certain as the
operator's threshold (COMPLAINTS_SUGGEST_CERTAINTY), the model suggests it; otherwise, or with no
model, the district's routing table does (city-contract.md). Either way it is a suggestion: only a
dispatcher's `dispatch` hands the case to a unit, and the dispatch records whether it took it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from models.base import Strict

TOP = 3  # units shown to the dispatcher
# Amsterdam's classification service falls back below this certainty (Amsterdam/signals'
# classifier, its 0.41 threshold); a local default until a district measures its own.
CERTAINTY = 0.41


class SuggestedBy(StrEnum):
    model = "model"  # the district's model, certain enough
    routing = "routing"  # the district's routing table (no model, or the model unsure)


class Likely(Strict):
    """One unit the model finds likely, and how likely."""

    unit: str  # the unit's name, as `dispatch` names it
    probability: float = Field(ge=0, le=1)


class Suggestion(Strict):
    unit: str | None = None  # the unit suggested; None: neither model nor routing table knows one
    by: SuggestedBy
    likely: list[Likely] = Field(default_factory=list, max_length=TOP)  # the model's top three
    certainty: float | None = Field(default=None, ge=0, le=1)  # the model's first probability
    trained_at: datetime | None = None  # the model's training date
    why: str | None = None  # why the routing table decides, in people's words (Chinese)
    why_en: str | None = None  # the same in English


def decide(
    likely: list[Likely],
    routed: str | None,
    *,
    threshold: float = CERTAINTY,
    trained_at: datetime | None = None,
    without_model: tuple[str, str] | None = None,
) -> Suggestion:
    """The suggestion from the model's likeliest units (best first; empty: no model, and
    `without_model` says why, in Chinese and English) and the unit the routing table gives the
    category (`routed`)."""
    top = sorted(likely, key=lambda u: -u.probability)[:TOP]
    if not top:
        why, why_en = without_model or ("没有可用的派单模型", "no model to ask")
        return Suggestion(unit=routed, by=SuggestedBy.routing, why=why, why_en=why_en)
    first = top[0]
    if first.probability >= threshold:
        return Suggestion(
            unit=first.unit, by=SuggestedBy.model, likely=top, certainty=first.probability, trained_at=trained_at
        )
    return Suggestion(
        unit=routed,
        by=SuggestedBy.routing,
        likely=top,
        certainty=first.probability,
        trained_at=trained_at,
        why=f"模型把握不足（{first.probability:.0%} < {threshold:.0%}），按分派表",
        why_en=f"the model is unsure ({first.probability:.0%} < {threshold:.0%}): the routing table's unit",
    )


def taken(suggestion: Suggestion | None, department: str) -> bool | None:
    """Whether a dispatch to `department` took the suggestion; None when there was none to take."""
    if suggestion is None or suggestion.unit is None:
        return None
    return suggestion.unit == department
