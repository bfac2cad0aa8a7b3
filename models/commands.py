"""Every update of a case, described once: its payload, the statuses it runs in, who may send it,
the event it records, the milestone it meets and the status it leads to.

The workflow registers one handler per row, the starter and the CLI list the rows, and the
validators check `check()`, the contract's who-may-do-what, on the pure case state."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from models.actor import Actor, Role, complainant_of
from models.case import FINISHED, OPEN_STATUSES, CaseState, CaseStatus
from models.dispute import (
    AssignMediator,
    ExtendMediation,
    RecordAgreement,
    RecordConfirmation,
    RecordFulfilment,
    RecordSession,
    Refer,
    ScheduleSession,
    StartMediation,
    Withdraw,
)
from models.editions import Edition
from models.effects import Effects
from models.evidence import PER_CASE, Kind, Purpose, refusal
from models.scope import sees
from models.tree import PlaceCodes
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
    SendLink,
    SubmitOpinion,
    SummonDepartments,
    Transfer,
)
from sla.policies import AFTER_PHOTO_TO_RESOLVE


class Rejected(ValueError):
    """An update the case refuses: the message says why."""


class NotAllowed(Rejected):
    """Refused for who asks, not for where the case stands: this actor may not do this."""


class Unseen(Rejected):
    """The actor does not see the case (models/scope.py): for it the case does not exist."""


class Stale(Rejected):
    """The sender saw an older version of the case than the one it is now."""


HANDLING = (CaseStatus.dispatched, CaseStatus.handling)
RESOLVED = (CaseStatus.resolved,)
BEFORE_RESOLUTION = (CaseStatus.received, *HANDLING)
MEDIATING = (CaseStatus.mediating,)
IN_DISPUTE = (CaseStatus.mediating, CaseStatus.agreed)
AGREED = (CaseStatus.agreed,)

# ---- who may: each raises NotAllowed naming who could ------------------------------------------

# Who takes complaints in, over every road in (/v1, Open311, the Python API's callers).
FILERS = (Role.dispatcher, Role.supervisor, Role.community)


def may_file(actor: Actor, place: PlaceCodes | None) -> None:
    """A dispatcher, a supervisor or a community takes a complaint in, and only inside its scope
    (city-contract.md): a street's hotline files its street's complaints."""
    if actor.role not in FILERS:
        raise NotAllowed(
            f"file: {_describe(actor)} may not take complaints in; a {', '.join(r.value for r in FILERS)} may"
        )
    if actor.scope is not None and (place is None or actor.scope not in place.codes()):
        raise NotAllowed(
            f"complaint.location: {actor.role.value} {actor.id} takes complaints in {actor.scope} only; "
            "this one lies outside it"
        )


def _describe(actor: Actor) -> str:
    return f"{actor.role.value} {actor.id}" + (f" of {actor.department}" if actor.department else "")


def _is_leader(state: CaseState, actor: Actor) -> bool:
    return state.escalated and actor.role == Role.leader and state.leader is not None and actor.id == state.leader.id


def _holder(state: CaseState) -> str:
    """Who handles the case, for a refusal: before dispatch no department yet holds it."""
    return state.department or "the department it is dispatched to"


def _is_handler(state: CaseState, actor: Actor) -> bool:
    return actor.role == Role.handler and actor.department is not None and actor.department == state.department


def _is_community(state: CaseState, actor: Actor) -> bool:
    return actor.role == Role.community and actor.department is not None and actor.department == state.community


def roles(*allowed: Role) -> Callable[[CaseState, Actor, str], None]:
    def may(state: CaseState, actor: Actor, update: str) -> None:
        if actor.role not in allowed:
            raise NotAllowed(
                f"{update}: {_describe(actor)} may not; only a {' or '.join(r.value for r in allowed)} may"
            )

    return may


def department_or_leader(state: CaseState, actor: Actor, update: str) -> None:
    if _is_handler(state, actor) or _is_leader(state, actor):
        return
    who = f"a handler of {_holder(state)}"
    if state.escalated:
        who += f" or the case's leader ({state.leader.id})" if state.leader else " (no leader is assigned yet)"
    raise NotAllowed(f"{update}: {_describe(actor)} may not; only {who} may")


def department(state: CaseState, actor: Actor, update: str) -> None:
    if not _is_handler(state, actor):
        raise NotAllowed(f"{update}: {_describe(actor)} may not; only a handler of {_holder(state)} may")


def department_or_supervisor(state: CaseState, actor: Actor, update: str) -> None:
    if not (_is_handler(state, actor) or actor.role == Role.supervisor):
        raise NotAllowed(
            f"{update}: {_describe(actor)} may not; only a handler of {_holder(state)} or a supervisor may"
        )


def resolver(state: CaseState, actor: Actor, update: str) -> None:
    """On an escalated case only its leader resolves (领导包案); else the department (or leader)."""
    if not state.escalated:
        department_or_leader(state, actor, update)
    elif state.leader is not None and not _is_leader(state, actor):
        raise NotAllowed(f"resolve: the case is escalated; only its leader {state.leader.id} may resolve it")


def _is_complainant(state: CaseState, actor: Actor) -> bool:
    """The complainant of this very case (the engine makes this actor from their verified link)."""
    return actor.role == Role.complainant and state.has_complainant and actor == complainant_of(state.case_id)


def verdict_giver(state: CaseState, actor: Actor, update: str) -> None:
    """回访: the complainant's own word on the department's work, so never the department's."""
    if state.edition < Edition.complainant_voice:  # cases started before: as they were
        department_or_supervisor(state, actor, update)
        return
    if actor.role in (Role.dispatcher, Role.supervisor) or _is_complainant(state, actor):
        return
    raise NotAllowed(
        f"{update}: {_describe(actor)} may not; the follow-up visit (回访) is the complainant's own verdict on "
        "how the case was handled: only the complainant (through their link), the hotline centre (a dispatcher) "
        "or a supervisor records it, never the department that handled it or its leader"
    )


