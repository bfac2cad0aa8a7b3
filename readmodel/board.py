"""The command centre's numbers (指挥中心), answered by SQL on the read model so each page stays
fast with tens of thousands of cases: the overview, the overdue board, the department league and
the weekly trends.

The counting rules are those of `readmodel.stats` (one definition, tested to agree): a case is
accepted unless merged into another; resolved (化解) when resolved or closed; a milestone is met
when done before its deadline, late when breached or past due and still owed, and not counted
while it is still running or when a transfer moved it elsewhere. So an on-time rate is
met ÷ (met + late + still open and overdue), and a recent period never reads as 100 %.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Integer, and_, case, func, not_, or_, select
from sqlalchemy.sql.elements import ColumnElement

from readmodel.stats import SATISFIED, percent
from readmodel.store import CASES, EVENTS, MILESTONES, OPEN, ReadModel, utc
from sla import BUSINESS_TZ

M, C = MILESTONES.c, CASES.c
MIN_CASES = 10  # departments with fewer cases in the period are listed apart: their rates say little


def _counted(now: datetime) -> ColumnElement[bool]:
    """The milestones an on-time rate counts (see the module's doc)."""
    moved = and_(M.superseded, func.coalesce(M.settled, "") != "missed")
    running = and_(M.done_at.is_(None), not_(M.breached), M.due_at > now)
    return and_(not_(moved), not_(running))


def _met() -> ColumnElement[bool]:
    return and_(M.done_at.is_not(None), not_(M.breached))


def _overdue(now: datetime) -> ColumnElement[bool]:
    """A milestone still owed whose deadline has passed (the timer may not have fired yet)."""
    return and_(M.done_at.is_(None), not_(M.superseded), or_(M.breached, M.due_at <= now))


def _owed_now(now: datetime) -> ColumnElement[bool]:
    """Overdue now, on an open case's board: a suspended case's clock stands still (中止计时), so
    only a deadline it had already breached counts."""
    return and_(C.status.in_(OPEN), _overdue(now), not_(and_(C.suspended, not_(M.breached))))


def _sum(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0).cast(Integer)


@dataclass
class Tally:
    """Counts for one group of cases (a department, a week, the whole period)."""

    name: str
    accepted: int = 0
    resolved: int = 0
    open: int = 0
    overdue: int = 0  # open cases with a milestone overdue now
    escalated: int = 0
    met: int = 0
    late: int = 0
    open_overdue: int = 0  # of `late`: milestones still owed and past due
    visited: int = 0
    satisfied: int = 0

    @property
    def on_time_rate(self) -> str:
        return percent(self.met, self.met + self.late)

    @property
    def resolution_rate(self) -> str:
        return percent(self.resolved, self.accepted)

    @property
    def satisfaction_rate(self) -> str:
        return percent(self.satisfied, self.visited)

    def ratio(self, which: str) -> float | None:
        """A rate as a fraction, for charts and sorting (None when nothing was counted)."""
        part, whole = {
            "on_time": (self.met, self.met + self.late),
            "resolution": (self.resolved, self.accepted),
            "satisfaction": (self.satisfied, self.visited),
        }[which]
        return part / whole if whole else None

    def as_row(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "accepted": self.accepted,
            "resolved": self.resolved,
            "resolution_rate": self.resolution_rate,
            "open": self.open,
            "overdue": self.overdue,
            "escalated": self.escalated,
            "met": self.met,
            "late": self.late,
            "open_overdue": self.open_overdue,
            "on_time_rate": self.on_time_rate,
            "visited": self.visited,
            "satisfied": self.satisfied,
            "satisfaction_rate": self.satisfaction_rate,
        }


def _overdue_case_ids(read_model: ReadModel, now: datetime) -> set[str]:
    query = select(M.case_id).distinct().join(CASES, C.case_id == M.case_id).where(_owed_now(now))
    with read_model.engine.connect() as conn:
        return set(conn.execute(query).scalars())


Group = Callable[[str], ColumnElement[Any]]  # the SQL dialect's name -> what to group cases by


def by_department(dialect: str) -> ColumnElement[Any]:
    return func.coalesce(C.department, "(none)")


def by_week(first: datetime) -> Group:
    """Whole weeks since `first`: 0 for the first week."""

    def group(dialect: str) -> ColumnElement[Any]:
        if dialect == "postgresql":
            seconds = func.extract("epoch", C.received_at - first)
            return func.floor(seconds / (7 * 86400)).cast(Integer)
        return ((func.julianday(C.received_at) - func.julianday(utc(first).isoformat())) / 7).cast(Integer)

    return group


def tally(
    read_model: ReadModel,
    *,
    since: datetime,
    until: datetime,
    group: Group | None = None,
    now: datetime | None = None,
) -> dict[str, Tally]:
    """The period's cases counted per group (None: one group, "total"). Four grouped queries, so
    the database does the counting and a year of a district's cases stays a few rows to read."""
    now = now or datetime.now(timezone.utc)
    # Without a group, one: the key is then a column every case has the same value of.
    key = group(read_model.engine.dialect.name) if group else func.lower("total")
    in_period = and_(C.received_at >= since, C.received_at < until)
    accepted = C.merged_into.is_(None)
    counted, is_open = _counted(now), C.status.in_(OPEN)
    owed_now = _owed_now(now)
    satisfaction = EVENTS.c.detail["satisfaction"].as_string()
    queries = {
        "cases": select(
            key,
            _sum(accepted),
            _sum(and_(accepted, C.status.in_(("resolved", "closed")))),
            _sum(and_(accepted, is_open)),
            _sum(and_(accepted, C.escalated)),
        ).where(in_period),
        "milestones": select(
            key,
            _sum(and_(counted, _met())),
            _sum(and_(counted, not_(_met()))),
            _sum(and_(accepted, counted, _overdue(now), is_open)),
            func.count(func.distinct(case((and_(accepted, owed_now), C.case_id), else_=None))),
        )
        .select_from(CASES.join(MILESTONES, M.case_id == C.case_id))
        .where(in_period),
        "visits": select(key, func.count(), _sum(satisfaction.in_(SATISFIED)))
        .select_from(CASES.join(EVENTS, EVENTS.c.case_id == C.case_id))
        .where(in_period, EVENTS.c.kind == "followed_up", func.coalesce(satisfaction, "") != "unreachable"),
    }
    groups: dict[str, Tally] = {}
    with read_model.engine.connect() as conn:
        rows = {name: conn.execute(q.group_by(key)).all() for name, q in queries.items()}
    for name, *counts in rows["cases"]:
        t = groups.setdefault(str(name), Tally(str(name)))
        t.accepted, t.resolved, t.open, t.escalated = counts
    for name, met, late, open_overdue, overdue in rows["milestones"]:
        t = groups.setdefault(str(name), Tally(str(name)))
        t.met, t.late, t.open_overdue, t.overdue = met, late, open_overdue, overdue
    for name, visited, satisfied in rows["visits"]:
        t = groups.setdefault(str(name), Tally(str(name)))
        t.visited, t.satisfied = visited, satisfied
    return groups


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


def overview(read_model: ReadModel, *, since: datetime, until: datetime, now: datetime | None = None) -> Overview:
    now = now or datetime.now(timezone.utc)
    today = tally(read_model, since=start_of_day(now), until=now + timedelta(seconds=1), now=now)
    period = tally(read_model, since=since, until=until, now=now)
    with read_model.engine.connect() as conn:
        open_now = conn.execute(select(func.count()).where(C.status.in_(OPEN))).scalar_one()

        def breaches(start: datetime) -> int:
            return int(
                conn.execute(
                    select(func.count()).where(M.breached_at >= start, M.breached_at < until, M.breached)
                ).scalar_one()
            )

        breaches_today, breaches_period = breaches(start_of_day(now)), breaches(since)
    return Overview(
        today=today.get("total", Tally("total")),
        period=period.get("total", Tally("total")),
        open_now=int(open_now),
        overdue_now=len(_overdue_case_ids(read_model, now)),
        breaches_today=breaches_today,
        breaches_period=breaches_period,
    )


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
        }


