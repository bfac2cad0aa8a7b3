"""The edge: validation that names fields, and the contract's who-may-do-what on pure state."""

from datetime import timedelta

import pytest

from models import CaseState, CaseStatus, Milestone, RequestSuspension, TimelineEvent
from models import commands as access
from models.editions import LATEST, Edition
from models.evidence import Attachment
from models.risk import RiskLevel, RiskMark
from models.tree import PlaceCodes
from starter import InvalidInput, validate_case_input, validate_command
from starter.cases import UPDATES, validate_case_id
from starter.cli import parse_fields
from tests.support.cases import complaint
from tests.support.states import NOW, PAYLOADS, dispute_in, state_in


def test_valid_complaint_and_phone_forms():
    for phone in ("13800138000", "+86 13800138000", "0755-27400000", "010 12345678", "07552740000"):
        case = validate_case_input({"complaint": complaint(complainant={"name": "王", "phone": phone})}, NOW)
        assert case.complaint.complainant is not None
    assert validate_case_input({"complaint": complaint()}, NOW).policy.value == "1030"


def test_every_bad_field_is_named():
    bad = complaint(complainant={"name": " ", "phone": "12345"}, category="noise", track="urgent", title="")
    bad["location"] = {"district": "光明区"}
    with pytest.raises(InvalidInput) as err:
        validate_case_input({"complaint": bad, "policy": "999"}, NOW)
    message = str(err.value)
    for field in (
        "complaint.complainant.name",
        "complaint.complainant.phone",
        "complaint.category",
        "complaint.track",
        "complaint.title",
        "complaint.location.street",
        "complaint.location.community",
        "policy",
    ):
        assert field in message, field


def test_complainant_required_unless_grid_patrol():
    with pytest.raises(InvalidInput, match="complainant is required unless channel is grid_patrol"):
        validate_case_input({"complaint": complaint(complainant=None)}, NOW)
    assert validate_case_input({"complaint": complaint(channel="grid_patrol", complainant=None)}, NOW)


def test_received_at_bounds_and_unknown_fields():
    future = (NOW + timedelta(hours=1)).isoformat()
    with pytest.raises(InvalidInput, match="complaint.received_at: .* is in the future"):
        validate_case_input({"complaint": complaint(received_at=future)}, NOW)
    with pytest.raises(InvalidInput, match="more than 366 days ago"):
        validate_case_input({"complaint": complaint(received_at="2024-01-01T00:00:00+08:00")}, NOW)
    with pytest.raises(InvalidInput, match="complaint.received_at"):
        validate_case_input({"complaint": complaint(received_at="2026-11-23T09:00:00")}, NOW)  # no offset
    with pytest.raises(InvalidInput, match="complaint.priority: Extra inputs"):
        validate_case_input({"complaint": complaint(priority="high")}, NOW)
    with pytest.raises(InvalidInput, match="description: String should have at most 5000"):
        validate_case_input({"complaint": complaint(description="x" * 5001)}, NOW)


def test_case_id_and_command_validation():
    with pytest.raises(InvalidInput, match="case_id"):
        validate_case_id("has space")
    with pytest.raises(InvalidInput, match="department: String should have at least 1"):
        validate_command("dispatch", {"actor": {"id": "d", "role": "dispatcher"}, "department": ""})
    with pytest.raises(InvalidInput, match="actor.role"):
        validate_command("dispatch", {"actor": {"id": "d", "role": "mayor"}, "department": "x"})
    with pytest.raises(InvalidInput, match="satisfaction"):
        validate_command("record_follow_up", {"actor": {"id": "s", "role": "supervisor"}, "satisfaction": "meh"})
    with pytest.raises(InvalidInput, match="update: 'close'"):
        validate_command("close", {})


def test_cli_fields():
    assert parse_fields(["actor.id=d1", "actor.role=dispatcher", "approve:=true", "department=区教育局"]) == {
        "actor": {"id": "d1", "role": "dispatcher"},
        "approve": True,
        "department": "区教育局",
    }
    with pytest.raises(InvalidInput, match="approve"):
        parse_fields(["approve:=yes"])