def complainant_or_hotline(state: CaseState, actor: Actor, update: str) -> None:
    if not (_is_complainant(state, actor) or actor.role == Role.dispatcher):
        raise NotAllowed(
            f"{update}: {_describe(actor)} may not; only the case's complainant (through their link) "
            "or the hotline centre (a dispatcher, for a detail given by phone) may"
        )


def community_or_supervisor(state: CaseState, actor: Actor, update: str) -> None:
    if not (actor.role == Role.supervisor or _is_community(state, actor)):
        raise NotAllowed(
            f"{update}: {_describe(actor)} may not; only the case's community ({state.community}) or a supervisor may"
        )


def summoned_department(state: CaseState, actor: Actor, update: str) -> None:
    owed = _summoned(state)
    if actor.role != Role.handler or actor.department not in owed:
        who = ", ".join(sorted(owed)) or "none is summoned"
        raise NotAllowed(f"{update}: {_describe(actor)} may not; only a handler of a summoned department ({who})")


def _summoned(state: CaseState) -> set[str]:
    return {m.name.removeprefix("report_in:") for m in state.milestones if m.open and m.name.startswith("report_in:")}


def _is_mediator(state: CaseState, actor: Actor) -> bool:
    """The mediator assigned to this dispute, of the organisation they were assigned from."""
    m = state.dispute.mediator if state.dispute else None
    return actor.role == Role.mediator and m is not None and actor.id == m.id and actor.department == m.organisation


def mediation_taker(state: CaseState, actor: Actor, update: str) -> None:
    """Who may take a complaint to mediation: the hotline centre, a supervisor, the department
    assigned the case, or the case's community (the grid station: 访调一体)."""
    if actor.role in (Role.dispatcher, Role.supervisor) or _is_handler(state, actor) or _is_community(state, actor):
        return
    raise NotAllowed(
        f"{update}: {_describe(actor)} may not; only a dispatcher, a supervisor, a handler of "
        f"{state.department or 'the assigned department'} or the case's community ({state.community}) may"
    )


def mediation_side(state: CaseState, actor: Actor, update: str) -> None:
    """The dispute's own mediator, its community, or a supervisor: never another organisation's mediator."""
    if _is_mediator(state, actor) or _is_community(state, actor) or actor.role == Role.supervisor:
        return
    m = state.dispute.mediator if state.dispute else None
    mediator = f"its mediator ({m.id} of {m.organisation})" if m else "its mediator (none is assigned yet)"
    raise NotAllowed(
        f"{update}: {_describe(actor)} may not; only {mediator}, the case's community ({state.community}) "
        "or a supervisor may"
    )


