"""The command centre's numbers (指挥中心), answered by SQL on the read model so each page stays
fast with tens of thousands of cases: the overview, the overdue board, the department league and
the weekly trends. Every count is readmodel.counting's."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import and_, desc, func, not_, select
from sqlalchemy.sql.elements import ColumnElement

from models.scope import Seen
from models.scope import within as under
from models.tree import Tree
from readmodel.counting import C, M, Tally, by_department, by_key, by_week, count_if, owed_now, tally
from readmodel.scope import PLACE_COLUMNS, seen_where
from readmodel.store import ReadModel
from readmodel.tables import CASES, MILESTONES, OPEN, utc
from sla import BUSINESS_TZ

MIN_CASES = 10  # departments with fewer cases in the period are listed apart: their rates say little


def _overdue_cases(read_model: ReadModel, now: datetime, seen: Seen | None = None) -> int:
    query = (
        select(func.count(func.distinct(M.case_id)))
        .select_from(MILESTONES.join(CASES, C.case_id == M.case_id))
        .where(owed_now(now), *seen_where(seen))
    )
    with read_model.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


# ---- the overview ----------------------------------------------------------------------------


@dataclass
class Overview:
    today: Tally
    period: Tally
    open_now: int
    overdue_now: int
    breaches_today: int
    breaches_period: int


def start_of_day(moment: datetime) -> datetime:
    local = moment.astimezone(BUSINESS_TZ)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def overview(
    read_model: ReadModel, *, since: datetime, until: datetime, now: datetime | None = None, seen: Seen | None = None
) -> Overview:
    """The day's and the period's figures of the cases `seen` admits (None: every case)."""
    now = now or datetime.now(timezone.utc)
    today = tally(read_model, since=start_of_day(now), until=now + timedelta(seconds=1), now=now, seen=seen)
    period = tally(read_model, since=since, until=until, now=now, seen=seen)
    scoped = seen_where(seen)
    with read_model.engine.connect() as conn:
        open_now = conn.execute(select(func.count()).where(C.status.in_(OPEN), *scoped)).scalar_one()

        # The day's and the period's breaches in one pass over the breached-at index.
        day = start_of_day(now)
        breaches_today, breaches_period = conn.execute(
            select(count_if(M.breached_at >= day), count_if(M.breached_at >= since))
            .select_from(MILESTONES.join(CASES, C.case_id == M.case_id))
            .where(M.breached_at >= min(day, since), M.breached_at < until, M.breached, *scoped)
        ).one()
    return Overview(
        today=today.get("total", Tally("total")),
        period=period.get("total", Tally("total")),
        open_now=int(open_now),
        overdue_now=_overdue_cases(read_model, now, seen),
        breaches_today=int(breaches_today),
        breaches_period=int(breaches_period),
    )


# ---- red strong signals (强信息) ----------------------------------------------------------------


@dataclass
class RedCase:
    case_id: str
    title: str | None
    street: str
    received_at: datetime
    respond_due: datetime | None  # the leader's response still owed by then; None: responded

    def overdue(self, now: datetime) -> bool:
        return self.respond_due is not None and self.respond_due <= now


def red_cases(read_model: ReadModel, seen: Seen | None = None, limit: int = 50) -> list[RedCase]:
    """The open red cases the viewer sees, those still owed a leader's response first: they top
    the overview (a red case waits for no one's search)."""
    owed = and_(M.case_id == C.case_id, M.name == "respond", M.done_at.is_(None), not_(M.superseded))
    due = select(func.min(M.due_at)).where(owed).scalar_subquery()
    query = (
        select(C.case_id, C.title, C.street, C.received_at, due.label("due"))
        .where(C.risk_rank == 3, C.status.in_(OPEN), *seen_where(seen))
        .order_by(due.is_(None), due, C.received_at.desc())
        .limit(limit)
    )
    with read_model.engine.connect() as conn:
        return [RedCase(r[0], r[1], r[2], utc(r[3]), utc(r[4])) for r in conn.execute(query)]


# ---- the overdue board -----------------------------------------------------------------------


@dataclass
class OverdueCase:
    case_id: str
    title: str | None
    category: str
    street: str
    community: str
    department: str | None
    status: str
    escalated: bool
    leader: str | None
    milestone: str  # the most overdue one
    due_at: datetime
    overdue_milestones: int
    hours_late: float
    risk: str | None = None  # its strong signal's level (强信息): red ones lead the board

    def as_row(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "title": self.title,
            "category": self.category,
            "street": self.street,
            "community": self.community,
            "department": self.department,
            "status": self.status,
            "escalated": self.escalated,
            "leader": self.leader,
            "milestone": self.milestone,
            "due_at": self.due_at.isoformat(),
            "overdue_milestones": self.overdue_milestones,
            "hours_late": self.hours_late,
            "risk": self.risk,
        }


@dataclass
class Filters:
    department: str | None = None
    street: str | None = None
    category: str | None = None
    seen: Seen | None = None  # only the cases this viewer sees (models/scope.py); None: all

    def where(self) -> list[ColumnElement[bool]]:
        return [column == value for column, value in self.pairs() if value] + seen_where(self.seen)

    def pairs(self) -> list[tuple[Any, str | None]]:
        return [(C.department, self.department), (C.street, self.street), (C.category, self.category)]


@dataclass
class Page:
    rows: list[Any]  # OverdueCase on the board; readmodel.callbacks.Callback on the callback list
    total: int
    page: int
    page_size: int
    choices: dict[str, list[str]] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def overdue_board(
    read_model: ReadModel,
    filters: Filters,
    *,
    page: int = 1,
    page_size: int = 50,
    now: datetime | None = None,
) -> Page:
    """Open cases with a milestone past due, the latest first (earliest missed deadline first);
    a suspended case's clock stands still, so it is listed only for a deadline already breached."""
    now = now or datetime.now(timezone.utc)
    owed = owed_now(now)
    base = (
        select(C.case_id, func.min(M.due_at).label("due"), func.count().label("n"), func.max(C.risk_rank).label("risk"))
        .join(CASES, C.case_id == M.case_id)
        .where(owed, *filters.where())
        .group_by(C.case_id)
    )
    with read_model.engine.connect() as conn:
        # The page and the count of all in one pass over what is owed (a window over the groups).
        ranked = (
            base.add_columns(func.count().over().label("total"))
            .order_by(desc("risk"), "due", C.case_id)  # red cases first (强信息), then the longest overdue
            .limit(page_size)
            .offset((page - 1) * page_size)
            .subquery()
        )
        rows = conn.execute(
            select(
                C.case_id,
                C.title,
                C.category,
                C.street,
                C.community,
                C.department,
                C.status,
                C.escalated,
                C.leader_name,
                ranked.c.due,
                ranked.c.n,
                M.name,
                ranked.c.total,
                C.risk_level,
            )
            .join(ranked, ranked.c.case_id == C.case_id)
            .join(MILESTONES, and_(M.case_id == C.case_id, M.due_at == ranked.c.due, owed))
            .order_by(ranked.c.risk.desc(), ranked.c.due, C.case_id, M.seq)
        ).all()
        total = rows[0][12] if rows else _owed_count(conn, base, page)
        # The filters' choices: what the open cases in sight have, in one pass.
        chosen = conn.execute(
            select(C.department, C.street, C.category)
            .where(C.status.in_(OPEN), *seen_where(filters.seen))
            .group_by(C.department, C.street, C.category)
        ).all()
        choices = {
            name: sorted({r[i] for r in chosen if r[i]}) for i, name in enumerate(("department", "street", "category"))
        }
    found: dict[str, OverdueCase] = {}
    for r in rows:
        if r[0] in found:  # two milestones due at the same instant: the first names the row
            continue
        due = utc(r[9])
        found[r[0]] = OverdueCase(
            *r[0:9],
            milestone=r[11],
            due_at=due,
            overdue_milestones=int(r[10]),
            hours_late=round((now - due).total_seconds() / 3600, 1),
            risk=r[13],
        )
    return Page(list(found.values()), int(total), page, page_size, choices)


def _owed_count(conn: Any, base: Any, page: int) -> int:
    """The board's count when the page asked for is past its end (or nothing is owed)."""
    return int(conn.execute(select(func.count()).select_from(base.subquery())).scalar_one()) if page > 1 else 0


# ---- the league and the trends ---------------------------------------------------------------


def league(
    read_model: ReadModel,
    *,
    since: datetime,
    until: datetime,
    now: datetime | None = None,
    min_cases: int = MIN_CASES,
    seen: Seen | None = None,
) -> tuple[list[Tally], list[Tally]]:
    """Departments best first (on-time rate, then resolution rate), and apart those with fewer
    than `min_cases` cases in the period. Cases not yet dispatched are the "(none)" row."""
    groups = tally(read_model, since=since, until=until, group=by_department, now=now, seen=seen)

    def rank(t: Tally) -> tuple[float, float, str]:
        return (-(t.ratio("on_time") or 0.0), -(t.ratio("resolution") or 0.0), t.name)

    ranked = sorted(groups.values(), key=rank)
    return [t for t in ranked if t.accepted >= min_cases], [t for t in ranked if t.accepted < min_cases]


def week_of(moment: datetime) -> datetime:
    """The Monday 00:00 (Asia/Shanghai) that starts the moment's week."""
    day = start_of_day(moment)
    return day - timedelta(days=day.weekday())


def trends(
    read_model: ReadModel, *, weeks: int = 12, now: datetime | None = None, seen: Seen | None = None
) -> list[Tally]:
    """One tally per week (Monday to Sunday, Asia/Shanghai), the oldest first, this week last."""
    now = now or datetime.now(timezone.utc)
    first = week_of(now) - timedelta(weeks=weeks - 1)
    groups = tally(read_model, since=first, until=now + timedelta(seconds=1), group=by_week(first), now=now, seen=seen)
    found = []
    for i in range(weeks):
        t = groups.get(str(i), Tally(str(i)))
        t.name = (first + timedelta(weeks=i)).date().isoformat()
        found.append(t)
    return found


# ---- the league of places (city-contract.md: roll-ups) ------------------------------------------

NOT_PLACED = "(none)"  # filed above this level (unplaced, or before the tree): its own row, so the rows add up


def places_league(
    read_model: ReadModel,
    *,
    level: str,
    since: datetime,
    until: datetime,
    now: datetime | None = None,
    seen: Seen | None = None,
    within: str | None = None,
    city: Tree | None = None,
) -> dict[str, Tally]:
    """The period's cases under `within` (a scope inside `seen`), counted per place of `level`:
    a district's figures are exactly the sum of its streets' rows, the "(none)" row included."""
    narrowed = seen_where(under(within, city)) if within else []
    return tally(
        read_model,
        since=since,
        until=until,
        group=by_key(PLACE_COLUMNS[level]),
        now=now,
        seen=seen,
        where=narrowed,
    )