# ---- who may do what: every update x every role x own/other department -------------------

ROLES = ("dispatcher", "handler", "leader", "supervisor", "community", "auditor", "complainant", "mediator")
ORGANISATION = "虹姐调解工作室"  # the mediator m1's (tests/support/states.py)
DEPARTMENT_UPDATES = (
    "record_contact",
    "record_verification",
    "reply",
    "submit_opinion",
    "report_progress",
    "transfer",
    "request_extension",
    "resolve",
)


def _allowed(update: str, state: CaseState, role: str, department: str | None, actor_id: str = "x") -> bool:
    if role == "complainant":  # the engine's actor for a verified link: its id names the case, no department
        actor_id, department = f"complainant:{state.case_id if department == '住建局' else 'c2'}", None
    if role == "mediator":  # the dispute's own mediator, or one of another organisation
        actor_id, department = ("m1", ORGANISATION) if department == "住建局" else ("m9", "另一调解委员会")
    cmd = validate_command(
        update, {"actor": {"id": actor_id, "role": role, "department": department}, **PAYLOADS[update]}
    )
    try:
        access.check(update, state, cmd)
        return True
    except access.Rejected as err:
        assert update in str(err)  # every rejection says which update and why
        return False


OPEN = ("received", "dispatched", "handling", "resolved", "mediating", "agreed")
IN_DISPUTE = ("mediating", "agreed")
DISPUTE_UPDATES = (
    "assign_mediator", "schedule_session", "record_session", "extend_mediation", "record_agreement",
    "record_confirmation", "record_fulfilment", "refer", "withdraw",
)  # fmt: skip
# The contract's "when", written out independently of models/commands.py.
ALLOWED_STATUSES = {
    "dispatch": ("received",),
    **{u: ("dispatched", "handling") for u in DEPARTMENT_UPDATES},
    "decide_extension": ("dispatched", "handling"),
    "record_follow_up": ("resolved",),
    "escalate": OPEN,
    "assign_leader": OPEN,
    "request_suspension": ("dispatched", "handling"),
    "decide_suspension": ("dispatched", "handling"),
    "resume": OPEN,
    "summon_departments": OPEN,
    "report_in": OPEN,
    "add_note": OPEN,
    "send_link": OPEN,  # issue 37: the complainant's link again, while the case is open
    "place": OPEN,  # issue 35: an unplaced case, any time it is open
    "reassess_risk": OPEN,  # issue 40: a supervisor sets the strong signal's level
    "record_response": OPEN,  # issue 40: a leader of the district answers a red case
    "note_source_task": OPEN,  # issue 40: one of a 类案 handed to a unit as one 源头治理 task
    "attach": OPEN,  # issue 38: evidence, while the case is open
    "publish_photo": OPEN,  # issue 38: a photo of the case made public (or a covered copy)
    # Disputes (issue 25)
    "start_mediation": ("received", "dispatched", "handling"),
    "assign_mediator": IN_DISPUTE,
    "schedule_session": ("mediating",),
    "record_session": ("mediating",),
    "extend_mediation": ("mediating",),
    "record_agreement": ("mediating",),
    "record_confirmation": ("agreed",),
    "record_fulfilment": ("agreed",),
    "refer": IN_DISPUTE,
    "withdraw": IN_DISPUTE,
}


