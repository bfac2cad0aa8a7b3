"""The disputes' figures (矛盾纠纷化解), from the read model: how many were mediated, how many ended
in an agreement (调解成功率), how many agreements were honoured (履行率), how long an agreement took,
and where the others went. Counted by when mediation started; one row per kind or organisation."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from models.scope import Seen
from readmodel.counting import percent
from readmodel.scope import seen_where
from readmodel.store import ReadModel
from readmodel.tables import CaseRow, MilestoneRow, table_of

C = table_of(CaseRow).c
GROUPS = {"kind": C.dispute_kind, "organisation": C.mediation_org}


@dataclass
class DisputeFigures:
    group: str
    mediations: int = 0
    open: int = 0
    agreed: int = 0  # reached at least one agreement
    referred: int = 0
    withdrawn: int = 0
    settled: int = 0  # closed: every obligation honoured
    fulfilment_checks: int = 0
    honoured: int = 0
    days_to_agreement: list[float] = field(default_factory=list)
    roads: Counter[str] = field(default_factory=Counter)

    @property
    def concluded(self) -> int:
        """Mediations that came to an end of mediation: an agreement, or a referral (a withdrawal
        is the parties' own choice and counts neither way)."""
        return self.agreed + self.referred

    @property
    def success_rate(self) -> float | None:
        """调解成功率: agreements ÷ mediations concluded."""
        return self.agreed / self.concluded if self.concluded else None

    @property
    def fulfilment_rate(self) -> float | None:
        """履行率: obligations honoured ÷ fulfilment checks."""
        return self.honoured / self.fulfilment_checks if self.fulfilment_checks else None

    @property
    def success_shown(self) -> str:
        """调解成功率 as every rate of the statistics is shown (readmodel/counting.py percent)."""
        return percent(self.agreed, self.concluded)

    @property
    def fulfilment_shown(self) -> str:
        return percent(self.honoured, self.fulfilment_checks)

    def percentile(self, q: float) -> float | None:
        if not self.days_to_agreement:
            return None
        ordered = sorted(self.days_to_agreement)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def add(self, row: Any) -> None:
        self.mediations += 1
        self.open += row.status in ("mediating", "agreed")
        self.agreed += row.agreements > 0
        self.referred += row.status == "referred"
        self.withdrawn += row.status == "withdrawn"
        self.settled += row.status == "closed"
        self.fulfilment_checks += row.fulfilment_checks
        self.honoured += row.fulfilment_honoured
        if row.agreed_at is not None and row.mediation_started_at is not None:
            self.days_to_agreement.append((row.agreed_at - row.mediation_started_at).total_seconds() / 86400)
        if row.road:
            self.roads[row.road] += 1

    def as_json(self) -> dict[str, Any]:
        def rate(x: float | None) -> float | None:
            return None if x is None else round(x, 4)

        p50, p90 = self.percentile(0.5), self.percentile(0.9)
        return {
            "group": self.group,
            "mediations": self.mediations,
            "open": self.open,
            "agreed": self.agreed,
            "settled": self.settled,
            "referred": self.referred,
            "withdrawn": self.withdrawn,
            "success_rate": rate(self.success_rate),
            "fulfilment_checks": self.fulfilment_checks,
            "honoured": self.honoured,
            "fulfilment_rate": rate(self.fulfilment_rate),
            "days_to_agreement_p50": None if p50 is None else round(p50, 2),
            "days_to_agreement_p90": None if p90 is None else round(p90, 2),
            "referrals_by_road": dict(sorted(self.roads.items())),
        }


def dispute_figures(
    read_model: ReadModel, *, since: datetime, until: datetime, by: str | None = None, seen: Seen | None = None
) -> list[DisputeFigures]:
    """One row per group (sorted), then the total; disputes counted by when mediation started."""
    if by is not None and by not in GROUPS:
        raise ValueError(f"--by must be one of {', '.join(GROUPS)}")
    query = select(
        C.status,
        C.agreements,
        C.fulfilment_checks,
        C.fulfilment_honoured,
        C.agreed_at,
        C.mediation_started_at,
        C.road,
        (GROUPS[by] if by else C.dispute_kind).label("grouped"),
    ).where(
        C.dispute_kind.is_not(None),
        C.mediation_started_at >= since,
        C.mediation_started_at < until,
        *seen_where(seen),
    )
    groups: dict[str, DisputeFigures] = {}
    total = DisputeFigures("total")
    with read_model.engine.connect() as conn:
        for row in conn.execute(query):
            if by:
                name = row.grouped or "-"
                groups.setdefault(name, DisputeFigures(name)).add(row)
            total.add(row)
    return [groups[k] for k in sorted(groups)] + [total]


# ---- the console's 矛盾纠纷 page ------------------------------------------------------------------

M = table_of(MilestoneRow).c


@dataclass
class DisputeLine:
    case_id: str
    title: str | None
    kind: str
    organisation: str | None
    status: str
    due_at: datetime | None  # the term (mediating), the next confirmation or fulfilment date (agreed)
    due_what: str | None  # which milestone: mediation, confirmation, fulfilment:<n>
    breached: bool
    road: str | None
    closed_at: datetime | None


@dataclass
class DisputeBoard:
    mediating: list[DisputeLine]  # open mediations, the nearest term first
    agreed: list[DisputeLine]  # agreements awaiting confirmation or fulfilment, the nearest date first
    referred: list[DisputeLine]  # referrals, the latest first


def dispute_board(read_model: ReadModel, *, limit: int = 200, seen: Seen | None = None) -> DisputeBoard:
    """What the command centre watches of the disputes: one read of the open ones and their
    nearest open milestone, one of the latest referrals."""
    owed = (
        select(M.case_id, M.name, M.due_at, M.breached)
        .where(
            M.done_at.is_(None),
            M.superseded.is_(False),
            M.name.in_(("mediation", "confirmation")) | M.name.like("fulfilment:%"),
        )
        .subquery()
    )
    open_query = (
        select(
            C.case_id,
            C.title,
            C.dispute_kind,
            C.mediation_org,
            C.status,
            C.road,
            C.closed_at,
            owed.c.name,
            owed.c.due_at,
            owed.c.breached,
        )  # fmt: skip
        .join(owed, owed.c.case_id == C.case_id, isouter=True)
        .where(C.dispute_kind.is_not(None), C.status.in_(("mediating", "agreed")), *seen_where(seen))
        .order_by(C.risk_rank.desc(), owed.c.due_at)  # red disputes first (强信息), then the nearest term
    )
    referred_query = (
        select(C.case_id, C.title, C.dispute_kind, C.mediation_org, C.status, C.road, C.closed_at)
        .where(C.dispute_kind.is_not(None), C.status == "referred", *seen_where(seen))
        .order_by(C.closed_at.desc())
        .limit(limit)
    )
    nearest: dict[str, DisputeLine] = {}
    with read_model.engine.connect() as conn:
        for r in conn.execute(open_query):
            if r.case_id in nearest:
                continue  # ordered by risk, then due date: the first is the nearest
            nearest[r.case_id] = DisputeLine(
                r.case_id, r.title, r.dispute_kind, r.mediation_org, r.status, r.due_at, r.name, bool(r.breached),
                r.road, r.closed_at,
            )  # fmt: skip
        referred = [
            DisputeLine(
                r.case_id, r.title, r.dispute_kind, r.mediation_org, r.status, None, None, False, r.road, r.closed_at
            )  # fmt: skip
            for r in conn.execute(referred_query)
        ]
    lines = list(nearest.values())
    return DisputeBoard(
        mediating=[x for x in lines if x.status == "mediating"][:limit],
        agreed=[x for x in lines if x.status == "agreed"][:limit],
        referred=referred,
    )
