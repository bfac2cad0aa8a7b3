"""Statistics for supervisors from the read model, computed as the source documents do:
36540 resolved of 37144 accepted is a resolution rate (化解率) of 98.37%."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

from sqlmodel import Session, col, select

from readmodel.store import OPEN, ReadModel, utc
from readmodel.tables import CaseRow, EventRow, MilestoneRow
from sla import BUSINESS_TZ, WorkingCalendar

GROUPS = ("department", "street", "category", "channel")
SATISFIED = ("satisfied", "basically_satisfied")


def parse_moment(value: str) -> datetime:
    """An ISO date or time; a bare date (or a time without offset) is in Asia/Shanghai."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO date such as 2026-11-01") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=BUSINESS_TZ)


def percent(part: int, whole: int) -> str:
    if not whole:
        return "-"
    value = (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"{value}%"


@dataclass
class Stats:
    group: str
    accepted: int = 0  # cases opened (a complaint merged into an open case is a repeat, not a new case)
    resolved: int = 0  # 化解: resolved, whether or not closed yet
    closed: int = 0  # 办结: closed after the follow-up
    visited: int = 0  # follow-ups that reached the complainant
    satisfied: int = 0  # satisfied or basically satisfied
    repeats: int = 0  # merged into an open case, or repeating a closed one
    escalations: int = 0
    open: int = 0
    overdue: int = 0  # open, with a deadline passed and not met
    on_time: dict[str, list[int]] = field(default_factory=dict)  # milestone -> [met, late]
    resolve_times: list[float] = field(default_factory=list)  # seconds, with the clock's stopped time left out
    resolve_working_days: list[int] = field(default_factory=list)  # working days, stopped ones left out
    whistle: dict[str, list] = field(default_factory=dict)  # department -> [summoned, reported, late, minutes...]

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
            "repeats": self.repeats,
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
) -> list[Stats]:
    """One row per group (sorted), then the total; cases counted by when they were received."""
    if by is not None and by not in GROUPS:
        raise ValueError(f"--by must be one of {', '.join(GROUPS)}")
    with Session(read_model.engine) as session:
        cases = list(
            session.exec(
                select(CaseRow).where(col(CaseRow.received_at) >= since, col(CaseRow.received_at) < until)
            ).all()
        )
        ids = [c.case_id for c in cases]
        milestones = _for_cases(session, MilestoneRow, ids)
        events = _for_cases(session, EventRow, ids)
    visits = [e for e in events if e.kind == "followed_up"]
    cal = calendar or WorkingCalendar()
    stops = _stops(events)
    paused: defaultdict[str, float] = defaultdict(float)
    for m in milestones:
        if m.name == "resolve":
            paused[m.case_id] += m.paused_seconds or 0
    now = now or datetime.now(timezone.utc)
    groups: dict[str, Stats] = {}
    total = Stats("total")
    key_of = {c.case_id: (getattr(c, by) or "(none)") if by else None for c in cases}
    for c in cases:
        for s in _targets(groups, total, key_of[c.case_id]):
            if c.repeat_of or c.merged_into:
                s.repeats += 1
            if c.merged_into:
                continue
            s.accepted += 1
            s.resolved += c.status in ("resolved", "closed")
            s.closed += c.status == "closed"
            s.escalations += c.escalated
            s.open += c.status in OPEN
            if c.resolved_at is not None:
                received, resolved = utc(c.received_at), utc(c.resolved_at)
                s.resolve_times.append((resolved - received).total_seconds() - paused[c.case_id])
                s.resolve_working_days.append(
                    _working_days(cal, received, resolved) - sum(_working_days(cal, a, b) for a, b in stops[c.case_id])
                )
    overdue_cases = {m.case_id for m in milestones if m.breached and m.done_at is None and not m.superseded}
    for c in cases:
        if c.status in OPEN and c.case_id in overdue_cases:
            for s in _targets(groups, total, key_of[c.case_id]):
                s.overdue += 1
    for m in milestones:
        if (m.superseded and m.settled != "missed") or (m.done_at is None and not m.breached and utc(m.due_at) > now):
            continue  # moved by a transfer, not owed once the case ended, or not yet due: neither met nor late
        for s in _targets(groups, total, key_of[m.case_id]):
            met_late = s.on_time.setdefault(m.name, [0, 0])
            met_late[0 if (m.done_at is not None and not m.breached) else 1] += 1
    for m in milestones:
        if not m.name.startswith("report_in:") or (m.superseded and m.settled != "missed"):
            continue
        for s in _targets(groups, total, key_of[m.case_id]):
            w = s.whistle.setdefault(m.name.removeprefix("report_in:"), [0, 0, 0])
            w[0] += 1
            if m.done_at is not None:
                w[1] += 1
                if m.anchor_at is not None:
                    w.append((utc(m.done_at) - utc(m.anchor_at)).total_seconds() / 60)
            w[2] += bool(m.breached)
    for e in visits:
        satisfaction = e.detail.get("satisfaction")
        if satisfaction == "unreachable":
            continue
        for s in _targets(groups, total, key_of[e.case_id]):
            s.visited += 1
            s.satisfied += satisfaction in SATISFIED
    return [groups[k] for k in sorted(groups)] + [total]


def _stops(events: list[EventRow]) -> dict[str, list[tuple[datetime, datetime]]]:
    """Each case's suspensions (中止计时), from its events: approved until resumed."""
    stops: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    started: dict[str, datetime] = {}
    for e in sorted(events, key=lambda e: (e.case_id, e.seq)):
        if e.kind == "suspended":
            started[e.case_id] = utc(e.at)
        elif e.kind == "resumed" and e.case_id in started:
            stops[e.case_id].append((started.pop(e.case_id), utc(e.at)))
    return stops


def _working_days(cal: WorkingCalendar, start: datetime, end: datetime) -> int:
    return cal.working_days_between(start.astimezone(BUSINESS_TZ).date(), end.astimezone(BUSINESS_TZ).date())


def _for_cases(session: Session, table, ids: list[str]) -> list:
    rows = []
    for start in range(0, len(ids), 500):  # bounded IN lists
        rows += list(session.exec(select(table).where(col(table.case_id).in_(ids[start : start + 500]))).all())
    return rows


def _targets(groups: dict[str, Stats], total: Stats, key: str | None) -> list[Stats]:
    if key is None:
        return [total]
    return [groups.setdefault(key, Stats(key)), total]


def default_period(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    until = until or datetime.now(timezone.utc) + timedelta(seconds=1)
    return since or until - timedelta(days=30), until
