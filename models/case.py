"""A case: its live state (what the `state` query and the workflow result return) and how it
changes. Every change is a method here, in plain Python: it changes the state, records its
timeline events and returns the Effects the workflow must carry out. Read this first."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, PrivateAttr

from models import chain
from models.actor import Actor, LeaderRef
from models.base import Category, Policy, Track
from models.complaint import Complaint
from models.dispute import (
    Agreement,
    AgreementForm,
    AssignMediator,
    Confirmation,
    Dispute,
    DisputeKind,
    ExtendMediation,
    PartySide,
    RecordAgreement,
    RecordConfirmation,
    RecordFulfilment,
    RecordSession,
    Refer,
    Road,
    ScheduleSession,
    Session,
    StartMediation,
    Withdraw,
)
from models.editions import LATEST, Edition
from models.effects import Effects, Shift
from models.evidence import Attachment
from models.notice import NoticeKind
from models.risk import RiskLevel, RiskMark, RiskReason
from models.scope import CaseWhere
from models.suggestion import Suggestion, taken
from models.tree import PlaceCodes, Placement
from models.updates import (
    AddNote,
    AssignLeader,
    Attach,
    Command,
    DecideExtension,
    DecideSuspension,
    Dispatch,
    Escalate,
    NoteSourceTask,
    PlaceCase,
    PublishPhoto,
    ReassessRisk,
    RecordContact,
    RecordFollowUp,
    RecordResponse,
    RecordVerification,
    Reply,
    ReportIn,
    ReportProgress,
    RequestExtension,
    RequestSuspension,
    Resolve,
    Resume,
    Satisfaction,
    SendLink,
    SubmitOpinion,
    SummonDepartments,
    Transfer,
)
from sla.policies import (
    DEPARTMENT_STEPS,
    ROAD_WHEN_TERM_RUNS_OUT,
    SESSION_RECORD_WITHIN,
    SESSION_REMINDER,
    arbitration_limitation_ends,
    breach_actions,
    reopen_escalates,
)


class CaseStatus(StrEnum):
    received = "received"
    dispatched = "dispatched"
    handling = "handling"
    resolved = "resolved"
    closed = "closed"
    merged = "merged"
    # A dispute between people (models/dispute.py): in mediation, then an agreement being
    # fulfilled; it ends closed (settled), referred (to arbitration or a court) or withdrawn.
    mediating = "mediating"
    agreed = "agreed"
    referred = "referred"
    withdrawn = "withdrawn"


OPEN_STATUSES = (
    CaseStatus.received,
    CaseStatus.dispatched,
    CaseStatus.handling,
    CaseStatus.resolved,
    CaseStatus.mediating,
    CaseStatus.agreed,
)
FINISHED = (CaseStatus.closed, CaseStatus.merged, CaseStatus.referred, CaseStatus.withdrawn)
DISPUTE_MILESTONES = ("mediation", "session", "confirmation", "fulfilment")


def met_or_late(done_at: datetime | None, breached: bool, superseded: bool, settled: str | None) -> str | None:
    """How an on-time rate counts a milestone whatever the time now (readmodel/counting.py): "met"
    (done before its deadline), "late" (breached), else None: still running, or moved elsewhere by
    a transfer and not missed. (One still owed past its deadline, its timer not yet fired, is late
    too: only a query at that moment can count it.)"""
    if superseded and settled != "missed":
        return None
    if breached:
        return "late"
    return "met" if done_at is not None else None


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
    # "resolution" (done by it), "closed" or "merged" (no longer owed), "lowered" (a red case's
    # response, the case no longer red), "missed" (its deadline passed).
    settled: str | None = None
    # A window, not a promise (司法确认's 30 days): passing it records that it lapsed, never a breach.
    window: bool = False

    @property
    def open(self) -> bool:
        return self.done_at is None and not self.superseded

    @property
    def counted(self) -> str | None:
        """How an on-time rate counts it whatever the time now: met_or_late's word."""
        return met_or_late(self.done_at, self.breached, self.superseded, self.settled)

    def move_to(self, due_at: datetime) -> None:
        """A new deadline; its warnings stay as far ahead of it as they were."""
        delta = due_at - self.due_at
        self.due_at = due_at
        self.warn_at = [w + delta for w in self.warn_at]

    def extend_to(self, due_at: datetime, now: datetime) -> None:
        """An approved extension: a new deadline, warned of again. Its warnings move with it (as
        far ahead as they were), and those still ahead of `now` fire again, even if they fired
        before the extension: the department has a new promise to keep."""
        self.move_to(due_at)
        self.warnings_sent = sum(1 for w in self.warn_at if w <= now)

    @property
    def outcome(self) -> str:
        """How it stands, in a word: met, late, BREACHED (passed, still owed), missed (passed, and
        the case ended), open, superseded (a transfer), or not owed (the case ended first)."""
        if self.settled == "missed":
            return "missed"
        if self.settled in ("closed", "merged", "lowered"):  # lowered: no longer red, no response owed
            return "not owed"
        if self.superseded:
            return "superseded"
        if self.done_at is not None:
            return "late" if self.breached else "met"
        return "BREACHED" if self.breached else "open"


class CallerHistory(BaseModel):
    """The complainant's earlier cases in the district, counted from the read model when the case
    was filed: `first` when none at all (初信初访, handled with most care), and how many in the
    window before (sla/policies.py CALLER_WINDOW: 90 days)."""

    first: bool
    previous: int = 0  # cases filed in the window before this one

    @property
    def nth(self) -> int:
        """This case's place among the caller's in the window: 1 for the first, 5 for the fifth."""
        return self.previous + 1


