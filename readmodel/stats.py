"""Statistics for supervisors (`python -m starter stats`, /v1/stats): the counts and rates of
readmodel.counting (the same numbers the console shows), with the figures only statistics give:
the median time to resolve, and how summoned departments reported (吹哨报到)."""

from __future__ import annotations

import functools
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import and_, case, func, not_, select
from sqlalchemy.sql.elements import ColumnElement

from models.scope import Seen
from models.scope import within as under
from models.tree import Tree, Unit
from readmodel.counting import C, M, Tally, by_key, percent, tally
from readmodel.scope import seen_where
from readmodel.store import ReadModel
from readmodel.tables import CASES, EVENTS, moved_elsewhere, utc
from sla import BUSINESS_TZ, WorkingCalendar
from sla.periods import last_days

# "district" and "street" group by name (unique in the tree at those levels; the edge files the
# tree's names), "community" and "grid" by code (two 新村社区 are two places; "(none)" before
# edition 7 or while unplaced); "department", "category", "channel" as filed.
# "unit" and "level" read the tree (city-contract.md): "unit" is the unit's code where the tree
# lists the department as filed (by name, alias or code, within the case's district), else the
# name as filed; "level" is the level of that unit's place (district, street, community), else
# "(unlisted)".
GROUPS = ("department", "street", "category", "channel", "district", "community", "grid", "unit", "level")
_COLUMN_OF = {"community": "community_code", "grid": "grid_code"}
TREE_GROUPS = ("unit", "level")


def tree_key(by: str, city: Tree, column: Any = None) -> ColumnElement[Any]:
    """The SQL for grouping by the tree's units or their levels: one CASE over every district's
    units, so the database groups (no case is read into Python for it). `column`: the unit as
    which column names it (the case's department now, by default; its first, for where it started)."""
    department = C.department if column is None else column

    def value(unit: Unit) -> str:
        return unit.code if by == "unit" else city.places[unit.place].level.value

    # A name or alias several units share (住建局 in every district) counts within its district only.
    counts: defaultdict[str, int] = defaultdict(int)
    for unit in city.units.values():
        for name in {unit.name, *unit.aliases}:
            counts[name] += 1
    branches = []
    for unit in city.units.values():
        district = city.district_of(unit.place)
        if district is not None:
            names = sorted({unit.code, unit.name, *unit.aliases})
            branches.append((and_(C.district_code == district.code, department.in_(names)), value(unit)))
    # A unit of another district (a case transferred across): by its code or a name only it has.
    for unit in city.units.values():
        names = sorted({unit.code} | {n for n in (unit.name, *unit.aliases) if counts[n] == 1})
        branches.append((department.in_(names), value(unit)))
    otherwise: ColumnElement[Any] = (
        func.coalesce(department, "(none)")
        if by == "unit"
        else case((department.is_(None), "(none)"), else_="(unlisted)")
    )
    return case(*branches, else_=otherwise) if branches else otherwise