def mediation_side_or_hotline(state: CaseState, actor: Actor, update: str) -> None:
    """A party may withdraw by phoning the hotline (a dispatcher records it)."""
    if actor.role != Role.dispatcher:
        mediation_side(state, actor, update)


# ---- when: what the case must be for the update, beyond its status -------------------------------


def disputes_edition(state: CaseState, cmd: Command) -> None:
    if state.edition < Edition.disputes:
        raise Rejected(
            "start_mediation: this case started before disputes were part of the engine; "
            "file the dispute as a new case and take that to mediation"
        )
    if state.dispute is not None:
        raise Rejected("start_mediation: the case is already a dispute")


def mediator_assigned(state: CaseState, cmd: Command) -> None:
    if state.dispute is None or state.dispute.mediator is None:
        raise Rejected("an agreement is signed by its mediator (人民调解法 第二十九条): assign_mediator first")


def session_to_record(state: CaseState, cmd: Command) -> None:
    assert isinstance(cmd, RecordSession)
    d = state.dispute
    if d is None or all(s.attended is not None for s in d.sessions):
        raise Rejected("record_session: no scheduled session is waiting to be recorded; schedule_session first")
    for n in cmd.attended:
        if n > len(d.parties):
            raise Rejected(f"record_session: attended: party {n} does not exist (the dispute has {len(d.parties)})")


def session_ahead(state: CaseState, cmd: Command) -> None:
    assert isinstance(cmd, ScheduleSession)
    started = state.dispute.started_at if state.dispute else None
    if started is not None and cmd.at < started:
        raise Rejected(f"schedule_session: at {cmd.at.isoformat()} is before the mediation started")


def extendable(state: CaseState, cmd: Command) -> None:
    if state.dispute is not None and state.dispute.extended:
        raise Rejected("extend_mediation: the mediation term has been extended once already; refer the dispute")
    term = state.open_milestones("mediation")
    if not term or term[-1].breached:
        raise Rejected("extend_mediation: there is no running mediation term to extend")


def agreement_possible(state: CaseState, cmd: Command) -> None:
    mediator_assigned(state, cmd)
    assert isinstance(cmd, RecordAgreement) and state.dispute is not None
    for n, o in enumerate(cmd.obligations):
        if o.party > len(state.dispute.parties):
            raise Rejected(
                f"record_agreement: obligations[{n}].party: party {o.party} does not exist "
                f"(the dispute has {len(state.dispute.parties)})"
            )


def confirmation_open(state: CaseState, cmd: Command) -> None:
    if not state.open_milestones("confirmation"):
        raise Rejected(
            "record_confirmation: no confirmation window is open (an oral agreement needs none; a lapsed one is recorded)"
        )


def obligation_to_check(state: CaseState, cmd: Command) -> None:
    assert isinstance(cmd, RecordFulfilment)
    agreement = state.dispute.agreement if state.dispute else None
    if agreement is None or cmd.obligation > len(agreement.obligations):
        count = len(agreement.obligations) if agreement else 0
        raise Rejected(f"record_fulfilment: obligation {cmd.obligation} does not exist (the agreement has {count})")
    if agreement.honoured[cmd.obligation - 1] is not None:
        raise Rejected(f"record_fulfilment: obligation {cmd.obligation} has been checked already")


def party_exists(state: CaseState, cmd: Command) -> None:
    assert isinstance(cmd, Withdraw)
    count = len(state.dispute.parties) if state.dispute else 0
    if cmd.party > count:
        raise Rejected(f"withdraw: party {cmd.party} does not exist (the dispute has {count})")


def unplaced(state: CaseState, cmd: Command) -> None:
    """Only an unplaced case (待定位, edition 7) is placed, and only inside its own district."""
    if state.edition < Edition.city_tree or state.place is None:
        raise Rejected(f"place: case {state.case_id} was filed before the city's tree; it keeps its names")
    if not state.unplaced:
        raise Rejected(f"place: case {state.case_id} is already placed at {state.place.deepest}")
    new = cmd.place if isinstance(cmd, PlaceCase) else None
    if new is None or new.district != state.place.district:
        raise Rejected(
            f"place: {getattr(cmd, 'code', '')} is not a place of the case's district ({state.place.district})"
        )


def not_dispatched(state: CaseState, cmd: Command) -> None:
    if state.status in HANDLING:
        raise Rejected(f"dispatch: already dispatched to {state.department}; use transfer to hand it over")


