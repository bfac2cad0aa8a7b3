"""Turn an anchor into milestones with fixed deadlines: the one place policies meet the calendar."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sla.calendar import WorkingCalendar
from sla.durations import deadline
from sla.policies import WARN_AT, rules_for

if TYPE_CHECKING:
    from models.case import Milestone


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
) -> list[Milestone]:
    """The milestones `anchor` starts at `at`: deadline, warning times (fractions of the time
    allowed: the policy's own unless `warn_at` says otherwise), who owes each."""
    # Imported here: the case model reads the policy tables, so sla must not import models at load.
    from models.case import Milestone

    fractions = sorted(WARN_AT.get(policy, ()) if warn_at is None else warn_at)
    milestones = []
    for rule in rules_for(policy, anchor, track):
        duration = rule.duration_for(track, category)
        due = deadline(at, duration, cal)
        owners = (departments or []) if rule.per_department else [department if rule.owed_by_department else None]
        for owner in owners:
            milestones.append(
                Milestone(
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
                    warn_at=[at + (due.due_at - at) * f for f in fractions],
                )
            )
    return milestones