@dataclass
class Filters:
    department: str | None = None
    street: str | None = None
    category: str | None = None

    def where(self) -> list[ColumnElement[bool]]:
        return [column == value for column, value in self.pairs() if value]

    def pairs(self) -> list[tuple[Any, str | None]]:
        return [(C.department, self.department), (C.street, self.street), (C.category, self.category)]


@dataclass
class Page:
    rows: list[OverdueCase]
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
    owed = _owed_now(now)
    base = (
        select(C.case_id, func.min(M.due_at).label("due"), func.count().label("n"))
        .join(CASES, C.case_id == M.case_id)
        .where(owed, *filters.where())
        .group_by(C.case_id)
    )
    with read_model.engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(base.subquery())).scalar_one()
        ranked = base.order_by("due", C.case_id).limit(page_size).offset((page - 1) * page_size).subquery()
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
            )
            .join(ranked, ranked.c.case_id == C.case_id)
            .join(MILESTONES, and_(M.case_id == C.case_id, M.due_at == ranked.c.due, owed))
            .order_by(ranked.c.due, C.case_id, M.seq)
        ).all()
        choices = {
            name: sorted(v for v in conn.execute(select(column).distinct().where(C.status.in_(OPEN))).scalars() if v)
            for name, column in (("department", C.department), ("street", C.street), ("category", C.category))
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
        )
    return Page(list(found.values()), int(total), page, page_size, choices)


# ---- the league and the trends ---------------------------------------------------------------


def league(
    read_model: ReadModel, *, since: datetime, until: datetime, now: datetime | None = None, min_cases: int = MIN_CASES
) -> tuple[list[Tally], list[Tally]]:
    """Departments best first (on-time rate, then resolution rate), and apart those with fewer
    than `min_cases` cases in the period. Cases not yet dispatched are the "(none)" row."""
    groups = tally(read_model, since=since, until=until, group=by_department, now=now)

    def rank(t: Tally) -> tuple[float, float, str]:
        return (-(t.ratio("on_time") or 0.0), -(t.ratio("resolution") or 0.0), t.name)

    ranked = sorted(groups.values(), key=rank)
    return [t for t in ranked if t.accepted >= min_cases], [t for t in ranked if t.accepted < min_cases]


def week_of(moment: datetime) -> datetime:
    """The Monday 00:00 (Asia/Shanghai) that starts the moment's week."""
    day = start_of_day(moment)
    return day - timedelta(days=day.weekday())


def trends(read_model: ReadModel, *, weeks: int = 12, now: datetime | None = None) -> list[Tally]:
    """One tally per week (Monday to Sunday, Asia/Shanghai), the oldest first, this week last."""
    now = now or datetime.now(timezone.utc)
    first = week_of(now) - timedelta(weeks=weeks - 1)
    groups = tally(read_model, since=first, until=now + timedelta(seconds=1), group=by_week(first), now=now)
    found = []
    for i in range(weeks):
        t = groups.get(str(i), Tally(str(i)))
        t.name = (first + timedelta(weeks=i)).date().isoformat()
        found.append(t)
    return found