def other_department(state: CaseState, cmd: Command) -> None:
    assert isinstance(cmd, Transfer)
    if cmd.to_department == state.department:
        raise Rejected(f"transfer: to_department {cmd.to_department} is already the assigned department")


def extension_possible(state: CaseState, cmd: Command) -> None:
    assert isinstance(cmd, RequestExtension)
    if state.pending_extension is not None:
        raise Rejected("request_extension: a request is already pending; wait for decide_extension")
    resolve = state.open_milestones("resolve")
    if not resolve:
        raise Rejected("request_extension: the case has no open resolve deadline")
    if resolve[-1].breached:
        raise Rejected(
            f"request_extension: the resolve deadline {resolve[-1].due_at.isoformat()} has already passed; "
            "an extension cannot undo a breach"
        )
    if cmd.until <= resolve[-1].due_at:
        raise Rejected(
            f"request_extension: until {cmd.until.isoformat()} must be later than "
            f"the current deadline {resolve[-1].due_at.isoformat()}"
        )


def extension_pending(state: CaseState, cmd: Command) -> None:
    if state.pending_extension is None:
        raise Rejected("decide_extension: no extension request is pending")


def resolvable(state: CaseState, cmd: Command) -> None:
    if (
        state.edition >= Edition.evidence
        and state.category.value in AFTER_PHOTO_TO_RESOLVE
        and not any(a.kind == Kind.photo and a.purpose == Purpose.after for a in state.attachments)
    ):
        raise Rejected(
            f"resolve: {state.category.value} is resolved with a photo of the result (AFTER_PHOTO_TO_RESOLVE, "
            "sla/policies.py): upload it and attach it with purpose after first"
        )
    if state.escalated and state.leader is None:
        raise Rejected("resolve: the case is escalated and no leader is assigned yet; only that leader may resolve")
    # 1030: the department phones the complainant before anything else; no resolution without it.
    if state.has_complainant and not state.contacted():
        raise Rejected(
            f"resolve: {state.department} has not recorded contact with the complainant yet; "
            "record_contact first (a failed attempt counts: record it with reached=false and a note)"
        )


def not_escalated(state: CaseState, cmd: Command) -> None:
    if state.escalated:
        raise Rejected(f"escalate: the case is already escalated ({state.escalation_reason})")


def escalated(state: CaseState, cmd: Command) -> None:
    if not state.escalated:
        raise Rejected("assign_leader: the case is not escalated; escalate it first")


def suspension_possible(state: CaseState, cmd: Command) -> None:
    if state.suspended:
        raise Rejected("request_suspension: the resolve clock is already stopped")
    if state.pending_suspension is not None:
        raise Rejected("request_suspension: a request is already pending; wait for decide_suspension")
    resolve = state.open_milestones("resolve")
    if not resolve or resolve[-1].breached:
        raise Rejected("request_suspension: there is no running resolve deadline to stop")


def suspension_pending(state: CaseState, cmd: Command) -> None:
    if state.pending_suspension is None:
        raise Rejected("decide_suspension: no suspension request is pending")


def suspended(state: CaseState, cmd: Command) -> None:
    if not state.suspended:
        raise Rejected("resume: the resolve clock is not stopped")


def not_yet_summoned(state: CaseState, cmd: Command) -> None:
    assert isinstance(cmd, SummonDepartments)
    already = _summoned(state) & set(cmd.departments)
    if already:
        raise Rejected(f"summon_departments: {', '.join(sorted(already))} already summoned and not yet reported")


def has_complainant(state: CaseState, cmd: Command) -> None:
    if not state.has_complainant:
        raise Rejected("add_note: the case was found on patrol (未诉先办); there is no complainant to add a detail")


def link_to_send(state: CaseState, cmd: Command) -> None:
    if state.edition < Edition.link_on_request:
        raise Rejected(
            f"send_link: case {state.case_id} started before links could be re-sent; "
            "python -m starter link prints it for the hotline to read out"
        )
    if not state.has_complainant:
        raise Rejected("send_link: the case was found on patrol (未诉先办); there is no complainant to send a link")


def district_leader(state: CaseState, actor: Actor, update: str) -> None:
    """A leader of the case's district (or of the whole city) answers for a red case: its duty
    leader, or any leader whose scope is the district."""
    district = state.place.district if state.place else None
    above = (None, state.place.city) if state.place else (None,)
    if actor.role == Role.leader and (actor.scope in above or actor.scope == district):
        return
    raise NotAllowed(f"{update}: {_describe(actor)} may not; only a leader of district {district or 'the case'} may")