def _who_may(update: str, role: str, own: bool, edition: Edition = LATEST) -> bool:
    """own: the actor's department is the case's (its community, for role community; for the
    complainant, the link is this case's)."""
    mediation_side = role == "supervisor" or (role in ("mediator", "community") and own)
    follow_up = (
        (role == "handler" and own) or role == "supervisor"
        if edition < Edition.complainant_voice  # cases started before issue 23: as they were
        else role in ("dispatcher", "supervisor") or (role == "complainant" and own)
    )
    return {
        "dispatch": role in ("dispatcher", "supervisor"),
        "decide_extension": role == "supervisor",
        "escalate": role == "supervisor",
        "assign_leader": role == "supervisor",
        "record_follow_up": follow_up,
        "decide_suspension": role == "supervisor",
        "resume": (role == "handler" and own) or role == "supervisor",
        "summon_departments": (role == "community" and own) or role == "supervisor",
        "add_note": (role == "complainant" and own) or role == "dispatcher",
        "send_link": role in ("dispatcher", "supervisor") and edition >= Edition.link_on_request,
        "place": role in ("dispatcher", "supervisor") and edition >= Edition.city_tree,
        "reassess_risk": role == "supervisor" and edition >= Edition.strong_signals,
        "record_response": role == "leader" and edition >= Edition.strong_signals,  # of the whole city here
        # Any edition: a new update cannot change how an earlier history replays (none holds it).
        "note_source_task": role == "supervisor",
        # The sides of ATTACHERS (models/evidence.py): the dispatcher's photo of the problem is the sample.
        "attach": role == "dispatcher" or (role in ("community", "complainant") and own),
        "publish_photo": role == "supervisor",
        "start_mediation": edition >= Edition.disputes
        and (role in ("dispatcher", "supervisor") or (role in ("handler", "community") and own)),
        "assign_mediator": role == "supervisor" or (role == "community" and own),
        "extend_mediation": role == "supervisor",
        **{u: mediation_side for u in DISPUTE_UPDATES if u not in ("assign_mediator", "extend_mediation")},
        "withdraw": mediation_side or role == "dispatcher",
    }.get(update, role == "handler" and own)


@pytest.mark.parametrize("update", sorted(UPDATES))
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("own", [True, False])
def test_access_matrix(update, role, own):
    """Every update x every role x own/other department x every status x every edition of the
    rules. The statuses and editions are walked inside one test (each a pytest test of its own
    cost the suite half a minute of collection); every cell that disagrees is named."""
    wrong = [
        f"{edition.name} {status}: expected {not got}, got {got}"
        for edition in Edition
        for status in (s.value for s in CaseStatus)
        if (got := _cell(update, role, own, status, edition)) is not _expected(update, role, own, status, edition)
    ]
    assert not wrong, wrong


def _expected(update: str, role: str, own: bool, status: str, edition: Edition) -> bool:
    return _who_may(update, role, own, edition) and status in ALLOWED_STATUSES[update]


PHOTO = Attachment(id="ab" * 32, kind="photo", purpose="problem", media_type="image/jpeg", size=1000)


def _cell(update: str, role: str, own: bool, status: str, edition: Edition) -> bool:
    state = state_in(
        CaseStatus(status), escalated=update == "assign_leader", pending=update == "decide_extension", edition=edition
    )
    state.department = "住建局"  # so "own department" means something on every status
    state.community = "塘家社区"
    state.suspended = update == "resume"
    if update == "decide_suspension":
        asked = validate_command("request_suspension", {"actor": {"id": "h", "role": "handler"}, "reason": "r"})
        assert isinstance(asked, RequestSuspension)
        state.pending_suspension = asked
    if update == "report_in":
        state.milestones.append(Milestone(name="report_in:住建局", due_at=NOW + timedelta(days=1), department="住建局"))
    if update == "record_response":  # a red case
        state.risk = RiskMark(level=RiskLevel.red)
    if update == "place":  # filed at its street, the community not yet in the tree (待定位)
        state.place, state.unplaced = PlaceCodes(city="440300", district="440311", street="440311004"), True
    if update == "publish_photo":  # a photo on the case to show
        state.attachments.append(PHOTO)
    if update in DISPUTE_UPDATES:  # a dispute with everything each update may need: the status decides
        disputed = dispute_in(CaseStatus.agreed, session=True)
        assert disputed.dispute is not None
        state.dispute = disputed.dispute
        disputed.dispute.agreements[-1].honoured = [None]
        state.milestones += [m.model_copy(update={"done_at": None}) for m in disputed.milestones[1:]]
    department = ("塘家社区" if role == "community" else "住建局") if own else "交通局"
    return _allowed(update, state, role, department)


@pytest.mark.parametrize("update", sorted(UPDATES))
def test_nothing_after_closed(update):
    for status in (CaseStatus.closed, CaseStatus.merged):
        for role in ROLES:
            assert not _allowed(update, state_in(status, pending=True), role, "住建局")


