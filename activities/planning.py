"""Fix the deadlines an anchor starts. A local activity, so the calendar and policy in force are
recorded in history: a calendar update can never change the replay of an old case."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from pydantic import BaseModel
from temporalio import activity

from models import Milestone
from runtime import logs
from sla import Unit, WorkingCalendar, plan, shifted

log = logs.get("planning")


class PlanRequest(BaseModel):
    policy: str
    track: str
    category: str
    anchor: str
    at: datetime
    department: str | None = None
    departments: list[str] | None = None  # summons: one report_in milestone each
    dispute: str = ""  # a dispute's kind: its mediation term depends on it


class ShiftRequest(BaseModel):
    due_at: datetime
    unit: str
    stopped_at: datetime
    resumed_at: datetime


class Shifted(BaseModel):
    due_at: datetime
    estimated: bool = False


class Planner:
    def __init__(self, calendar: WorkingCalendar, warn_at: tuple[float, ...] | None = None) -> None:
        self.calendar = calendar
        self.warn_at = warn_at  # None: each policy's own warning fractions

    @activity.defn(name="shift_deadline")
    async def shift_deadline(self, request: ShiftRequest) -> Shifted:
        """Where a deadline stands after its clock stood still from stopped_at to resumed_at."""
        moved = shifted(request.due_at, Unit(request.unit), request.stopped_at, request.resumed_at, self.calendar)
        return Shifted(due_at=moved.due_at, estimated=moved.estimated)

    @activity.defn(name="plan_deadlines")
    async def plan_deadlines(self, requests: list[PlanRequest]) -> list[Milestone]:
        """The milestones of every anchor a change started, in order: one call per change."""
        return [m for request in requests for m in self._plan(request)]

    def _plan(self, request: PlanRequest) -> list[Milestone]:
        milestones = [
            Milestone(**asdict(planned))
            for planned in plan(
                policy=request.policy,
                track=request.track,
                anchor=request.anchor,
                at=request.at,
                cal=self.calendar,
                department=request.department,
                category=request.category,
                departments=request.departments,
                warn_at=self.warn_at,
                dispute=request.dispute,
            )
        ]
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
