"""Counting cases for supervisors, in SQL on the read model: one implementation for the console,
`python -m starter stats` and /v1/stats, fast with tens of thousands of cases.

The rules, as the source documents count: 36540 resolved of 37144 accepted is a resolution rate
(化解率) of 98.37%. A case is accepted unless merged into another; resolved (化解) when resolved
or closed; a milestone is met when done before its deadline, late when breached or past due and
still owed, and not counted while it is still running or when a transfer moved it elsewhere. So
an on-time rate is met ÷ (met + late + still open and overdue), and a recent period never reads
as 100 %. A follow-up that reached the complainant is a visit; satisfied or basically satisfied
ones count towards 满意率, "solved" answers towards 解决率 (Verdicts), each by who gave it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Integer, and_, case, func, not_, or_, select
from sqlalchemy.sql.elements import ColumnElement

from models.scope import Seen
from readmodel.scope import seen_where
from readmodel.store import ReadModel
from readmodel.tables import CASES, EVENTS, MILESTONES, OPEN, moved_elsewhere, utc

M, C = MILESTONES.c, CASES.c
SATISFIED = ("satisfied", "basically_satisfied")


def percent(part: int, whole: int) -> str:
    if not whole:
        return "-"
    value = (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"{value}%"


def _counted(now: datetime) -> ColumnElement[bool]:
    """The milestones an on-time rate counts (see the module's doc)."""
    running = and_(M.done_at.is_(None), not_(M.breached), M.due_at > now)
    return and_(not_(moved_elsewhere()), not_(running))


def _met() -> ColumnElement[bool]:
    return and_(M.done_at.is_not(None), not_(M.breached))


def _overdue(now: datetime) -> ColumnElement[bool]:
    """A milestone still owed whose deadline has passed (the timer may not have fired yet)."""
    return and_(M.done_at.is_(None), not_(M.superseded), or_(M.breached, M.due_at <= now))


def owed_now(now: datetime) -> ColumnElement[bool]:
    """Overdue now, on an open case's board: a suspended case's clock stands still (中止计时), so
    only a deadline it had already breached counts."""
    return and_(C.status.in_(OPEN), _overdue(now), not_(and_(C.suspended, not_(M.breached))))


def count_if(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0).cast(Integer)


# Who gave a follow-up's verdict: the complainant through their link, the hotline centre's callback,
# a supervisor; or (before issue 23) the handling department itself.
SOURCES = {"complainant": "link", "dispatcher": "hotline", "supervisor": "supervisor"}
OTHER_SOURCE = "department"


@dataclass
class Verdicts:
    """Follow-up verdicts (回访): 满意率 = satisfied ÷ visited, 解决率 = solved ÷ asked whether solved.
    Unreachable complainants count apart from both; a verdict recorded before 是否解决 was asked
    counts in 满意率 only."""

    visited: int = 0  # reached the complainant
    satisfied: int = 0  # satisfied or basically satisfied
    asked: int = 0  # of the visits, those that answered whether it was solved
    solved: int = 0  # resolved: yes
    unreachable: int = 0

    def add(self, other: Verdicts) -> None:
        for name in ("visited", "satisfied", "asked", "solved", "unreachable"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_json(self) -> dict[str, Any]:
        return {
            "visited": self.visited,
            "satisfied": self.satisfied,
            "satisfaction_rate": percent(self.satisfied, self.visited),
            "asked_if_solved": self.asked,
            "solved": self.solved,
            "solution_rate": percent(self.solved, self.asked),
            "unreachable": self.unreachable,
        }


SUGGESTIONS = ("suggested", "suggestion_taken", "taken_then_moved", "other_then_moved")


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
    verdicts: dict[str, Verdicts] = field(default_factory=dict)  # by who gave them (SOURCES)
    closed: int = 0  # 办结: closed after the follow-up
    repeats: int = 0  # merged into an open case, or repeating a closed one (merged ones too)
    on_time: dict[str, list[int]] = field(default_factory=dict)  # milestone -> [met, late], when asked for
    # 初信初访 (edition 10): accepted cases that were their caller's first in the district; of them,
    # those resolved (化解), and those resolved never reopened by a dissatisfied follow-up.
    first_accepted: int = 0
    first_resolved: int = 0
    first_unreopened: int = 0
    # 智能派单 (edition 11): cases dispatched with a unit suggested; of them, those whose dispatch
    # took it, and, taken or not, those moved to another unit afterwards (a transfer).
    suggested: int = 0
    suggestion_taken: int = 0
    taken_then_moved: int = 0
    other_then_moved: int = 0

    @property
    def on_time_rate(self) -> str:
        return percent(self.met, self.met + self.late)

    @property
    def resolution_rate(self) -> str:
        return percent(self.resolved, self.accepted)

    @property
    def all_verdicts(self) -> Verdicts:
        total = Verdicts()
        for v in self.verdicts.values():
            total.add(v)
        return total

    @property
    def visited(self) -> int:
        return self.all_verdicts.visited

    @property
    def satisfied(self) -> int:
        return self.all_verdicts.satisfied

    @property
    def satisfaction_rate(self) -> str:
        return percent(self.satisfied, self.visited)

    @property
    def solution_rate(self) -> str:
        """解决率: resolved=yes ÷ the verdicts that answered whether it was solved."""
        total = self.all_verdicts
        return percent(total.solved, total.asked)

    def ratio(self, which: str) -> float | None:
        """A rate as a fraction, for charts and sorting (None when nothing was counted)."""
        part, whole = {
            "on_time": (self.met, self.met + self.late),
            "resolution": (self.resolved, self.accepted),
            "satisfaction": (self.satisfied, self.visited),
            "solution": (self.all_verdicts.solved, self.all_verdicts.asked),
        }[which]
        return part / whole if whole else None

    def add(self, other: Tally) -> None:
        """Count another group's cases in too (groups never share a case)."""
        for name in ("accepted", "resolved", "open", "overdue", "escalated", "met", "late", "open_overdue"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in ("closed", "repeats", "first_accepted", "first_resolved", "first_unreopened", *SUGGESTIONS):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for source, verdicts in other.verdicts.items():
            self.verdicts.setdefault(source, Verdicts()).add(verdicts)
        for milestone, (met, late) in other.on_time.items():
            counts = self.on_time.setdefault(milestone, [0, 0])
            counts[0] += met
            counts[1] += late

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
            "solution_rate": self.solution_rate,
        }


Group = Callable[[str], ColumnElement[Any]]  # the SQL dialect's name -> what to group cases by


def by_key(key: ColumnElement[Any]) -> Group:
    """Cases of one value of this expression together (no value: "(none)")."""

    def group(dialect: str) -> ColumnElement[Any]:
        return func.coalesce(key, "(none)")

    return group


def by_column(name: str) -> Group:
    """Cases of one value of this column together (no value: "(none)")."""
    return by_key(C[name])


by_department = by_column("department")


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
    per_milestone: bool = False,
    seen: Seen | None = None,
    where: list[ColumnElement[bool]] | None = None,
) -> dict[str, Tally]:
    """The period's cases counted per group (None: one group, "total"). A few grouped queries, so
    the database does the counting and a year of a district's cases stays a few rows to read.
    With per_milestone, each group's on-time counts by milestone too (Tally.on_time). `seen`: only
    the cases the viewer sees (models/scope.py); `where`: further conditions on the cases."""
    now = now or datetime.now(timezone.utc)
    # Without a group, one: the key is then a column every case has the same value of.
    key = group(read_model.engine.dialect.name) if group else func.lower("total")
    in_period = and_(C.received_at >= since, C.received_at < until, *seen_where(seen), *(where or []))
    accepted = C.merged_into.is_(None)
    resolved = C.status.in_(("resolved", "closed"))
    first = and_(accepted, C.caller_first.is_(True))
    moved = C.department != C.first_department  # transferred after its first dispatch
    counted, is_open = _counted(now), C.status.in_(OPEN)
    owed = owed_now(now)
    satisfaction = EVENTS.c.detail["satisfaction"].as_string()
    solved = EVENTS.c.detail["resolved"].as_boolean()
    reached = func.coalesce(satisfaction, "") != "unreachable"
    queries = {
        "cases": select(
            key,
            count_if(accepted),
            count_if(and_(accepted, resolved)),
            count_if(and_(accepted, is_open)),
            count_if(and_(accepted, C.escalated)),
            count_if(and_(accepted, C.status == "closed")),
            count_if(or_(C.repeat_of.is_not(None), C.merged_into.is_not(None))),
            func.coalesce(func.sum(C.met_milestones), 0).cast(Integer),
            func.coalesce(func.sum(C.late_milestones), 0).cast(Integer),
            count_if(first),
            count_if(and_(first, resolved)),
            count_if(and_(first, resolved, C.reopen_count == 0)),
            count_if(and_(accepted, C.suggestion_taken.is_not(None))),
            count_if(and_(accepted, C.suggestion_taken.is_(True))),
            count_if(and_(accepted, C.suggestion_taken.is_(True), moved)),
            count_if(and_(accepted, C.suggestion_taken.is_(False), moved)),
        ).where(in_period),
        # Met and already late are counted on the case row; what only `now` decides is read from
        # the milestones still owed (done_at is null: an index), a few per open case.
        "owed": select(
            key,
            count_if(and_(counted, not_(M.breached))),  # past due, still owed, its timer not fired yet
            count_if(and_(accepted, counted, _overdue(now), is_open)),
            func.count(func.distinct(case((and_(accepted, owed), C.case_id), else_=None))),
        )
        .select_from(CASES.join(MILESTONES, M.case_id == C.case_id))
        .where(in_period, M.done_at.is_(None)),
        "visits": select(
            key,
            EVENTS.c.actor_role,
            count_if(reached),
            count_if(and_(reached, satisfaction.in_(SATISFIED))),
            count_if(and_(reached, solved.is_not(None))),
            count_if(and_(reached, solved.is_(True))),
            count_if(not_(reached)),
        )
        .select_from(CASES.join(EVENTS, EVENTS.c.case_id == C.case_id))
        .where(in_period, EVENTS.c.kind == "followed_up"),
    }
    grouped = {name: q.group_by(key) for name, q in queries.items()}
    grouped["visits"] = queries["visits"].group_by(key, EVENTS.c.actor_role)
    if per_milestone:
        grouped["per_milestone"] = (
            select(key, M.name, count_if(_met()), count_if(not_(_met())))
            .select_from(CASES.join(MILESTONES, M.case_id == C.case_id))
            .where(in_period, counted)
            .group_by(key, M.name)
        )
    groups: dict[str, Tally] = {}
    with read_model.engine.connect() as conn:
        rows = {name: conn.execute(q).all() for name, q in grouped.items()}
    for name, *counts in rows["cases"]:
        t = groups.setdefault(str(name), Tally(str(name)))
        t.accepted, t.resolved, t.open, t.escalated, t.closed, t.repeats, t.met, t.late, *firsts = counts
        t.first_accepted, t.first_resolved, t.first_unreopened, *suggestions = firsts
        for attribute, value in zip(SUGGESTIONS, suggestions, strict=True):
            setattr(t, attribute, value)
    for name, late_now, open_overdue, overdue in rows["owed"]:
        t = groups.setdefault(str(name), Tally(str(name)))
        t.late, t.open_overdue, t.overdue = t.late + late_now, open_overdue, overdue
    for name, role, *counts in rows["visits"]:
        t = groups.setdefault(str(name), Tally(str(name)))
        t.verdicts.setdefault(SOURCES.get(role or "", OTHER_SOURCE), Verdicts()).add(Verdicts(*counts))
    for name, milestone, met, late in rows.get("per_milestone", []):
        groups.setdefault(str(name), Tally(str(name))).on_time[milestone] = [met, late]
    return groups