@pytest.mark.parametrize("update", DEPARTMENT_UPDATES)
def test_escalated_case_leader_acts_and_only_the_leader_resolves(update):
    state = state_in(CaseStatus.handling, escalated=True, leader=True)
    assert _allowed(update, state, "leader", None, actor_id="L1")
    assert not _allowed(update, state, "leader", None, actor_id="L2")
    assert _allowed(update, state, "handler", "住建局") is (update != "resolve")
    no_leader = state_in(CaseStatus.handling, escalated=True)
    assert not _allowed("resolve", no_leader, "handler", "住建局")


def test_status_rules():
    assert not _allowed("resolve", state_in(CaseStatus.received), "handler", None)
    assert not _allowed("dispatch", state_in(CaseStatus.handling), "dispatcher", None)
    assert not _allowed("record_follow_up", state_in(CaseStatus.handling), "supervisor", None)
    assert not _allowed("decide_extension", state_in(CaseStatus.handling), "supervisor", None)  # none pending
    assert not _allowed("assign_leader", state_in(CaseStatus.handling), "supervisor", None)  # not escalated
    assert not _allowed("escalate", state_in(CaseStatus.handling, escalated=True), "supervisor", None)
    same = validate_command(
        "transfer",
        {
            "actor": {"id": "h", "role": "handler", "department": "住建局"},
            "to_department": "住建局",
            "explanation": "e",
        },
    )
    with pytest.raises(access.Rejected, match="already the assigned department"):
        access.check("transfer", state_in(CaseStatus.handling), same)


@pytest.mark.parametrize("status", [s.value for s in CaseStatus])
@pytest.mark.parametrize("update", sorted(UPDATES))
def test_an_auditor_reads_and_never_acts(update, status):
    cmd = validate_command(
        update, {"actor": {"id": "a1", "role": "auditor", "department": "住建局"}, **PAYLOADS[update]}
    )
    with pytest.raises(access.NotAllowed, match="auditor"):
        access.check(update, state_in(CaseStatus(status), escalated=True, leader=True, pending=True), cmd)


def test_who_may_not_is_told_apart_from_what_the_case_refuses():
    handler = {"id": "h", "role": "handler", "department": "住建局"}
    stranger = {"id": "t", "role": "handler", "department": "交通局"}
    handling, resolved = state_in(CaseStatus.handling), state_in(CaseStatus.resolved)
    with pytest.raises(access.NotAllowed):
        access.check("resolve", handling, validate_command("resolve", {"actor": stranger, "resolution": "r"}))
    with pytest.raises(access.Rejected) as refused:
        access.check("resolve", resolved, validate_command("resolve", {"actor": handler, "resolution": "r"}))
    assert not isinstance(refused.value, access.NotAllowed)


@pytest.mark.parametrize("status", [s for s in CaseStatus if s != CaseStatus.received])
def test_one_who_may_not_act_learns_nothing_of_the_status(status):
    """The right to act is checked before the status: another department's handler is refused for
    who it is on every case, never told the case is resolved or closed (issue 37)."""
    stranger = {"id": "t", "role": "handler", "department": "交通局"}
    case = state_in(status)
    case.known_units.append("交通局")  # it held the case once, so it sees it
    with pytest.raises(access.NotAllowed) as refused:
        access.check("resolve", case, validate_command("resolve", {"actor": stranger, "resolution": "r"}))
    assert status.value not in str(refused.value)


def test_expected_version_guards_every_update():
    s = state_in(CaseStatus.handling)
    s.version = 7
    handler = {"id": "h", "role": "handler", "department": "住建局"}
    note = {"actor": handler, "note": "n"}
    access.check("record_contact", s, validate_command("record_contact", note | {"expected_version": 7}))
    access.check("record_contact", s, validate_command("record_contact", note))  # no version: no guard
    with pytest.raises(access.Stale, match="version 7, not 6"):
        access.check("record_contact", s, validate_command("record_contact", note | {"expected_version": 6}))
    # A stale sender who may not act at all hears that first; a stale view of the status is Stale.
    with pytest.raises(access.NotAllowed):
        access.check(
            "escalate", s, validate_command("escalate", {"actor": handler, "reason": "r", "expected_version": 6})
        )
    with pytest.raises(access.Stale):
        access.check(
            "dispatch",
            s,
            validate_command(
                "dispatch", {"actor": {"id": "d", "role": "dispatcher"}, "department": "d", "expected_version": 6}
            ),
        )
    with pytest.raises(InvalidInput, match="expected_version"):
        validate_command("record_contact", note | {"expected_version": -1})