def risk_edition(state: CaseState, cmd: Command) -> None:
    update = "reassess_risk" if isinstance(cmd, ReassessRisk) else "record_response"
    if state.edition < Edition.strong_signals:
        raise Rejected(f"{update}: case {state.case_id} started before cases recorded strong signals (edition 9)")
    if isinstance(cmd, ReassessRisk) and (state.risk.level if state.risk else None) == cmd.level:
        level = cmd.level.value if cmd.level else "none"
        raise Rejected(f"reassess_risk: level: the case is already {level}")


def red_case(state: CaseState, cmd: Command) -> None:
    risk_edition(state, cmd)
    if state.risk is None or not state.risk.red:
        raise Rejected("record_response: the case is not red; only a red strong signal owes a leader's response")


def attacher_side(state: CaseState, actor: Actor) -> str | None:
    """Which side of the case the actor attaches evidence as (models/evidence.py ATTACHERS)."""
    if _is_complainant(state, actor):
        return "complainant"
    if actor.role == Role.dispatcher:
        return "hotline"
    if _is_handler(state, actor) or _is_leader(state, actor):
        return "unit"
    if _is_mediator(state, actor):
        return "mediator"
    if _is_community(state, actor):
        return "community"
    return None


def attacher(state: CaseState, actor: Actor, update: str) -> None:
    if attacher_side(state, actor) is None:
        raise NotAllowed(
            f"{update}: {_describe(actor)} may not; only the complainant (through their link), the hotline, "
            f"a handler of {_holder(state)}, the mediator or the case's community may"
        )


def evidence_to_attach(state: CaseState, cmd: Command) -> None:
    assert isinstance(cmd, Attach)
    if cmd.found is None or cmd.found.id != cmd.attachment:
        raise Rejected(f"attach: attachment: {cmd.attachment} names no upload of this case")
    if cmd.found.kind != cmd.kind:
        raise Rejected(f"attach: kind: the upload is a {cmd.found.kind.value}, not a {cmd.kind.value}")
    why = refusal(attacher_side(state, cmd.actor), cmd.kind, cmd.purpose)
    if why:
        raise Rejected(f"attach: {why}")
    if any(a.id == cmd.attachment and a.purpose == cmd.purpose for a in state.attachments):
        raise Rejected(f"attach: attachment: already on the case as {cmd.purpose.value}")
    if len(state.attachments) >= PER_CASE:
        raise Rejected(f"attach: the case holds {PER_CASE} attachments, the most it may")


def photo_to_publish(state: CaseState, cmd: Command) -> None:
    assert isinstance(cmd, PublishPhoto)
    found = next((a for a in state.attachments if a.id == cmd.attachment), None)
    if found is None or found.kind != Kind.photo:
        raise Rejected(f"publish_photo: attachment: {cmd.attachment} names no photo of this case")
    if cmd.box is None and found.public:
        raise Rejected("publish_photo: attachment: already public")
    if cmd.box is not None and (cmd.published is None or cmd.published.id == cmd.attachment):
        raise Rejected("publish_photo: box: the covered copy could not be made")


def not_in_task_yet(state: CaseState, cmd: Command) -> None:
    assert isinstance(cmd, NoteSourceTask)
    if cmd.task_id in state.source_tasks:
        raise Rejected(f"note_source_task: task_id: the case is already one of task {cmd.task_id}")
    if cmd.task_id == state.case_id:
        raise Rejected("note_source_task: task_id: a task is not one of its own cases")


def _anything(state: CaseState, cmd: Command) -> None:
    pass


# ---- the table -----------------------------------------------------------------------------------


Transition = Callable[[CaseState, Any, datetime], Effects]  # a CaseState method: (case, command, at)


