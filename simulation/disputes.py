"""Disputes in the simulated year: a share of the complaints is taken to mediation, and how the
mediation goes does not depend on the policy (how long the parties need, whether they can agree
at all, whether the agreement is honoured). Each policy's mediation term (sla/policies.py
DISPUTE_RULES, or a draft's) then decides which agreements came in time and which disputes were
referred when the term ran out: the same year under every term, as for the complaints."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from simulation.clock import Deadlines
from simulation.inputs import Inputs
from simulation.model import Case, Choice
from sla.policies import MilestoneRule

SALT = 7_919  # the disputes' own random stream: the complaints' draws are left as they were


@dataclass(slots=True)
class Mediation:
    start: float  # when the complaint was taken to mediation (its dispatch)
    kind: str
    needs: float  # seconds the parties need to reach an agreement
    can_agree: bool
    honoured: bool


def mediations(inputs: Inputs, cases: list[Case], seed: int) -> list[Mediation]:
    d = inputs.disputes
    if d is None:
        return []
    rng = random.Random(seed * 1_000_003 + SALT)
    kinds = Choice({k.value: w for k, w in d.kinds.items()})
    found = []
    for case in cases:
        if rng.random() >= d.share:
            continue
        found.append(
            Mediation(
                start=case.dispatched_at if case.dispatched_at is not None else case.arrival,
                kind=kinds(rng),
                needs=d.mediation.draw(rng),
                can_agree=rng.random() < d.agreement,
                honoured=rng.random() < d.honoured,
            )
        )
    return found


def judge(found: list[Mediation], rules: tuple[MilestoneRule, ...], book: Deadlines, end: float) -> dict[str, Any]:
    """Counts under one policy: mediations started in the period, agreements within the term,
    referrals when it ran out, settled (agreement honoured), days to agreement."""
    term = next((r for r in rules if r.name == "mediation"), None)
    counts = {"mediations": 0, "agreed": 0, "referred": 0, "settled": 0, "open": 0}
    days: list[float] = []
    for m in found:
        if m.start > end:
            continue
        counts["mediations"] += 1
        due = book.of(term.duration_for("", "", m.kind), m.start) if term else float("inf")
        agreed_at = m.start + m.needs if m.can_agree else None
        if agreed_at is not None and agreed_at <= due:
            counts["agreed"] += 1
            counts["settled"] += m.honoured
            days.append(m.needs / 86400)
        elif due <= end:
            counts["referred"] += 1
        else:
            counts["open"] += 1
    return {**counts, "days_to_agreement": sorted(days)}
