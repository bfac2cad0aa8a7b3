"""Turn an anchor into milestones with fixed deadlines: the one place policies meet the calendar."""

from __future__ import annotations

from datetime import datetime

from models.case import Milestone
from sla.calendar import WorkingCalendar
from sla.durations import deadline
from sla.policies import rules_for


def plan(
    *, policy: str, track: str, anchor: str, at: datetime, cal: WorkingCalendar, department: str | None = None
) -> list[Milestone]:
    milestones = []
    for rule in rules_for(policy, anchor, track):
        duration = rule.duration_for(track)
        due = deadline(at, duration, cal)
        milestones.append(
            Milestone(
                name=rule.name,
                due_at=due.due_at,
                anchor=anchor,
                duration=str(duration),
                estimated=due.estimated,
                department=department if rule.owed_by_department else None,
                on_breach=list(rule.on_breach),
                repeat_anchor=rule.repeat_anchor,
            )
        )
    return milestones