@dataclass(frozen=True)
class Update:
    name: str
    command: type[Command]
    transition: Transition  # what it does to the case: the CaseState method that records it
    statuses: tuple[CaseStatus, ...]  # where the case must stand
    who: Callable[[CaseState, Actor, str], None]  # raises NotAllowed
    event: str  # the timeline event it records
    completes: str | None = None  # the milestone it meets ("report_in": the sender's department's)
    leads_to: CaseStatus | None = None  # None: unchanged, or decided by the update (a follow-up)
    when: Callable[[CaseState, Command], None] = _anything  # raises Rejected
    when_first: bool = False  # the update's own refusal says more than the status's would

    def check(self, state: CaseState, cmd: Command) -> None:
        # Who asks first: one who may not act learns nothing of the case's status from the refusal.
        self.who(state, cmd.actor, self.name)
        if state.status in FINISHED:
            raise Rejected(f"{self.name}: case {state.case_id} is {state.status.value}; nothing more can be done")
        if self.when_first:
            self.when(state, cmd)
        if state.status not in self.statuses:
            wanted = " or ".join(s.value for s in self.statuses)
            raise Rejected(f"{self.name}: case is {state.status.value}; {self.name} needs it {wanted}")
        if not self.when_first:
            self.when(state, cmd)

    def apply(self, state: CaseState, cmd: Command, at: datetime) -> Effects:
        """Run the update on the case (check() passed): its events, and what the world must do."""
        effects = self.transition(state, cmd, at)
        if self.leads_to is not None:
            state.status = self.leads_to
        return effects


