"""What the complainant's page shows, read from the read model: the case's number, title and status,
each step against its promise, the department now responsible, the department's replies and
resolutions (addressed to the complainant), what the complainant added, their verdict. Nothing
else: no internal notes, no other person's data, their own phone masked."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from readmodel import ReadModel
from readmodel.tables import OPEN, EventRow, MilestoneRow, utc
from sla.policies import POLICIES

# The steps a complainant follows (受理、派单、联系、答复、办结、回访), those their policy promises.
STEPS = ("acknowledge", "dispatch", "contact", "reply", "resolve", "follow_up")
SOURCES = {"complainant": "by_complainant", "dispatcher": "by_hotline", "supervisor": "by_supervisor"}
# (a follow-up recorded by the department itself, before issue 23: "by_department")


@dataclass
class Step:
    name: str
    state: str  # done, late, due, overdue, waiting, not_needed
    due_at: datetime | None = None
    done_at: datetime | None = None


@dataclass
class Said:
    at: datetime
    kind: str  # reply, resolution, note
    text: str


@dataclass
class Verdict:
    at: datetime
    satisfaction: str
    resolved: bool | None
    by: str  # by_complainant, by_hotline, by_supervisor, by_department
    comment: str | None


@dataclass
class CasePage:
    case_id: str
    title: str | None
    status: str
    department: str | None
    phone: str | None  # masked
    steps: list[Step] = field(default_factory=list)
    answers: list[Said] = field(default_factory=list)
    notes: list[Said] = field(default_factory=list)
    verdict: Verdict | None = None  # the latest
    # Evidence the complainant is shown (issue 38): their own photos and the unit's after photos,
    # as (digest, thumbnail digest, purpose); the page signs their addresses.
    photos: list[tuple[str, str | None, str]] = field(default_factory=list)

    @property
    def open(self) -> bool:
        return self.status in OPEN

    @property
    def asks_verdict(self) -> bool:
        return self.status == "resolved"


def _step(name: str, milestones: list[MilestoneRow], now: datetime) -> Step:
    found = [m for m in milestones if m.name == name]
    if not found:
        return Step(name, "waiting")
    m = found[-1]  # the latest clock of this step (a transfer or a reopen starts it again)
    due, done = utc(m.due_at), utc(m.done_at)
    if done is not None:
        return Step(name, "late" if m.breached else "done", due, done)
    if m.settled in ("closed", "merged") or (m.superseded and m.settled != "missed"):
        return Step(name, "not_needed", due)
    return Step(name, "overdue" if m.breached or (due is not None and due <= now) else "due", due)


def _said(e: EventRow) -> Said | None:
    text = {"replied": "message", "resolved": "resolution", "complainant_note": "note"}.get(e.kind)
    if text is None or not e.detail.get(text):
        return None
    kind = {"replied": "reply", "resolved": "resolution", "complainant_note": "note"}[e.kind]
    return Said(utc(e.at), kind, str(e.detail[text]))


def case_page(read_model: ReadModel, case_id: str, now: datetime | None = None) -> CasePage | None:
    now = now or datetime.now(timezone.utc)
    row = read_model.case(case_id)
    if row is None:
        return None
    milestones = read_model.milestones(case_id)
    events = read_model.events(case_id)
    promised = {rule.name for rule in POLICIES.get(row.policy, ())}
    page = CasePage(
        case_id=row.case_id,
        title=row.title,
        status=row.status,
        department=row.department,
        phone=row.complainant_masked,
        steps=[_step(name, milestones, now) for name in STEPS if name in promised],
    )
    for e in events:
        said = _said(e)
        if said is not None:
            (page.notes if said.kind == "note" else page.answers).append(said)
        if e.kind == "attached" and e.detail.get("evidence") == "photo":
            if e.actor_role == "complainant" or e.detail.get("purpose") == "after":
                page.photos.append((str(e.detail["digest"]), e.detail.get("thumbnail"), str(e.detail["purpose"])))
        if e.kind == "followed_up":
            page.verdict = Verdict(
                at=utc(e.at),
                satisfaction=str(e.detail.get("satisfaction")),
                resolved=e.detail.get("resolved"),
                by=SOURCES.get(e.actor_role or "", "by_department"),
                comment=e.detail.get("note") if e.actor_role == "complainant" else None,
            )
    return page
