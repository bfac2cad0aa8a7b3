"""Fix the deadlines an anchor starts. A local activity, so the calendar and policy in force are
recorded in history: a calendar update can never change the replay of an old case."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from temporalio import activity

import logs
from models import Milestone
from sla import WorkingCalendar, plan

log = logs.get("planning")


class PlanRequest(BaseModel):
    policy: str
    track: str
    category: str
    anchor: str
    at: datetime
    department: str | None = None


class Planner:
    def __init__(self, calendar: WorkingCalendar) -> None:
        self.calendar = calendar

    @activity.defn(name="plan_milestones")
    async def plan_milestones(self, request: PlanRequest) -> list[Milestone]:
        milestones = plan(
            policy=request.policy,
            track=request.track,
            anchor=request.anchor,
            at=request.at,
            cal=self.calendar,
            department=request.department,
        )
        for m in milestones:
            if m.estimated:
                info = activity.info()
                log.warning(
                    "deadline in a year the calendar does not know: estimated without 调休; "
                    "add the year to the calendar override file",
                    case_id=info.workflow_id,
                    run_id=info.workflow_run_id,
                    milestone=m.name,
                    deadline=m.due_at.isoformat(),
                )
        return milestones