C = CaseState
_ROWS = [
    Update(
        "dispatch", Dispatch, C.dispatch, (CaseStatus.received,), roles(Role.dispatcher, Role.supervisor),
        "dispatched", completes="dispatch", leads_to=CaseStatus.dispatched, when=not_dispatched,
        when_first=True,  # "use transfer" says more than "needs it received"
    ),
    Update(
        "record_contact", RecordContact, C.record_contact, HANDLING, department_or_leader, "contacted",
        completes="contact", leads_to=CaseStatus.handling,
    ),
    Update(
        "record_verification", RecordVerification, C.record_verification, HANDLING, department_or_leader, "verified",
        completes="verify", leads_to=CaseStatus.handling,
    ),
    Update(
        "reply", Reply, C.reply, HANDLING, department_or_leader, "replied",
        completes="reply", leads_to=CaseStatus.handling,
    ),
    Update(
        "submit_opinion", SubmitOpinion, C.submit_opinion, HANDLING, department_or_leader, "opinion_filed",
        completes="opinion", leads_to=CaseStatus.handling,
    ),
    Update(
        "report_progress", ReportProgress, C.report_progress, HANDLING, department_or_leader, "progress_reported",
        completes="progress_report", leads_to=CaseStatus.handling,
    ),
    Update(
        "transfer", Transfer, C.transfer, HANDLING, department_or_leader, "transferred",
        leads_to=CaseStatus.dispatched, when=other_department,
    ),
    Update(
        "request_extension", RequestExtension, C.request_extension, HANDLING, department_or_leader,
        "extension_requested", leads_to=CaseStatus.handling, when=extension_possible,
    ),
    Update(
        "decide_extension", DecideExtension, C.decide_extension, HANDLING, roles(Role.supervisor),
        "extension_approved", when=extension_pending,
    ),
    Update(
        "resolve", Resolve, C.resolve, HANDLING, resolver, "resolved",
        completes="resolve", leads_to=CaseStatus.resolved, when=resolvable,
    ),
    Update(
        "record_follow_up", RecordFollowUp, C.record_follow_up, RESOLVED, verdict_giver, "followed_up",
        completes="follow_up",
    ),
    Update(
        "add_note", AddNote, C.add_note, OPEN_STATUSES, complainant_or_hotline, "complainant_note",
        when=has_complainant,
    ),
    Update(
        "send_link", SendLink, C.send_link, OPEN_STATUSES, roles(Role.dispatcher, Role.supervisor), "link_sent",
        when=link_to_send,
    ),
    Update(
        "reassess_risk", ReassessRisk, C.reassess_risk, OPEN_STATUSES, roles(Role.supervisor), "risk_reassessed",
        when=risk_edition,
    ),
    Update(
        "record_response", RecordResponse, C.record_response, OPEN_STATUSES, district_leader, "risk_responded",
        completes="respond", when=red_case,
    ),
    Update(
        "place", PlaceCase, C.place_case, OPEN_STATUSES, roles(Role.dispatcher, Role.supervisor), "placed",
        when=unplaced,
    ),
    Update(
        "attach", Attach, C.attach, OPEN_STATUSES, attacher, "attached", when=evidence_to_attach,
    ),
    Update(
        "publish_photo", PublishPhoto, C.publish_photo, OPEN_STATUSES, roles(Role.supervisor), "photo_published",
        when=photo_to_publish,
    ),
    Update(
        "note_source_task", NoteSourceTask, C.note_source_task, OPEN_STATUSES, roles(Role.supervisor), "source_task",
        when=not_in_task_yet,
    ),
    Update(
        "escalate", Escalate, C.escalate, OPEN_STATUSES, roles(Role.supervisor), "escalated",
        when=not_escalated,
    ),
    Update(
        "assign_leader", AssignLeader, C.assign_leader, OPEN_STATUSES, roles(Role.supervisor), "leader_assigned",
        completes="leader", when=escalated,
    ),
    Update(
        "request_suspension", RequestSuspension, C.request_suspension, HANDLING, department,
        "suspension_requested", leads_to=CaseStatus.handling, when=suspension_possible,
    ),
    Update(
        "decide_suspension", DecideSuspension, C.decide_suspension, HANDLING, roles(Role.supervisor), "suspended",
        when=suspension_pending,
    ),
    Update("resume", Resume, C.resume, OPEN_STATUSES, department_or_supervisor, "resumed", when=suspended),
    Update(
        "summon_departments", SummonDepartments, C.summon_departments, OPEN_STATUSES, community_or_supervisor,
        "summoned", when=not_yet_summoned,
    ),
    Update(
        "report_in", ReportIn, C.report_in, OPEN_STATUSES, summoned_department, "reported_in",
        completes="report_in",
    ),
    # Disputes between people (models/dispute.py): mediation, its agreement, how it ends.
    Update(
        "start_mediation", StartMediation, C.start_mediation, BEFORE_RESOLUTION, mediation_taker,
        "mediation_started", leads_to=CaseStatus.mediating, when=disputes_edition, when_first=True,
    ),
    Update(
        "assign_mediator", AssignMediator, C.assign_mediator, IN_DISPUTE, community_or_supervisor,
        "mediator_assigned",
    ),
    Update(
        "schedule_session", ScheduleSession, C.schedule_session, MEDIATING, mediation_side, "session_scheduled",
        when=session_ahead,
    ),
    Update(
        "record_session", RecordSession, C.record_session, MEDIATING, mediation_side, "session_held",
        completes="session", when=session_to_record,
    ),
    Update(
        "extend_mediation", ExtendMediation, C.extend_mediation, MEDIATING, roles(Role.supervisor),
        "mediation_extended", when=extendable,
    ),
    Update(
        "record_agreement", RecordAgreement, C.record_agreement, MEDIATING, mediation_side, "agreement_reached",
        completes="mediation", when=agreement_possible,
    ),
    Update(
        "record_confirmation", RecordConfirmation, C.record_confirmation, AGREED, mediation_side,
        "confirmation_recorded", completes="confirmation", when=confirmation_open,
    ),
    Update(
        "record_fulfilment", RecordFulfilment, C.record_fulfilment, AGREED, mediation_side, "fulfilment_checked",
        completes="fulfilment", when=obligation_to_check,
    ),
    Update(
        "refer", Refer, C.refer, IN_DISPUTE, mediation_side, "referred", leads_to=CaseStatus.referred,
    ),
    Update(
        "withdraw", Withdraw, C.withdraw, IN_DISPUTE, mediation_side_or_hotline, "withdrawn",
        leads_to=CaseStatus.withdrawn, when=party_exists,
    ),
]  # fmt: skip
UPDATES: dict[str, Update] = {row.name: row for row in _ROWS}


def check(update: str, state: CaseState, cmd: Command) -> None:
    """Raise Rejected with the reason when `cmd` may not run on `state`: NotAllowed for who asks,
    Stale when the sender saw an older version, else the case's own reason."""
    if not sees(cmd.actor, state.where()):  # first: a case it does not see tells it nothing
        raise Unseen(f"no case {state.case_id}")
    if cmd.actor.role == Role.auditor:
        raise NotAllowed(f"{update}: {_describe(cmd.actor)} may not; an auditor reads cases and changes nothing")
    stale = cmd.expected_version is not None and cmd.expected_version != state.version
    try:
        UPDATES[update].check(state, cmd)
    except NotAllowed:
        raise
    except Rejected:
        if not stale:
            raise
    if stale:
        raise Stale(
            f"{update}: the case is at version {state.version}, not {cmd.expected_version}; "
            "read it again and decide on what it is now"
        )
