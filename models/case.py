"""The live state of a case, as the `state` query and the workflow result return it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from models.actor import Actor, LeaderRef
from models.base import Category, Policy, Track
from models.updates import RequestExtension, RequestSuspension, Satisfaction


class CaseStatus(StrEnum):
    received = "received"
    dispatched = "dispatched"
    handling = "handling"
    resolved = "resolved"
    closed = "closed"
    merged = "merged"


OPEN_STATUSES = (CaseStatus.received, CaseStatus.dispatched, CaseStatus.handling, CaseStatus.resolved)


class Milestone(BaseModel):
    """One promise with a deadline. Fixed when its anchor happens; breached the moment it passes."""

    name: str
    due_at: datetime
    done_at: datetime | None = None
    breached: bool = False
    breached_at: datetime | None = None
    department: str | None = None  # who owes it, when a department does
    anchor: str = ""  # what started the clock: acceptance, assignment, resolution, ...
    duration: str = ""  # as the policy says it: "3 working days", "10 minutes"
    superseded: bool = False  # a transfer moved the obligation to another department
    estimated: bool = False  # the calendar did not know the deadline's year for sure
    on_breach: list[str] = Field(default_factory=list)
    repeat_anchor: str | None = None  # when done or breached, this anchor happens at due_at
    unit: str = ""  # of the duration: working-day deadlines move by working days after a suspension
    anchor_at: datetime | None = None  # when the clock started
    warn_at: list[datetime] = Field(default_factory=list)  # 临期预警 times, earliest first
    warnings_sent: int = 0  # how many of warn_at have fired
    warned: bool = False
    paused_since: datetime | None = None  # the clock is stopped (中止计时) since then
    paused_seconds: float = 0.0  # time the clock stood still, in all
    # How a milestone still open when the case resolved, closed or merged was settled:
    # "resolution" (done by it), "closed" or "merged" (no longer owed), "missed" (its deadline passed).
    settled: str | None = None

    @property
    def open(self) -> bool:
        return self.done_at is None and not self.superseded

    @property
    def outcome(self) -> str:
        """How it stands, in a word: met, late, BREACHED (passed, still owed), missed (passed, and
        the case ended), open, superseded (a transfer), or not owed (the case ended first)."""
        if self.settled == "missed":
            return "missed"
        if self.settled in ("closed", "merged"):
            return "not owed"
        if self.superseded:
            return "superseded"
        if self.done_at is not None:
            return "late" if self.breached else "met"
        return "BREACHED" if self.breached else "open"


class TimelineEvent(BaseModel):
    at: datetime
    kind: str
    actor: Actor | None = None  # None: the engine itself
    detail: dict[str, Any] = Field(default_factory=dict)


class CaseState(BaseModel):
    case_id: str
    status: CaseStatus = CaseStatus.received
    policy: Policy
    track: Track
    category: Category
    received_at: datetime
    department: str | None = None
    first_department: str | None = None
    escalated: bool = False
    escalation_reason: str | None = None
    leader: LeaderRef | None = None
    repeat_of: str | None = None
    reopen_count: int = 0
    satisfaction: Satisfaction | None = None
    milestones: list[Milestone] = Field(default_factory=list)
    breaches: list[str] = Field(default_factory=list)
    timeline: list[TimelineEvent] = Field(default_factory=list)
    pending_extension: RequestExtension | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    runs: int = 1  # how many workflow runs carried this case (continue-as-new)
    merged_into: str | None = None  # status merged: the open case that carries this complaint
    community: str | None = None  # where it happened: its community may summon departments
    suspended: bool = False  # the resolve clock is stopped (中止计时)
    pending_suspension: RequestSuspension | None = None  # awaiting decide_suspension
    version: int = 0  # counts every change: the read model never lets an older write win
    has_complainant: bool = True  # False: found on patrol (未诉先办), nobody to contact or visit

    def open_milestones(self, name: str | None = None) -> list[Milestone]:
        return [m for m in self.milestones if m.open and (name is None or m.name == name)]

    def contacted(self) -> bool:
        """Whether the department now assigned has recorded contact with the complainant (a
        failed attempt included) since it was assigned; contact by an earlier one does not count."""
        for e in reversed(self.timeline):
            if e.kind == "contacted":
                return True
            if e.kind in ("dispatched", "transferred"):
                return False
        return False

    def settle(self, how: str, at: datetime, names: tuple[str, ...] | None = None) -> list[Milestone]:
        """Settle the milestones still open (of these names) as the case resolves ("resolution":
        done by it) or ends ("closed", "merged": no longer owed). One whose deadline has passed is
        late whatever settles it: a resolution completes it late, an end leaves it "missed"."""
        settled = []
        for m in self.milestones:
            if not m.open or (names is not None and m.name not in names):
                continue
            if not m.breached and m.due_at <= at:  # due this instant; its timer has not fired yet
                m.breached, m.breached_at = True, at
                self.breaches.append(m.name)
            if how == "resolution":
                m.done_at = at
                m.settled = how
            else:
                m.superseded = True
                m.settled = "missed" if m.breached else how
            settled.append(m)
        return settled

    def running_milestones(self) -> list[Milestone]:
        """Open milestones whose clock runs: not yet breached, not stopped (中止计时)."""
        return [m for m in self.milestones if m.open and not m.breached and m.paused_since is None]

    def owner(self, milestone: Milestone) -> str | None:
        """The department that owes a milestone: its own, else the case's."""
        return milestone.department or self.department

    def milestone(self, name: str) -> Milestone | None:
        """The latest milestone of that name."""
        for m in reversed(self.milestones):
            if m.name == name:
                return m
        return None
