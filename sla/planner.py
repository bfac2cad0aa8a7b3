"""Turn an anchor into deadlines: the one place policies meet the calendar. What it plans is
plain data; the case model makes its milestones of it (models.case.Milestone has these fields)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sla.calendar import WorkingCalendar
from sla.durations import deadline
from sla.policies import WARN_AT, rules_for


@dataclass
class Planned:
    """One promise an anchor started: its deadline, who owes it, and what its breach does."""

    name: str
    due_at: datetime
    anchor: str
    anchor_at: datetime
    duration: str  # as the policy says it: "3 working days"
    unit: str
    estimated: bool
    department: str | None
    on_breach: list[str] = field(default_factory=list)
    repeat_anchor: str | None = None
    warn_at: list[datetime] = field(default_factory=list)
    window: bool = False  # a window that lapses rather than a promise that is breached


def plan(
    *,
    policy: str,
    track: str,
    anchor: str,
    at: datetime,
    cal: WorkingCalendar,
    department: str | None = None,
    category: str = "",
    departments: list[str] | None = None,
    warn_at: tuple[float, ...] | None = None,
    dispute: str = "",
) -> list[Planned]:
    """The milestones `anchor` starts at `at`: deadline, warning times (fractions of the time
    allowed: the policy's own unless `warn_at` says otherwise), who owes each."""
    fractions = sorted(WARN_AT.get(policy, ()) if warn_at is None else warn_at)
    milestones = []
    for rule in rules_for(policy, anchor, track):
        duration = rule.duration_for(track, category, dispute)
        due = deadline(at, duration, cal)
        owners = (departments or []) if rule.per_department else [department if rule.owed_by_department else None]
        for owner in owners:
            milestones.append(
                Planned(
                    name=f"{rule.name}:{owner}" if rule.per_department else rule.name,
                    due_at=due.due_at,
                    anchor=anchor,
                    anchor_at=at,
                    duration=str(duration),
                    unit=duration.unit.value,
                    estimated=due.estimated,
                    department=owner,
                    on_breach=list(rule.on_breach),
                    repeat_anchor=rule.repeat_anchor,
                    window=rule.window,
                    warn_at=[due.due_at - rule.warn_before]
                    if rule.warn_before is not None
                    else [at + (due.due_at - at) * f for f in fractions],
                )
            )
    return milestones
