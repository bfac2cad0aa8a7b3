"""What a change of the case asks of the world: deadlines to plan, people to tell.

The case model decides and returns these; the workflow carries them out (planning and sending
are outside things, so they run as activities)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from models.notice import NoticeKind


@dataclass
class Plan:
    """An anchor happened: fix the deadlines it starts."""

    anchor: str
    at: datetime
    department: str | None = None
    departments: list[str] | None = None  # summons: one report_in milestone each
    dispute: str = ""  # a dispute's kind (its mediation term depends on it)


@dataclass
class Tell:
    """A notice to send: recipient "complainant", "supervisor", "department:<name>", "leader:<id>",
    "mediator:<id>", "community:<name>", "party:<n>" (a dispute's party, at `address`)."""

    recipient: str
    kind: NoticeKind
    template: str
    params: dict[str, str] = field(default_factory=dict)
    address: str | None = None  # a party's phone (the complainant's is the workflow's to add)


@dataclass
class Shift:
    """A stopped clock runs again: where does its deadline move (working days need the calendar)."""

    milestone: int  # index in CaseState.milestones
    stopped_at: datetime
    resumed_at: datetime


@dataclass
class Effects:
    plans: list[Plan] = field(default_factory=list)
    notices: list[Tell] = field(default_factory=list)
    shifts: list[Shift] = field(default_factory=list)
    moved: list[dict[str, str]] = field(default_factory=list)  # filled as the shifts land (the event's detail)
    breached: list[tuple[str, str | None]] = field(default_factory=list)  # (milestone, department): metrics
    warned: list[tuple[str, str | None]] = field(default_factory=list)

    def plan(
        self,
        anchor: str,
        at: datetime,
        department: str | None = None,
        departments: list[str] | None = None,
        dispute: str = "",
    ) -> Effects:
        self.plans.append(Plan(anchor, at, department, departments, dispute))
        return self

    def tell(
        self, recipient: str, kind: NoticeKind, template: str, address: str | None = None, **params: str
    ) -> Effects:
        self.notices.append(Tell(recipient, kind, template, params, address))
        return self

    def add(self, other: Effects) -> Effects:
        self.plans += other.plans
        self.notices += other.notices
        self.shifts += other.shifts
        self.breached += other.breached
        self.warned += other.warned
        return self