class TimelineEvent(BaseModel):
    at: datetime
    kind: str
    actor: Actor | None = None  # None: the engine itself
    detail: dict[str, Any] = Field(default_factory=dict)

    def encoded(self) -> bytes:
        """The event's bytes in the case's hash chain (models/chain.py's canonical form)."""
        a = self.actor
        return chain.canonical(
            self.at,
            self.kind,
            a.id if a else None,
            a.role.value if a else None,
            a.department if a else None,
            self.detail,
        )


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
    edition: Edition = Edition.first  # the rules it runs under, fixed when it started (models/editions.py)
    dispute: Dispute | None = None  # taken to mediation: its parties, mediator, sessions, agreement
    # Edition 4 (issue 27): the hash chain over the first `chained` events (models/chain.py);
    # events are sealed once the change that recorded them is carried out, never before.
    chain_head: str | None = None
    chained: int = 0
    # Edition 7 (issue 35): where it lies in the city's tree, fixed when it was filed (a transfer
    # to another district's unit keeps it); the station that took it in; unplaced (待定位): a name
    # below `place` was not in the tree, and `nearest_places` are the names it has there.
    place: PlaceCodes | None = None
    station: str | None = None
    unplaced: bool = False
    nearest_places: list[str] = Field(default_factory=list)
    # Every unit the case was ever assigned to, transferred from or summoned (who sees it by its
    # unit, models/scope.py): kept on the state, since the read model gets states without timelines.
    known_units: list[str] = Field(default_factory=list)
    # Edition 9 (issue 40): the strong signal in what was said (强信息), as filed or as a supervisor
    # set it since; None: judged before edition 9, or filed without the edge's rules.
    risk: RiskMark | None = None
    # Edition 10 (issue 40): the caller's history in the district when this was filed (初信初访);
    # None: before edition 10, or nobody complained (a grid find).
    caller: CallerHistory | None = None
    # Edition 11 (issue 40): the unit suggested when it was filed (智能派单), and whether the first
    # dispatch took it (None: not dispatched yet, or nothing to take).
    suggestion: Suggestion | None = None
    suggestion_taken: bool | None = None
    # A 源头治理 task's own cases (the 类案 it handles at the source), and the tasks this case is one
    # of (the `note_source_task` update): cases that named none have none.
    members: list[str] = Field(default_factory=list)
    source_tasks: list[str] = Field(default_factory=list)
    # Evidence (issue 38): what the `attach` update recorded, each with its event's place.
    attachments: list[Attachment] = Field(default_factory=list)
    # Each event's digest, by its place in the timeline, as this run sealed it: for the read model
    # (never serialised; a run continued as new has written its events before it ends).
    _digests: dict[int, str] = PrivateAttr(default_factory=dict)

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

    # ---- how the case changes --------------------------------------------------------------
    # Each transition changes the state, records its events, and returns what the world must do
    # (Effects). Pure: the workflow supplies the time and carries out the effects. An update runs
    # through models.commands.UPDATES, whose row also sets the status it leads to.

    def units(self) -> frozenset[str]:
        """Every unit the case is or was assigned to, or summoned: who may see it by its unit."""
        return frozenset({d for d in (self.department, self.first_department) if d} | set(self.known_units))

    def knows_unit(self, *units: str | None) -> None:
        """Remember units that held the case (edition 7): an earlier case's history replays to the
        state it recorded, without them (its units are its department and first department)."""
        if self.edition < Edition.city_tree:
            return
        for unit in units:
            if unit and unit not in self.known_units:
                self.known_units.append(unit)

    def place_key(self) -> str | None:
        """Where repeats of this case are matched (edition 7): its community's code, or for an
        unplaced case its deepest code and the name as given, so that two 新村社区 in two
        districts are two places. None before edition 7: the community's name."""
        if self.place is None:
            return None
        if self.place.community is not None:
            return self.place.community
        return f"{self.place.deepest}/{self.community or ''}"

    def accepted(self) -> bool:
        """The look for an earlier case is done: merged into one, or accepted with its own
        deadlines (the workflow plans them only after the look). A filing's answer waits for it,
        so that a merged filing says so at once."""
        return self.status == CaseStatus.merged or bool(self.milestones)

    def where(self) -> CaseWhere:
        """What the "sees" rule reads of the case (models/scope.py)."""
        mediator = self.dispute.mediator.id if self.dispute is not None and self.dispute.mediator else None
        return CaseWhere(place=self.place, units=self.units(), mediator_id=mediator)

    @classmethod
    def receive(
        cls,
        case_id: str,
        complaint: Complaint,
        policy: Policy,
        at: datetime,
        edition: Edition = LATEST,
        placement: Placement | None = None,
        risk: RiskMark | None = None,
        suggestion: Suggestion | None = None,
    ) -> CaseState:
        """A new case: the complaint as taken in, under the rules of `edition`, at the place the
        edge found for it (edition 7), with the strong signal the edge found in its words (edition 9)
        and the unit it suggests (edition 11)."""
        state = cls(
            case_id=case_id,
            edition=edition,
            policy=policy,
            track=complaint.track,
            category=complaint.category,
            received_at=at,
            community=complaint.location.community,
            has_complainant=complaint.complainant is not None,
        )
        placed = placement if edition >= Edition.city_tree else None
        if placed is not None:
            state.place, state.unplaced, state.nearest_places = placed.place, placed.unplaced, placed.nearest
            state.station = complaint.station
        state.record(
            "received",
            None,
            at,
            channel=complaint.channel.value,
            title=complaint.title,
            location=complaint.location.model_dump(exclude_none=True),
            place=placed.place.model_dump(exclude_none=True) if placed else None,
            unplaced=placed.unplaced or None if placed else None,
            station=complaint.station if placed else None,
            members=complaint.members,  # a 源头治理 task's cases (None, so absent, for every other)
        )
        state.members = list(complaint.members or [])
        filed = complaint.dispute
        if filed is not None and edition >= Edition.disputes:  # filed as a dispute: straight to mediation
            state.dispute = Dispute(kind=filed.kind, parties=filed.parties, amount=filed.amount, started_at=at)
            state.status = CaseStatus.mediating
            state._record_mediation(None, at, filed=True)
        if risk is not None and edition >= Edition.strong_signals:
            state.risk = risk
            if risk.level is not None:
                state.record("risk_assessed", None, at, level=risk.level.value, reasons=_reasons(risk))
        if edition >= Edition.suggested_unit and state.dispute is None:
            state.suggestion = suggestion
        return state

    def accept(self, now: datetime | None = None) -> Effects:
        """The case is accepted: the clocks its acceptance starts. A dispute filed as one owes the
        acknowledgement and its mediation term, not a department's dispatch (sla/policies.py).
        A red case also alerts the duty leader at once: from edition 13 at `now`, the moment the
        engine learns of it, so a complaint entered late is not overdue before anyone was told;
        before, at the moment it was taken in."""
        if self.dispute is not None:
            effects = Effects().plan("dispute_filed", self.received_at, dispute=self.dispute.kind.value)
        else:
            effects = Effects().plan("acceptance", self.received_at)
        if self.risk is not None and self.risk.red:
            told = self.received_at
            if self.edition >= Edition.respond_when_told and now is not None:
                told = max(now, self.received_at)
            effects.add(self._alert(None, told))
        return effects

    # ---- strong signals (强信息, edition 9) -------------------------------------------------

    def _alert(self, actor: Actor | None, at: datetime) -> Effects:
        """A red case: its district's duty leader is told (24小时值守), and a leader of the district
        owes a response (the `respond` milestone, sla/policies.py RESPOND)."""
        assert self.risk is not None
        self.record("risk_alert", actor, at, level="red", reasons=_reasons(self.risk))
        reasons = "；".join(r.reason for r in self.risk.reasons)
        return Effects().plan("risk_red", at).tell("duty", NoticeKind.risk_alert, "risk_alert", reasons=reasons)

    def reassess_risk(self, cmd: ReassessRisk, at: datetime) -> Effects:
        """A supervisor sets the level. Raised to red: the alert and the response owed, as when
        filed red. Lowered from red: a response still owed is no longer owed."""
        before = self.risk.level if self.risk else None
        kept = [r for r in self.risk.reasons if r.rule != "supervisor"] if self.risk else []
        if cmd.level is None:
            self.risk = RiskMark()
        else:
            mine = RiskReason(rule="supervisor", level=cmd.level, reason=cmd.reason, reason_en=cmd.reason)
            self.risk = RiskMark(level=cmd.level, reasons=[mine, *(r for r in kept if r.level.rank <= cmd.level.rank)])
        event = self.record(
            "risk_reassessed",
            cmd.actor,
            at,
            level=cmd.level.value if cmd.level else "none",
            previous_level=before.value if before else "none",
            reason=cmd.reason,
        )
        if self.risk.red and before != cmd.level:
            return self._alert(cmd.actor, at)
        if before == RiskLevel.red and not self.risk.red:
            _note_settled(event, self.settle("lowered", at, ("respond",)))
        return Effects()

    def record_response(self, cmd: RecordResponse, at: datetime) -> Effects:
        event = self.record("risk_responded", cmd.actor, at, note=cmd.note, mode=cmd.mode.value if cmd.mode else None)
        return self.complete("respond", at, event)

    def record(self, kind: str, actor: Actor | None, at: datetime, **detail: Any) -> TimelineEvent:
        event = TimelineEvent(at=at, kind=kind, actor=actor, detail={k: v for k, v in detail.items() if v is not None})
        self.timeline.append(event)
        self.version += 1
        return event

    def seal(self) -> None:
        """Fold the events recorded since the last seal into the chain. The workflow calls it when a
        change is carried out (an event may still gain details until then: moved deadlines)."""
        if self.edition < Edition.chain or self.chained == len(self.timeline):
            return
        new = self.timeline[self.chained :]
        digests = chain.digests(self.chain_head or chain.genesis(self.case_id), (e.encoded() for e in new))
        self._digests.update(zip(range(self.chained, len(self.timeline)), digests, strict=True))
        self.chain_head, self.chained = digests[-1], len(self.timeline)

    def sealed_digests(self, start: int, end: int) -> list[str]:
        """The digests of the events from `start` to `end` (sealed by this run)."""
        return [self._digests[seq] for seq in range(start, end)]

    def add_milestones(self, planned: list[Milestone]) -> None:
        self.milestones.extend(planned)
        self.version += 1

    def complete(self, name: str, at: datetime, event: TimelineEvent | None, *, every: bool = True) -> Effects:
        """Mark the open milestone(s) of that name done; a breached one still takes a late completion."""
        effects = Effects()
        done = self.open_milestones(name)
        if not every:
            done = sorted(done, key=lambda m: m.due_at)[:1]
        for m in done:
            m.done_at = at
            if m.repeat_anchor and not m.breached:
                effects.plan(m.repeat_anchor, m.due_at)
        if event is not None and done:
            event.detail["milestones"] = [
                {"name": m.name, "due_at": m.due_at.isoformat(), "met": not m.breached} for m in done
            ]
        self.version += 1
        return effects

    def acknowledged(self, to: str, at: datetime, done_at: datetime | None = None) -> Effects:
        return self.complete("acknowledge", done_at or at, self.record("acknowledged", None, at, to=to))

    def dispatch(self, cmd: Dispatch, at: datetime) -> Effects:
        self.knows_unit(cmd.department)
        self.department = cmd.department
        self.first_department = self.first_department or cmd.department  # 首问首办: stays accountable
        detail: dict[str, Any] = {"department": cmd.department}
        if self.edition >= Edition.suggested_unit and self.suggestion_taken is None:
            self.suggestion_taken = taken(self.suggestion, cmd.department)
            if self.suggestion_taken is not None:
                assert self.suggestion is not None
                detail["suggested"] = {"unit": self.suggestion.unit, "by": self.suggestion.by.value}
                detail["took_suggestion"] = self.suggestion_taken
        effects = self.complete("dispatch", at, self.record("dispatched", cmd.actor, at, **detail))
        effects.plan("assignment", at, department=cmd.department)
        return effects.tell(
            f"department:{cmd.department}", NoticeKind.assignment, "assignment", department=cmd.department
        )

    def place_case(self, cmd: PlaceCase, at: datetime) -> Effects:
        """A dispatcher places an unplaced case (待定位) at a place of its district."""
        assert cmd.place is not None  # the edge resolves the code (starter.act)
        previous = self.place
        self.place, self.unplaced, self.nearest_places = cmd.place, False, []
        if cmd.community_name:
            self.community = cmd.community_name
        self.record(
            "placed",
            cmd.actor,
            at,
            code=cmd.code,
            place=cmd.place.model_dump(exclude_none=True),
            previous=previous.deepest if previous else None,
        )
        return Effects()

    def department_step(self, milestone: str, kind: str, cmd: Command, at: datetime, *, every: bool = True) -> Effects:
        """Contact, verification, reply, opinion, progress report: the department's own steps
        (sla.policies.DEPARTMENT_STEPS), each recording its payload as the event's detail."""
        detail = cmd.model_dump(mode="json", exclude={"actor", "expected_version"})
        return self.complete(milestone, at, self.record(kind, cmd.actor, at, **detail), every=every)

    def record_contact(self, cmd: RecordContact, at: datetime) -> Effects:
        return self.department_step("contact", "contacted", cmd, at)

    def record_verification(self, cmd: RecordVerification, at: datetime) -> Effects:
        return self.department_step("verify", "verified", cmd, at)

    def reply(self, cmd: Reply, at: datetime) -> Effects:
        return self.department_step("reply", "replied", cmd, at)

    def submit_opinion(self, cmd: SubmitOpinion, at: datetime) -> Effects:
        return self.department_step("opinion", "opinion_filed", cmd, at)

    def report_progress(self, cmd: ReportProgress, at: datetime) -> Effects:
        """Meets the earliest progress report owed (13710: the 3-day one, then the monthly ones)."""
        return self.department_step("progress_report", "progress_reported", cmd, at, every=False)

    def transfer(self, cmd: Transfer, at: datetime) -> Effects:
        previous = self.department
        self.knows_unit(previous, cmd.to_department)
        self.department = cmd.to_department
        self.record(
            "transferred",
            cmd.actor,
            at,
            from_department=previous,
            to_department=cmd.to_department,
            explanation=cmd.explanation,
        )
        for m in self.milestones:
            # The new department owes its own contact, verification, reply and opinion.
            if m.open and m.department == previous:
                m.superseded = True
        effects = Effects().plan("assignment", at, department=cmd.to_department)
        effects.tell(
            f"department:{cmd.to_department}",
            NoticeKind.assignment,
            "transfer_in",
            from_department=previous or "",
            explanation=cmd.explanation,
        )
        return effects.tell(
            "complainant", NoticeKind.transfer, "transfer", department=cmd.to_department, explanation=cmd.explanation
        )

    def request_extension(self, cmd: RequestExtension, at: datetime) -> Effects:
        self.pending_extension = cmd
        self.record("extension_requested", cmd.actor, at, reason=cmd.reason, until=cmd.until.isoformat())
        return Effects().tell(
            "supervisor",
            NoticeKind.assignment,
            "extension_requested",
            department=self.department or "",
            until=cmd.until.isoformat(),
        )

    def decide_extension(self, cmd: DecideExtension, at: datetime) -> Effects:
        request, self.pending_extension = self.pending_extension, None
        resolve = self.open_milestones("resolve")
        if cmd.approve and request is not None and resolve and not resolve[-1].breached:
            previous = resolve[-1].due_at
            if self.edition >= Edition.extension_warns_again:
                resolve[-1].extend_to(request.until, at)
            else:  # cases started before edition 5 keep their warnings where they were
                resolve[-1].due_at = request.until
            self.record(
                "extension_approved",
                cmd.actor,
                at,
                note=cmd.note,
                previous_due_at=previous.isoformat(),
                due_at=request.until.isoformat(),
            )
        else:
            why = "the resolve deadline passed before the decision" if cmd.approve else None
            self.record("extension_refused", cmd.actor, at, note=cmd.note, why=why)
        return Effects()

    def resolve(self, cmd: Resolve, at: datetime) -> Effects:
        self.resolved_at = at
        event = self.record("resolved", cmd.actor, at, resolution=cmd.resolution)
        effects = self.complete("resolve", at, event)
        _note_settled(event, self.settle("resolution", at, DEPARTMENT_STEPS))
        effects.plan("resolution", at)
        if self.edition >= Edition.complainant_voice:
            # The department's answer goes to the complainant, with the link that asks their verdict.
            effects.tell("complainant", NoticeKind.follow_up_due, "resolved", resolution=cmd.resolution)
        return effects

    def record_follow_up(self, cmd: RecordFollowUp, at: datetime) -> Effects:
        self.satisfaction = cmd.satisfaction
        event = self.record(
            "followed_up",
            cmd.actor,
            at,
            satisfaction=cmd.satisfaction.value,
            resolved=cmd.resolved,
            note=cmd.note,
        )
        effects = self.complete("follow_up", at, event)
        # Not solved (是否解决: no) or not satisfied: the department works on it again.
        if cmd.satisfaction != Satisfaction.dissatisfied and cmd.resolved is not False:
            self.status = CaseStatus.closed  # 销号
            self.closed_at = at
            closed = self.record("closed", None, at, satisfaction=cmd.satisfaction.value)
            _note_settled(closed, self.settle("closed", at))  # nothing stays promised on a closed case
            return effects
        self.reopen_count += 1
        self.status = CaseStatus.handling
        self.resolved_at = None
        self.record("reopened", None, at, reopen_count=self.reopen_count)
        effects.plan("reopen", at)
        if reopen_escalates(self.reopen_count):
            effects.add(self.raise_to_leader(f"dissatisfied follow-up number {self.reopen_count}", None, at))
        return effects

    def add_note(self, cmd: AddNote, at: datetime) -> Effects:
        """补充说明: the department now responsible is told (the command centre, before dispatch)."""
        self.record("complainant_note", cmd.actor, at, note=cmd.note)
        recipient = f"department:{self.department}" if self.department else "supervisor"
        return Effects().tell(recipient, NoticeKind.complainant_note, "complainant_note", note=cmd.note)

    def send_link(self, cmd: SendLink, at: datetime) -> Effects:
        """The complainant's link again, by SMS: the notice makes the link, so no one else sees it."""
        self.record("link_sent", cmd.actor, at)
        return Effects().tell("complainant", NoticeKind.acknowledgement, "link")

    def attach(self, cmd: Attach, at: datetime) -> Effects:
        """Evidence recorded: its digest in the event, so the hash chain covers the file's bytes."""
        found = cmd.found
        assert found is not None  # the edge found the upload (starter.act), the validator checked
        kept = found.model_copy(update={"kind": cmd.kind, "purpose": cmd.purpose, "seq": len(self.timeline)})
        self.record(
            "attached",
            cmd.actor,
            at,
            digest=kept.id,
            evidence=kept.kind.value,  # its kind ("kind" names the event itself)
            purpose=kept.purpose.value,
            media_type=kept.media_type,
            size=kept.size,
            thumbnail=kept.thumbnail,
            duration_seconds=kept.duration_seconds,
            note=cmd.note,
        )
        self.attachments.append(kept)
        return Effects()

    def publish_photo(self, cmd: PublishPhoto, at: datetime) -> Effects:
        """A photo shown publicly: the original, or a copy with a region covered (the original private)."""
        original = next(a for a in self.attachments if a.id == cmd.attachment)
        if cmd.published is not None:  # covered: a new photo, public; its digest in the chain too
            shown = cmd.published.model_copy(
                update={"purpose": original.purpose, "seq": len(self.timeline), "public": True}
            )
            self.attachments.append(shown)
        else:
            shown = original
            self.attachments = [
                a.model_copy(update={"public": True}) if a.id == original.id else a for a in self.attachments
            ]
        self.record(
            "photo_published",
            cmd.actor,
            at,
            digest=shown.id,
            original=original.id if shown.id != original.id else None,
            thumbnail=shown.thumbnail,
            box=cmd.box,
        )
        return Effects()

    def note_source_task(self, cmd: NoteSourceTask, at: datetime) -> Effects:
        """One of a 类案 handed to a unit as one 源头治理 task: said on this case's timeline."""
        self.source_tasks.append(cmd.task_id)
        self.record("source_task", cmd.actor, at, task_id=cmd.task_id, department=cmd.department)
        return Effects()

    def escalate(self, cmd: Escalate, at: datetime) -> Effects:
        return self.raise_to_leader(cmd.reason, cmd.actor, at)

    def raise_to_leader(self, reason: str, actor: Actor | None, at: datetime) -> Effects:
        """领导包案: once; a further reason is recorded beside the first."""
        if self.escalated:
            self.record("escalation_reason", actor, at, reason=reason)
            return Effects()
        self.escalated = True
        self.escalation_reason = reason
        self.record("escalated", actor, at, reason=reason)
        return Effects().plan("escalation", at).tell("supervisor", NoticeKind.escalation, "escalation", reason=reason)

    def assign_leader(self, cmd: AssignLeader, at: datetime) -> Effects:
        previous, self.leader = self.leader, cmd.leader
        event = self.record(
            "leader_assigned", cmd.actor, at, leader=cmd.leader.model_dump(), replaces=previous.id if previous else None
        )
        return self.complete("leader", at, event).tell(
            f"leader:{cmd.leader.id}",
            NoticeKind.escalation,
            "leader_assigned",
            leader=cmd.leader.name,
            reason=self.escalation_reason or "",
        )

    def request_suspension(self, cmd: RequestSuspension, at: datetime) -> Effects:
        self.pending_suspension = cmd
        self.record("suspension_requested", cmd.actor, at, reason=cmd.reason)
        return Effects().tell(
            "supervisor",
            NoticeKind.assignment,
            "suspension_requested",
            department=self.department or "",
            reason=cmd.reason,
        )

    def decide_suspension(self, cmd: DecideSuspension, at: datetime) -> Effects:
        request, self.pending_suspension = self.pending_suspension, None
        running = [m for m in self.open_milestones("resolve") if not m.breached]
        if cmd.approve and running:
            for m in running:
                m.paused_since = at  # 中止计时: the clock stands still from now
            self.suspended = True
            self.record("suspended", cmd.actor, at, note=cmd.note, reason=request.reason if request else None)
        else:
            why = "the resolve deadline passed before the decision" if cmd.approve else None
            self.record("suspension_refused", cmd.actor, at, note=cmd.note, why=why)
        return Effects()

    def resume(self, cmd: Resume, at: datetime) -> Effects:
        """The stopped clocks run again; each deadline moves by the time stood still (in working
        days where it counts working days: the workflow asks the calendar, then calls moved())."""
        self.suspended = False
        effects = Effects()
        for i, m in enumerate(self.milestones):
            if m.paused_since is None:
                continue
            stopped_at, m.paused_since = m.paused_since, None
            m.paused_seconds += (at - stopped_at).total_seconds()
            effects.shifts.append(Shift(i, stopped_at, at))
        event = self.record("resumed", cmd.actor, at, note=cmd.note, moved=[])
        effects.moved = event.detail["moved"]  # filled as the workflow moves each deadline
        return effects

    def moved(self, shift: Shift, due_at: datetime, estimated: bool, into: list[dict[str, str]]) -> None:
        m = self.milestones[shift.milestone]
        into.append({"milestone": m.name, "from": m.due_at.isoformat(), "to": due_at.isoformat()})
        m.move_to(due_at)
        m.estimated = m.estimated or estimated
        self.version += 1

    def summon_departments(self, cmd: SummonDepartments, at: datetime) -> Effects:
        self.knows_unit(*cmd.departments)
        self.record(
            "summoned",
            cmd.actor,
            at,
            notice_no=cmd.notice_no,
            departments=cmd.departments,
            reason=cmd.reason,
            meet_at=cmd.meet_at.isoformat() if cmd.meet_at else None,
        )
        effects = Effects().plan("summons", at, departments=cmd.departments)
        for department in cmd.departments:
            effects.tell(
                f"department:{department}",
                NoticeKind.summons,
                "summons",
                notice_no=cmd.notice_no,
                community=self.community or "",
                reason=cmd.reason,
            )
        return effects

    def report_in(self, cmd: ReportIn, at: datetime) -> Effects:
        department = cmd.actor.department
        event = self.record("reported_in", cmd.actor, at, department=department, note=cmd.note)
        return self.complete(f"report_in:{department}", at, event)

    # ---- disputes: mediation, its agreement, and how it ends (models/dispute.py) ------------

    @property
    def mediation(self) -> Dispute:
        assert self.dispute is not None, "not a dispute"  # the update table's checks come first
        return self.dispute

    def start_mediation(self, cmd: StartMediation, at: datetime) -> Effects:
        """A complaint taken to mediation: it keeps its history and its own clocks; the mediation
        term starts now (sla/policies.py DISPUTE_RULES)."""
        self.dispute = Dispute(kind=cmd.kind, parties=cmd.parties, amount=cmd.amount, started_at=at)
        self.status = CaseStatus.mediating
        event = self._record_mediation(cmd.actor, at, note=cmd.note)
        # Handed to mediation is handed on: a dispatch still owed is met by it.
        return self.complete("dispatch", at, event).plan("mediation", at, dispute=cmd.kind.value)

    def _record_mediation(
        self, actor: Actor | None, at: datetime, note: str | None = None, filed: bool = False
    ) -> TimelineEvent:
        d = self.mediation
        sides = [p.side.value for p in d.parties]
        # No name or phone in the timeline: it is read by auditors and written to the read model.
        return self.record(
            "mediation_started",
            actor,
            at,
            dispute_kind=d.kind.value,
            applicants=sides.count("applicant"),
            respondents=sides.count("respondent"),
            amount=d.amount,
            note=note,
            filed_as_dispute=filed or None,
        )

    def assign_mediator(self, cmd: AssignMediator, at: datetime) -> Effects:
        d = self.mediation
        previous, d.mediator = d.mediator, cmd.mediator
        self.record(
            "mediator_assigned",
            cmd.actor,
            at,
            mediator=cmd.mediator.model_dump(),
            replaces=previous.id if previous else None,
        )
        return Effects().tell(
            f"mediator:{cmd.mediator.id}",
            NoticeKind.mediation,
            "mediator_assigned",
            mediator=cmd.mediator.name,
            dispute_kind=d.kind.value,
        )

    def schedule_session(self, cmd: ScheduleSession, at: datetime) -> Effects:
        """Each party is reminded the day before (the session's milestone warns them); the
        mediator records it within a day after."""
        d = self.mediation
        d.sessions.append(Session(at=cmd.at, place=cmd.place))
        number = len(d.sessions)
        self.record("session_scheduled", cmd.actor, at, session=number, session_at=cmd.at.isoformat(), place=cmd.place)
        self.add_milestones(
            [
                Milestone(
                    name=f"session:{number}",
                    due_at=cmd.at + SESSION_RECORD_WITHIN,
                    anchor="session",
                    anchor_at=at,
                    duration="1 day",
                    unit="days",
                    warn_at=[max(at, cmd.at - SESSION_REMINDER)],
                )
            ]
        )
        return Effects()

    def record_session(self, cmd: RecordSession, at: datetime) -> Effects:
        number, session = self._session_to_record()
        session.attended, session.note = cmd.attended, cmd.note
        event = self.record("session_held", cmd.actor, at, session=number, attended=cmd.attended, note=cmd.note)
        return self.complete(f"session:{number}", at, event)

    def _session_to_record(self) -> tuple[int, Session]:
        """The earliest scheduled session not yet recorded (1-based)."""
        for n, session in enumerate(self.mediation.sessions, start=1):
            if session.attended is None:
                return n, session
        raise ValueError("no session to record")

    def extend_mediation(self, cmd: ExtendMediation, at: datetime) -> Effects:
        """Once, with the parties' consent: the term moves by calendar days."""
        self.mediation.extended = True
        term = self.open_milestones("mediation")[-1]
        previous = term.due_at
        term.move_to(previous + timedelta(days=cmd.days))
        self.record(
            "mediation_extended",
            cmd.actor,
            at,
            days=cmd.days,
            previous_due_at=previous.isoformat(),
            due_at=term.due_at.isoformat(),
            note=cmd.note,
        )
        return Effects()

    def record_agreement(self, cmd: RecordAgreement, at: datetime) -> Effects:
        """调解协议 (人民调解法 第二十八、二十九条): written (effective once signed) or oral (effective
        when reached). A written one opens the 30-day window for judicial confirmation (第三十三条);
        each obligation's due date is a fulfilment check (履行回访, 第三十一条)."""
        d = self.mediation
        effective = cmd.effective_at or at
        # A court confirms a written agreement; an oral one is recorded and followed up, not confirmed.
        confirmation = Confirmation.not_needed if cmd.form == AgreementForm.oral else None
        d.agreements.append(
            Agreement(
                form=cmd.form,
                terms=cmd.terms,
                effective_at=effective,
                obligations=cmd.obligations,
                confirmation=confirmation,
                honoured=[None] * len(cmd.obligations),
            )
        )
        self.status = CaseStatus.agreed
        event = self.record(
            "agreement_reached",
            cmd.actor,
            at,
            agreement=len(d.agreements),
            form=cmd.form.value,
            terms=cmd.terms,
            effective_at=effective.isoformat(),
            obligations=[o.model_dump(mode="json") for o in cmd.obligations],
        )
        effects = self.complete("mediation", at, event)
        self.add_milestones(
            [
                Milestone(
                    name=f"fulfilment:{n}",
                    due_at=o.due_at,
                    anchor="agreement",
                    anchor_at=effective,
                    unit="days",
                )
                for n, o in enumerate(cmd.obligations, start=1)
            ]
        )
        if cmd.form == AgreementForm.written:
            effects.plan("agreement", effective, dispute=d.kind.value)
        return effects.add(self._settle_if_done(at))

    def record_confirmation(self, cmd: RecordConfirmation, at: datetime) -> Effects:
        agreement = self._agreement()
        agreement.confirmation = cmd.outcome
        event = self.record("confirmation_recorded", cmd.actor, at, outcome=cmd.outcome.value, note=cmd.note)
        return self.complete("confirmation", at, event).add(self._settle_if_done(at))

    def record_fulfilment(self, cmd: RecordFulfilment, at: datetime) -> Effects:
        """履行回访: honoured, or not, which takes the dispute back to mediation (a new term)."""
        agreement = self._agreement()
        agreement.honoured[cmd.obligation - 1] = cmd.honoured
        event = self.record(
            "fulfilment_checked", cmd.actor, at, obligation=cmd.obligation, honoured=cmd.honoured, note=cmd.note
        )
        effects = self.complete(f"fulfilment:{cmd.obligation}", at, event)
        if cmd.honoured:
            return effects.add(self._settle_if_done(at))
        self.status = CaseStatus.mediating
        # The agreement no longer stands: nothing more is owed under it (one already late: missed).
        under_it = tuple(m.name for m in self.open_milestones() if m.name.startswith("fulfilment:"))
        self.settle("closed", at, (*under_it, "confirmation"))
        self.record("mediation_reopened", None, at, obligation=cmd.obligation)
        return effects.plan("mediation", at, dispute=self.mediation.kind.value)

    def _agreement(self) -> Agreement:
        agreement = self.mediation.agreement
        assert agreement is not None, "no agreement"
        return agreement

    def _settle_if_done(self, at: datetime) -> Effects:
        """纠纷化解: every obligation honoured and the confirmation window answered or closed."""
        agreement = self.mediation.agreement
        if (
            agreement is None
            or self.status != CaseStatus.agreed
            or any(h is not True for h in agreement.honoured)
            or agreement.confirmation is None
        ):
            return Effects()
        self.record("settled", None, at, agreement=len(self.mediation.agreements))
        return self._end(CaseStatus.closed, at)

    def refer(self, cmd: Refer, at: datetime) -> Effects:
        return self._refer(cmd.road, cmd.actor, at, cmd.known_since, cmd.note)

    def _refer(
        self, road: Road, actor: Actor | None, at: datetime, known_since: date | None = None, note: str | None = None
    ) -> Effects:
        """No agreement (or one not honoured): the dispute goes to arbitration, a court or a
        review; the applicant is told where, and for labour until when (第二十七条)."""
        d = self.mediation
        d.road = road
        if d.kind == DisputeKind.labour:
            d.limitation_ends = arbitration_limitation_ends(d.started_at.date(), known_since)
        self.record(
            "referred",
            actor,
            at,
            road=road.value,
            limitation_ends=d.limitation_ends.isoformat() if d.limitation_ends else None,
            known_since=known_since.isoformat() if known_since else None,
            note=note,
        )
        effects = self._end(CaseStatus.referred, at)
        template, limitation = (
            ("referred_labour", {"limitation_ends": d.limitation_ends.isoformat()})
            if d.limitation_ends is not None
            else ("referred", {})
        )
        for n, party in enumerate(d.parties, start=1):
            if party.side == PartySide.applicant:
                effects.tell(
                    f"party:{n}", NoticeKind.mediation, template, address=party.phone, road=road.value, **limitation
                )
        return effects

    def withdraw(self, cmd: Withdraw, at: datetime) -> Effects:
        self.record(
            "withdrawn",
            cmd.actor,
            at,
            party=cmd.party,
            side=self.mediation.parties[cmd.party - 1].side.value,
            reason=cmd.reason,
        )
        return self._end(CaseStatus.withdrawn, at)

    def _end(self, status: CaseStatus, at: datetime) -> Effects:
        """A dispute ends: settled (closed), referred or withdrawn; nothing stays promised."""
        self.status = status
        self.closed_at = at
        closed = self.record("closed", None, at, outcome=status.value)
        _note_settled(closed, self.settle("closed", at))
        return Effects()

    def _responsible(self, m: Milestone, department: str | None) -> list[str]:
        """Who hears of a milestone's warning or breach besides the supervisor: the department
        that owes it; for a dispute's own milestones, its mediator and its community."""
        if self.dispute is None or m.name.partition(":")[0] not in DISPUTE_MILESTONES:
            return [f"department:{department}"] if department else []
        who = [f"mediator:{self.dispute.mediator.id}"] if self.dispute.mediator else []
        return [*who, f"community:{self.community}"] if self.community else who

    def _remind_parties(self, m: Milestone, effects: Effects) -> bool:
        """A session's or a confirmation window's warning is a reminder to every party."""
        d = self.dispute
        if d is None:
            return False
        base, _, number = m.name.partition(":")
        if base == "session":
            session = d.sessions[int(number) - 1]
            for n, party in enumerate(d.parties, start=1):
                effects.tell(
                    f"party:{n}",
                    NoticeKind.mediation,
                    "session_reminder",
                    address=party.phone,
                    at=session.at.isoformat(),
                    place=session.place,
                )
            return True
        if base == "confirmation":
            for n, party in enumerate(d.parties, start=1):
                effects.tell(
                    f"party:{n}",
                    NoticeKind.mediation,
                    "confirmation_reminder",
                    address=party.phone,
                    due_at=m.due_at.isoformat(),
                )
            return True
        return False

    def _lapse(self, m: Milestone, now: datetime) -> Effects:
        """A window passed (司法确认's 30 days): recorded as not applied, never a breach."""
        m.done_at = now
        agreement = self.dispute.agreement if self.dispute else None
        if agreement is not None and agreement.confirmation is None:
            agreement.confirmation = Confirmation.not_applied
        self.record("confirmation_recorded", None, now, outcome=Confirmation.not_applied.value, lapsed=True)
        return self._settle_if_done(now)

    # ---- what time and other cases do to it ----------------------------------------------

    def next_warning(self, m: Milestone) -> datetime | None:
        return m.warn_at[m.warnings_sent] if m.warnings_sent < len(m.warn_at) else None

    def next_wake(self) -> datetime | None:
        """The earliest deadline or warning still ahead of a running clock."""
        running = self.running_milestones()
        pending = [m.due_at for m in running] + [w for m in running if (w := self.next_warning(m)) is not None]
        return min(pending) if pending else None

    def watch(self, now: datetime) -> Effects:
        """Time has passed: warn of deadlines near (临期预警), record those passed the moment they pass."""
        effects = Effects()
        for m in self.running_milestones():
            fired = False
            while (w := self.next_warning(m)) is not None and w <= now and m.due_at > now:
                m.warnings_sent += 1
                fired = True
            if not fired:
                continue
            m.warned = True
            department = self.owner(m)
            effects.warned.append((m.name, department))
            self.record("warning", None, now, milestone=m.name, due_at=m.due_at.isoformat(), department=department)
            if self._remind_parties(m, effects):
                continue
            for recipient in self._responsible(m, department) or ["supervisor"]:
                effects.tell(recipient, NoticeKind.warning, "warning", milestone=m.name, due_at=m.due_at.isoformat())
        for m in sorted((m for m in self.running_milestones() if m.due_at <= now), key=lambda m: m.due_at):
            if self.status in FINISHED:
                break  # a breach before it ended the dispute (referred): nothing more is owed
            if m.window:
                effects.add(self._lapse(m, now))
                continue
            m.breached, m.breached_at = True, now
            self.breaches.append(m.name)
            department = self.owner(m)
            effects.breached.append((m.name, department))
            self.record("breach", None, now, milestone=m.name, due_at=m.due_at.isoformat(), department=department)
            for recipient in ("supervisor", *self._responsible(m, department)):
                effects.tell(recipient, NoticeKind.breach, "breach", milestone=m.name, due_at=m.due_at.isoformat())
            actions = breach_actions(m.on_breach)
            if actions.refers and self.dispute is not None:
                # 劳动争议调解仲裁法 第十四条: no agreement in the term, and a party may go to arbitration.
                road = ROAD_WHEN_TERM_RUNS_OUT.get(self.dispute.kind.value, Road.civil_litigation.value)
                effects.add(self._refer(Road(road), None, now, note=f"{m.name} term {m.due_at.isoformat()} ran out"))
                continue
            if actions.escalates:
                effects.add(self.raise_to_leader(f"{m.name} deadline {m.due_at.isoformat()} passed", None, now))
            for anchor in actions.starts:
                effects.plan(anchor, m.due_at)
            if m.repeat_anchor:
                effects.plan(m.repeat_anchor, m.due_at)
        return effects

    def repeated(
        self, case_id: str, title: str, received_at: datetime, at: datetime, risk: RiskMark | None = None
    ) -> Effects:
        """A new complaint repeats this open case and was merged here. A stronger signal in its
        words is this case's now (a caller back with a threat must not be lost in the merge)."""
        self.record("repeat_complaint", None, at, case_id=case_id, title=title, received_at=received_at.isoformat())
        effects = self._stronger_signal(risk, case_id, at)
        if not self.department:
            return effects
        return effects.tell(
            f"department:{self.department}", NoticeKind.repeat, "repeat", repeat_case_id=case_id, title=title
        )

    def _stronger_signal(self, risk: RiskMark | None, case_id: str, at: datetime) -> Effects:
        if self.edition < Edition.strong_signals or risk is None or risk.rank <= (self.risk.rank if self.risk else 0):
            return Effects()
        was_red, self.risk = self.risk is not None and self.risk.red, risk
        level = risk.level.value if risk.level else None
        self.record("risk_assessed", None, at, level=level, reasons=_reasons(risk), repeat_case_id=case_id)
        return self._alert(None, at) if risk.red and not was_red else Effects()

    def merge(self, into: str, at: datetime) -> Effects:
        """It repeats an open case: that case carries it. Its clocks never started: nothing is owed."""
        self.status = CaseStatus.merged
        self.merged_into = into
        self.settle("merged", at)
        self.record("merged", None, at, into=into)
        return Effects().tell("complainant", NoticeKind.acknowledgement, "merged", into=into)

    def repeats_closed(self, case_id: str, closed_at: datetime | None, at: datetime) -> Effects:
        """It repeats a case closed recently: escalated from the start."""
        self.repeat_of = case_id
        self.record("repeat_of", None, at, case_id=case_id, closed_at=closed_at.isoformat() if closed_at else None)
        when = closed_at.date().isoformat() if closed_at else "recently"
        return self.raise_to_leader(f"repeats case {case_id}, closed {when}", None, at)


def _reasons(risk: RiskMark) -> list[dict[str, Any]]:
    return [r.model_dump(mode="json") for r in risk.reasons]


def _note_settled(event: TimelineEvent, settled: list[Milestone]) -> None:
    if settled:
        event.detail["settled"] = [
            {"name": m.name, "how": m.settled, "due_at": m.due_at.isoformat(), "department": m.department}
            for m in settled
        ]