# ---- the closed loop: no resolution before the complainant is contacted ---------------------


def _resolvable(*kinds: str, has_complainant: bool = True, escalated: bool = False) -> CaseState:
    s = state_in(CaseStatus.handling, escalated=escalated, leader=escalated)
    s.has_complainant = has_complainant
    s.timeline = [TimelineEvent(at=NOW, kind=k) for k in ("received", *kinds)]
    return s


@pytest.mark.parametrize("role, department", [("handler", "住建局"), ("leader", None)])
def test_resolve_is_refused_until_the_department_has_contacted_the_complainant(role, department):
    escalated = role == "leader"
    for kinds in (("dispatched",), ("dispatched", "verified"), ("dispatched", "contacted", "transferred")):
        state = _resolvable(*kinds, escalated=escalated)
        cmd = validate_command(
            "resolve", {"actor": {"id": "L1", "role": role, "department": department}, "resolution": "r"}
        )
        with pytest.raises(access.Rejected, match="has not recorded contact with the complainant"):
            access.check("resolve", state, cmd)
    for kinds in (
        ("dispatched", "contacted"),
        ("dispatched", "contacted", "transferred", "contacted"),
        ("dispatched", "contacted", "resolved", "followed_up", "reopened"),
    ):
        state = _resolvable(*kinds, escalated=escalated)
        access.check(
            "resolve",
            state,
            validate_command(
                "resolve", {"actor": {"id": "L1", "role": role, "department": department}, "resolution": "r"}
            ),
        )


def test_a_grid_patrol_find_is_resolved_without_contact():
    state = _resolvable("dispatched", has_complainant=False)
    access.check(
        "resolve",
        state,
        validate_command(
            "resolve", {"actor": {"id": "h", "role": "handler", "department": "住建局"}, "resolution": "r"}
        ),
    )


def test_who_may_not_resolve_is_told_so_before_the_missing_contact():
    state = _resolvable("dispatched")
    with pytest.raises(access.NotAllowed):
        access.check(
            "resolve",
            state,
            validate_command(
                "resolve", {"actor": {"id": "h", "role": "handler", "department": "交通局"}, "resolution": "r"}
            ),
        )


def test_settling_at_resolution_and_close():
    s = state_in(CaseStatus.handling)
    s.milestones = [
        Milestone(name="contact", due_at=NOW + timedelta(minutes=10), done_at=NOW),
        Milestone(name="verify", due_at=NOW + timedelta(minutes=30)),
        Milestone(name="reply", due_at=NOW - timedelta(hours=1), breached=True, breached_at=NOW),
        Milestone(name="opinion", due_at=NOW + timedelta(days=3)),
        Milestone(name="resolve", due_at=NOW + timedelta(days=60)),
        Milestone(name="report_in:水务局", due_at=NOW - timedelta(hours=2), breached=True),
        Milestone(name="report_in:城管局", due_at=NOW + timedelta(hours=20)),
    ]
    at = NOW + timedelta(minutes=40)  # verify's deadline passed a moment ago, its timer not yet fired
    settled = s.settle("resolution", at, ("contact", "verify", "reply", "opinion", "progress_report"))
    assert [(m.name, m.outcome) for m in settled] == [("verify", "late"), ("reply", "late"), ("opinion", "met")]
    assert s.breaches == ["verify"] and all(m.settled == "resolution" and m.done_at == at for m in settled)
    s.milestones[4].done_at = at
    ended = s.settle("closed", at)
    assert [(m.name, m.outcome) for m in ended] == [("report_in:水务局", "missed"), ("report_in:城管局", "not owed")]
    assert not s.open_milestones()