def parse_moment(value: str) -> datetime:
    """An ISO date or time; a bare date (or a time without offset) is in Asia/Shanghai."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO date such as 2026-11-01") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=BUSINESS_TZ)


@dataclass
class Stats(Tally):
    """One group's counts (Tally: accepted, resolved, closed, visits, on time per milestone, ...)
    and what only statistics add."""

    resolve_times: list[float] = field(default_factory=list)  # seconds, with the clock's stopped time left out
    resolve_working_days: list[int] = field(default_factory=list)  # working days, stopped ones left out
    whistle: dict[str, list] = field(default_factory=dict)  # department -> [summoned, reported, late, minutes...]
    kept_at_level: dict[str, dict[str, Any]] | None = None  # the total's: see kept_at_level()

    @property
    def group(self) -> str:
        return self.name

    @property
    def escalations(self) -> int:
        return self.escalated

    @property
    def median_hours_to_resolve(self) -> float | None:
        return round(statistics.median(self.resolve_times) / 3600, 1) if self.resolve_times else None

    @property
    def median_working_days_to_resolve(self) -> float | None:
        return statistics.median(self.resolve_working_days) if self.resolve_working_days else None

    def as_json(self) -> dict:
        return {
            "group": self.group,
            "accepted": self.accepted,
            "resolved": self.resolved,
            "resolution_rate": percent(self.resolved, self.accepted),
            "closed": self.closed,
            "completion_rate": percent(self.closed, self.accepted),
            "visited": self.visited,
            "satisfied": self.satisfied,
            "satisfaction_rate": percent(self.satisfied, self.visited),
            "asked_if_solved": self.all_verdicts.asked,
            "solved": self.all_verdicts.solved,
            "solution_rate": self.solution_rate,
            "unreachable": self.all_verdicts.unreachable,
            "verdicts_by": {source: v.as_json() for source, v in sorted(self.verdicts.items())},
            "repeats": self.repeats,
            "first_complaints": {  # 初信初访: the callers' first cases in the district (edition 10)
                "accepted": self.first_accepted,
                "resolved": self.first_resolved,
                "resolution_rate": percent(self.first_resolved, self.first_accepted),
                "resolved_never_reopened": self.first_unreopened,
                "resolved_never_reopened_rate": percent(self.first_unreopened, self.first_accepted),
            },
            "suggestions": {  # 智能派单: the unit suggested at filing, and what its dispatch made of it (edition 11)
                "dispatched_with_one": self.suggested,
                "taken": self.suggestion_taken,
                "taken_rate": percent(self.suggestion_taken, self.suggested),
                "taken_then_transferred": self.taken_then_moved,
                "other_unit_then_transferred": self.other_then_moved,
            },
            # 小事不出社区、大事不出街道: the resolved cases kept at the level they started (the total only)
            "kept_at_level": self.kept_at_level,
            "escalations": self.escalations,
            "open": self.open,
            "overdue": self.overdue,
            "median_hours_to_resolve": self.median_hours_to_resolve,
            "median_working_days_to_resolve": self.median_working_days_to_resolve,
            "whistle": {
                dept: {
                    "summoned": w[0],
                    "reported": w[1],
                    "late": w[2],
                    "median_minutes_to_report": round(statistics.median(w[3:]), 1) if w[3:] else None,
                }
                for dept, w in sorted(self.whistle.items())
            },
            "on_time": {
                name: {"met": met, "late": late, "rate": percent(met, met + late)}
                for name, (met, late) in sorted(self.on_time.items())
            },
        }


def compute(
    read_model: ReadModel,
    *,
    since: datetime,
    until: datetime,
    by: str | None = None,
    calendar: WorkingCalendar | None = None,
    now: datetime | None = None,
    seen: Seen | None = None,
    within: str | None = None,
    city: Tree | None = None,
) -> list[Stats]:
    """One row per group (sorted), then the total; cases counted by when they were received.
    `seen`: only the cases the viewer sees; `within`: only those under that place (a scope)."""
    if by is not None and by not in GROUPS:
        raise ValueError(f"--by must be one of {', '.join(GROUPS)}")
    now = now or datetime.now(timezone.utc)
    narrowed = [*seen_where(seen), *seen_where(under(within, city))] if within else seen_where(seen)
    if by in TREE_GROUPS and city is None:
        raise ValueError(f"--by {by} needs the city's tree")
    key: ColumnElement[Any] | None = None
    if by in TREE_GROUPS and city is not None:
        key = tree_key(by, city)
    elif by:
        key = C[_COLUMN_OF.get(by, by)]
    counted = tally(
        read_model,
        since=since,
        until=until,
        group=by_key(key) if key is not None else None,
        now=now,
        per_milestone=True,
        where=narrowed,
    )
    groups = {name: Stats(**vars(t)) for name, t in counted.items()}
    total = Stats("total")
    if by is None:
        total = groups.pop("total", total)
    else:
        for g in groups.values():
            total.add(g)
    _add_extras(
        read_model,
        groups,
        total,
        since=since,
        until=until,
        key=key,
        calendar=calendar or WorkingCalendar(),
        where=narrowed,
    )
    if city is not None:
        total.kept_at_level = kept_at_level(read_model, since=since, until=until, city=city, where=narrowed)
    return [groups[k] for k in sorted(groups)] + [total]


def kept_at_level(
    read_model: ReadModel, *, since: datetime, until: datetime, city: Tree, where: list[Any]
) -> dict[str, dict[str, Any]]:
    """小事不出社区、大事不出街道 (seed 002): of the cases resolved that started at a unit of each
    level (the first unit dispatched, 首问首办), how many were resolved at that same level, not
    passed up (the last unit's level). Read from the tree's units, as `--by level` is."""
    started, ended = tree_key("level", city, C.first_department), tree_key("level", city)
    query = (
        select(started, ended, func.count())
        .where(
            C.received_at >= since,
            C.received_at < until,
            C.merged_into.is_(None),
            C.status.in_(("resolved", "closed")),
            C.first_department.is_not(None),
            *where,
        )
        .group_by(started, ended)
    )
    out: dict[str, dict[str, Any]] = {}
    with read_model.engine.connect() as conn:
        for first, last, n in conn.execute(query):
            if first not in ("community", "street", "district", "city"):
                continue  # an unlisted unit: its level is not known
            level = out.setdefault(first, {"resolved": 0, "kept": 0})
            level["resolved"] += n
            level["kept"] += n if last == first else 0
    for level in out.values():
        level["rate"] = percent(level["kept"], level["resolved"])
    return out


def _add_extras(
    read_model: ReadModel,
    groups: dict[str, Stats],
    total: Stats,
    *,
    since: datetime,
    until: datetime,
    key: ColumnElement[Any] | None,
    calendar: WorkingCalendar,
    where: list[ColumnElement[bool]],
) -> None:
    """Times to resolve (stopped clocks left out) and the whistle's report-ins, per group."""
    in_period = (C.received_at >= since, C.received_at < until, C.merged_into.is_(None), *where)
    grouped = key is not None
    key = key if key is not None else C.case_id
    with read_model.engine.connect() as conn:
        resolved = conn.execute(
            select(C.case_id, key, C.received_at, C.resolved_at).where(*in_period, C.resolved_at.is_not(None))
        ).all()
        paused = conn.execute(
            select(M.case_id, M.paused_seconds)
            .join(CASES, C.case_id == M.case_id)
            .where(*in_period, C.resolved_at.is_not(None), M.name == "resolve", M.paused_seconds > 0)
        ).all()
        stops_of = conn.execute(
            select(EVENTS.c.case_id, EVENTS.c.seq, EVENTS.c.kind, EVENTS.c.at)
            .join(CASES, C.case_id == EVENTS.c.case_id)
            .where(*in_period, C.resolved_at.is_not(None), EVENTS.c.kind.in_(("suspended", "resumed")))
        ).all()
        summoned = conn.execute(
            select(M.case_id, key, M.name, M.done_at, M.anchor_at, M.breached)
            .join(CASES, C.case_id == M.case_id)
            .where(*in_period, M.name.startswith("report_in:"), not_(moved_elsewhere()))
        ).all()
    stopped: defaultdict[str, float] = defaultdict(float)
    for case_id, seconds in paused:
        stopped[case_id] += seconds or 0
    stops = _stops(stops_of)

    def targets(value: str | None) -> list[Stats]:
        if not grouped:
            return [total]
        name = value or "(none)"
        return [groups.setdefault(name, Stats(name)), total]

    between = functools.cache(calendar.working_days_between)  # a year of cases: a few thousand pairs of dates

    def working_days(start: datetime, end: datetime) -> int:
        return between(start.astimezone(BUSINESS_TZ).date(), end.astimezone(BUSINESS_TZ).date())

    for case_id, value, received_at, resolved_at in resolved:
        received, done = utc(received_at), utc(resolved_at)
        hours = (done - received).total_seconds() - stopped[case_id]
        days = working_days(received, done) - sum(working_days(a, b) for a, b in stops[case_id])
        for s in targets(value):
            s.resolve_times.append(hours)
            s.resolve_working_days.append(days)
    for _case_id, value, name, done_at, anchor_at, breached in summoned:
        for s in targets(value):
            w = s.whistle.setdefault(name.removeprefix("report_in:"), [0, 0, 0])
            w[0] += 1
            if done_at is not None:
                w[1] += 1
                if anchor_at is not None:
                    w.append((utc(done_at) - utc(anchor_at)).total_seconds() / 60)
            w[2] += bool(breached)


def _stops(events: Sequence[Any]) -> dict[str, list[tuple[datetime, datetime]]]:
    """Each case's suspensions (中止计时), from its events: approved until resumed."""
    stops: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    started: dict[str, datetime] = {}
    for e in sorted(events, key=lambda e: (e.case_id, e.seq)):
        if e.kind == "suspended":
            started[e.case_id] = utc(e.at)
        elif e.kind == "resumed" and e.case_id in started:
            stops[e.case_id].append((started.pop(e.case_id), utc(e.at)))
    return stops


def default_period(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    """since .. until; by default until now and since the start of the last 30 Beijing days."""
    until = until or datetime.now(timezone.utc) + timedelta(seconds=1)
    return since or last_days(until), until
