"""The case's rules on pure state, without a Temporal server: the update table's promises
(statuses, events, milestones, the status each update leads to) and the transitions' effects."""

from datetime import timedelta
from typing import Any

import pytest

from models import CaseState, CaseStatus, Milestone, NoticeKind, RequestSuspension
from models.case import FINISHED
from models.commands import UPDATES, NotAllowed, Rejected, check
from models.editions import Edition
from models.effects import Effects
from models.evidence import Attachment
from models.risk import RiskLevel, RiskMark
from models.tree import PlaceCodes
from starter import InvalidInput, validate_command
from tests.support.states import MEDIATOR, NOW, PAYLOADS, dispute_in, state_in

# An actor who may send each update to the state _ready() builds.
ACTORS: dict[str, dict[str, Any]] = {
    "dispatch": {"id": "d", "role": "dispatcher"},
    "place": {"id": "d", "role": "dispatcher"},
    "decide_extension": {"id": "s", "role": "supervisor"},
    "escalate": {"id": "s", "role": "supervisor"},
    "assign_leader": {"id": "s", "role": "supervisor"},
    "decide_suspension": {"id": "s", "role": "supervisor"},
    "resume": {"id": "s", "role": "supervisor"},
    "summon_departments": {"id": "s", "role": "supervisor"},
    "record_follow_up": {"id": "s", "role": "supervisor"},
    "report_in": {"id": "h2", "role": "handler", "department": "水务局"},
    "add_note": {"id": "complainant:c1", "role": "complainant"},
    "send_link": {"id": "d", "role": "dispatcher"},
    "reassess_risk": {"id": "s", "role": "supervisor"},
    "note_source_task": {"id": "s", "role": "supervisor"},
    "attach": {"id": "d", "role": "dispatcher"},
    "publish_photo": {"id": "s", "role": "supervisor"},
    "record_response": {"id": "duty-gm-day", "role": "leader", "scope": "440311"},
    "start_mediation": {"id": "d", "role": "dispatcher"},
    "assign_mediator": {"id": "s", "role": "supervisor"},
    "extend_mediation": {"id": "s", "role": "supervisor"},
    **{
        u: MEDIATOR
        for u in (
            "schedule_session", "record_session", "record_agreement", "record_confirmation",
            "record_fulfilment", "refer", "withdraw",
        )
    },
}  # fmt: skip
HANDLER = {"id": "h", "role": "handler", "department": "住建局"}


def _command(update: str) -> Any:
    return validate_command(update, {"actor": ACTORS.get(update, HANDLER), **PAYLOADS[update]})


def _ready(update: str, status: CaseStatus) -> CaseState:
    """A case in `status` on which `update` is allowed."""
    if status in (CaseStatus.mediating, CaseStatus.agreed) and update not in (
        "add_note",
        "place",
        "escalate",
        "assign_leader",
        "resume",
        "summon_departments",
        "report_in",
        "reassess_risk",
        "record_response",
        "publish_photo",
    ):
        return dispute_in(status, session=update == "record_session")
    s = state_in(status, escalated=update == "assign_leader", pending=update == "decide_extension")
    s.community = "塘家社区"
    if update == "decide_suspension":
        s.pending_suspension = RequestSuspension.model_validate({"actor": HANDLER, "reason": "r"})
    if update == "resume":
        s.suspended = True
        s.milestones[0].paused_since = NOW
    if update == "report_in":
        s.milestones.append(Milestone(name="report_in:水务局", due_at=NOW + timedelta(days=1)))
    if update == "record_response":  # filed red in 光明区: a response owed
        s.place = PlaceCodes(city="440300", district="440311", street="440311004")
        s.risk = RiskMark(level=RiskLevel.red)
        s.milestones.append(Milestone(name="respond", due_at=NOW + timedelta(minutes=30)))
    if update == "publish_photo":  # a photo on the case to show
        s.attachments.append(Attachment(id="ab" * 32, kind="photo", purpose="problem", media_type="image/jpeg", size=1))
    if update == "place":  # filed at its street, its community not in the tree (待定位)
        s.place = PlaceCodes(city="440300", district="440311", street="440311004")
        s.unplaced = True
    for name in ("dispatch", "contact", "verify", "reply", "opinion", "progress_report", "follow_up", "leader"):
        s.milestones.append(Milestone(name=name, due_at=NOW + timedelta(days=1)))
    return s


CASES = [(name, status) for name, row in UPDATES.items() for status in row.statuses]


@pytest.mark.parametrize(("update", "status"), CASES, ids=[f"{u}-{s.value}" for u, s in CASES])
def test_every_update_does_what_its_row_says(update, status):
    row = UPDATES[update]
    s, cmd = _ready(update, status), _command(update)
    check(update, s, cmd)  # the table's statuses and who: allowed here
    version, events = s.version, len(s.timeline)
    effects = row.apply(s, cmd, NOW + timedelta(hours=1))
    assert isinstance(effects, Effects) and s.version > version
    added = [e.kind for e in s.timeline[events:]]
    assert added[0] == row.event, "the row names the event the update records first"
    assert all(e.actor == cmd.actor for e in s.timeline[events : events + 1])
    if row.leads_to is not None:
        assert s.status == row.leads_to
    elif update == "record_follow_up":
        assert s.status == CaseStatus.closed  # satisfied
    elif update == "record_agreement":
        assert s.status == CaseStatus.agreed  # an obligation to check: not settled yet
    else:
        assert s.status == status, "an update without a status in its row leaves the status"
    if row.completes:
        name = {"report_in": "report_in:水务局", "session": "session:1", "fulfilment": "fulfilment:1"}.get(
            row.completes, row.completes
        )
        assert any(m.name == name and m.done_at is not None for m in s.milestones)


def test_the_table_is_the_contract():
    contract = {
        "dispatch", "record_contact", "record_verification", "reply", "submit_opinion", "report_progress",
        "transfer", "request_extension", "decide_extension", "resolve", "record_follow_up", "escalate",
        "assign_leader", "request_suspension", "decide_suspension", "resume", "summon_departments", "report_in",
    }  # fmt: skip
    disputes = {
        "start_mediation", "assign_mediator", "schedule_session", "record_session", "extend_mediation",
        "record_agreement", "record_confirmation", "record_fulfilment", "refer", "withdraw",
    }  # fmt: skip
    # the contract's, the complainant's note (issue 23), the disputes' (issue 25), placing (issue 35),
    # re-sending the complainant's link (issue 37), strong signals and 源头治理 tasks (issue 40)
    risk = {"reassess_risk", "record_response", "note_source_task"}
    evidence = {"attach", "publish_photo"}  # issue 38
    assert set(UPDATES) == contract | {"add_note"} | disputes | {"place"} | {"send_link"} | risk | evidence
    for row in UPDATES.values():
        assert row.statuses and row.event and row.command.__name__
        assert not set(row.statuses) & set(FINISHED)  # nothing more can be done on a finished case


def test_dispatch_plans_the_assignment_and_tells_the_department():
    s = _ready("dispatch", CaseStatus.received)
    effects = UPDATES["dispatch"].apply(s, _command("dispatch"), NOW)
    assert [(p.anchor, p.department) for p in effects.plans] == [("assignment", "住建局")]
    assert [(t.recipient, t.kind) for t in effects.notices] == [("department:住建局", NoticeKind.assignment)]
    assert s.first_department == "住建局" and s.milestone("dispatch").done_at == NOW


def test_transfer_supersedes_the_old_departments_steps_and_tells_the_complainant():
    s = _ready("transfer", CaseStatus.handling)
    s.first_department = "住建局"
    s.milestones.append(Milestone(name="contact", due_at=NOW + timedelta(hours=1), department="住建局"))
    effects = UPDATES["transfer"].apply(s, _command("transfer"), NOW)
    assert all(m.superseded for m in s.milestones if m.department == "住建局")
    assert s.department == "水务局" and s.first_department == "住建局"  # 首问首办: the first stays accountable
    assert [p.anchor for p in effects.plans] == ["assignment"]
    assert {t.recipient for t in effects.notices} == {"department:水务局", "complainant"}


def test_resolve_settles_the_departments_steps_and_plans_the_follow_up():
    s = _ready("resolve", CaseStatus.handling)
    late = Milestone(name="reply", due_at=NOW - timedelta(hours=1))  # passed, its timer not yet fired
    s.milestones.append(late)
    effects = UPDATES["resolve"].apply(s, _command("resolve"), NOW)
    assert late.breached and late.done_at == NOW and "reply" in s.breaches
    assert [p.anchor for p in effects.plans] == ["resolution"]
    settled = s.timeline[-1].detail["settled"]
    assert any(x["name"] == "reply" and x["how"] == "resolution" for x in settled)


@pytest.mark.parametrize("second", [False, True])
def test_a_dissatisfied_follow_up_reopens_and_the_second_escalates(second):
    s = _ready("record_follow_up", CaseStatus.resolved)
    s.reopen_count = 1 if second else 0
    cmd = validate_command("record_follow_up", {"actor": HANDLER, "satisfaction": "dissatisfied"})
    effects = UPDATES["record_follow_up"].apply(s, cmd, NOW)
    assert s.status == CaseStatus.handling and s.resolved_at is None
    assert [e.kind for e in s.timeline[-3:]][-2 if second else -1] == "reopened"
    assert [p.anchor for p in effects.plans] == (["reopen", "escalation"] if second else ["reopen"])
    assert s.escalated is second


def test_watch_warns_then_breaches_and_escalates_once():
    s = _ready("dispatch", CaseStatus.received)
    s.milestones = [
        Milestone(name="resolve", due_at=NOW + timedelta(hours=1), warn_at=[NOW], on_breach=["escalate"]),
        Milestone(name="reply", due_at=NOW + timedelta(hours=1), on_breach=["escalate"]),
    ]
    warned = s.watch(NOW)
    assert warned.warned == [("resolve", None)] and s.milestones[0].warned and not s.breaches
    assert s.next_wake() == NOW + timedelta(hours=1)
    later = s.watch(NOW + timedelta(hours=1))
    assert s.breaches == ["resolve", "reply"] and [p.anchor for p in later.plans] == ["escalation"]
    assert [e.kind for e in s.timeline[-4:]] == ["breach", "escalated", "breach", "escalation_reason"]
    assert s.next_wake() is None and s.watch(NOW + timedelta(days=1)).plans == []


def test_suspension_stops_the_clock_and_resume_asks_to_move_it():
    s = _ready("decide_suspension", CaseStatus.handling)
    UPDATES["decide_suspension"].apply(s, _command("decide_suspension"), NOW)
    assert s.suspended and s.milestone("resolve").paused_since == NOW
    assert "resolve" not in [m.name for m in s.running_milestones()]
    effects = UPDATES["resume"].apply(s, _command("resume"), NOW + timedelta(days=2))
    assert not s.suspended and [x.milestone for x in effects.shifts] == [0]
    due = s.milestones[0].due_at
    s.moved(effects.shifts[0], due + timedelta(days=2), False, effects.moved)
    assert s.timeline[-1].detail["moved"] == [
        {"milestone": "resolve", "from": due.isoformat(), "to": (due + timedelta(days=2)).isoformat()}
    ]


def test_an_extension_after_the_deadline_passed_is_refused_in_the_record():
    s = _ready("decide_extension", CaseStatus.handling)
    s.milestone("resolve").breached = True
    UPDATES["decide_extension"].apply(s, _command("decide_extension"), NOW)
    assert s.timeline[-1].kind == "extension_refused" and s.pending_extension is None
    assert "passed" in s.timeline[-1].detail["why"]


def test_merge_and_repeat_of_a_closed_case():
    s = _ready("dispatch", CaseStatus.received)
    merged = s.merge("case-1", NOW)
    assert s.status == CaseStatus.merged and [t.template for t in merged.notices] == ["merged"]
    assert all(not m.open for m in s.milestones)
    t = _ready("dispatch", CaseStatus.received)
    effects = t.repeats_closed("case-0", None, NOW)
    assert t.escalated and t.repeat_of == "case-0" and "recently" in (t.escalation_reason or "")
    assert [p.anchor for p in effects.plans] == ["escalation"]


# ---- the complainant's voice (issue 23): the verdict, the note, who may give them ----------------

COMPLAINANT = {"id": "complainant:c1", "role": "complainant"}


def _verdict(s: CaseState, **answer: Any) -> Effects:
    cmd = validate_command("record_follow_up", {"actor": COMPLAINANT, **answer})
    check("record_follow_up", s, cmd)
    return UPDATES["record_follow_up"].apply(s, cmd, NOW + timedelta(days=1))


@pytest.mark.parametrize(
    ("answer", "closes"),
    [
        ({"satisfaction": "satisfied", "resolved": True}, True),
        ({"satisfaction": "basically_satisfied"}, True),
        ({"satisfaction": "unreachable"}, True),
        ({"satisfaction": "satisfied", "resolved": False}, False),  # not solved: worked on again
        ({"satisfaction": "dissatisfied", "resolved": True}, False),
    ],
)
def test_a_verdict_closes_or_reopens(answer, closes):
    s = _ready("record_follow_up", CaseStatus.resolved)
    effects = _verdict(s, **answer)
    event = next(e for e in s.timeline if e.kind == "followed_up")
    assert event.actor is not None and event.actor.role == "complainant"
    assert event.detail.get("resolved") == answer.get("resolved")
    if closes:
        assert s.status == CaseStatus.closed and not effects.plans
    else:
        assert s.status == CaseStatus.handling and s.reopen_count == 1
        assert [p.anchor for p in effects.plans] == ["reopen"]


def test_the_second_reopen_escalates_whoever_gave_the_verdict():
    s = _ready("record_follow_up", CaseStatus.resolved)
    s.reopen_count = 1
    effects = _verdict(s, satisfaction="satisfied", resolved=False)
    assert s.escalated and "escalation" in [p.anchor for p in effects.plans]


def test_the_department_never_records_its_own_verdict():
    s = _ready("record_follow_up", CaseStatus.resolved)
    for actor in (HANDLER, {"id": "L1", "role": "leader"}, {"id": "complainant:c9", "role": "complainant"}):
        with pytest.raises(NotAllowed, match="only the complainant .through their link., the hotline centre"):
            check(
                "record_follow_up",
                s,
                validate_command("record_follow_up", {"actor": actor, "satisfaction": "satisfied"}),
            )
    old = _ready("record_follow_up", CaseStatus.resolved)
    old.edition = Edition.first  # a case started before: its department still records it, as it did
    check(
        "record_follow_up", old, validate_command("record_follow_up", {"actor": HANDLER, "satisfaction": "satisfied"})
    )


@pytest.mark.parametrize("edition", list(Edition))
def test_a_resolution_asks_the_complainant_for_a_verdict_from_the_second_edition_on(edition):
    s = _ready("resolve", CaseStatus.handling)
    s.edition = edition
    effects = UPDATES["resolve"].apply(s, _command("resolve"), NOW)
    told = [(t.recipient, t.template, t.params.get("resolution")) for t in effects.notices]
    asked = ("complainant", "resolved", "r") in told
    assert asked is (edition >= Edition.complainant_voice)


def test_a_note_reaches_the_department_now_responsible_or_the_command_centre():
    s = _ready("add_note", CaseStatus.handling)
    effects = UPDATES["add_note"].apply(s, _command("add_note"), NOW)
    assert s.timeline[-1].kind == "complainant_note" and s.timeline[-1].detail == {"note": "楼道里的水管也漏了"}
    assert [(t.recipient, t.template) for t in effects.notices] == [("department:住建局", "complainant_note")]
    fresh = _ready("add_note", CaseStatus.received)
    fresh.department = None
    effects = UPDATES["add_note"].apply(fresh, _command("add_note"), NOW)
    assert [t.recipient for t in effects.notices] == ["supervisor"]
    patrol = _ready("add_note", CaseStatus.handling)
    patrol.has_complainant = False
    with pytest.raises(NotAllowed):  # nobody's link names a patrol find's case
        check("add_note", patrol, _command("add_note"))
    with pytest.raises(Rejected, match="found on patrol"):
        check(
            "add_note", patrol, validate_command("add_note", {"actor": {"id": "d", "role": "dispatcher"}, "note": "n"})
        )


def test_a_dispute_filed_as_one_goes_straight_to_mediation_owing_no_dispatch():
    """A walk-in at a service point (channel visit) filing a dispute: mediating from the start,
    its acceptance planning the acknowledgement and the mediation term only (sla/policies.py)."""
    from models import Complaint
    from models.editions import Edition
    from sla import WorkingCalendar, plan

    filing = {
        "channel": "visit",
        "complainant": {"name": "陈女士", "phone": "13900000001"},
        "category": "labour",
        "title": "工厂拖欠工资",
        "description": "三个月工资未发",
        "location": {"district": "光明区", "street": "光明街道", "community": "东周社区"},
        "dispute": {"kind": "labour", **{k: v for k, v in PAYLOADS["start_mediation"].items() if k == "parties"}},
    }
    complaint = Complaint.model_validate(filing)
    s = CaseState.receive("c1", complaint, "1030", NOW)
    assert s.status == CaseStatus.mediating and s.dispute is not None and s.dispute.kind == "labour"
    assert [e.kind for e in s.timeline] == ["received", "mediation_started"]
    assert s.timeline[1].detail["filed_as_dispute"] is True and "陈女士" not in str(s.timeline)
    [planned] = s.accept().plans
    assert (planned.anchor, planned.dispute) == ("dispute_filed", "labour")
    names = [m.name for m in plan(policy="1030", track="routine", anchor="dispute_filed", at=NOW,
                                  cal=WorkingCalendar(), dispute="labour")]  # fmt: skip
    assert names == ["acknowledge", "mediation"]  # no dispatch, no resolve: a mediator's, not a department's
    earlier = CaseState.receive("c2", complaint, "1030", NOW, Edition.complainant_voice)
    assert earlier.status == CaseStatus.received and earlier.dispute is None  # an older edition: a complaint
    assert (
        CaseState.receive("c3", complaint.model_copy(update={"dispute": None}), "1030", NOW).accept().plans[0].anchor
        == "acceptance"
    )


def test_the_disputes_clocks_are_the_laws():
    """劳动争议调解仲裁法 第十四条 (15 days), the local 30-day default, 人民调解法 第三十三条 (30 days,
    reminded 7 before, a window), 第二十七条 (a year, run afresh from the mediation application)."""
    from datetime import date

    from sla import WorkingCalendar, plan
    from sla.policies import arbitration_limitation_ends

    def planned(anchor: str, kind: str) -> dict:
        found = plan(policy="13710", track="major", anchor=anchor, at=NOW, cal=WorkingCalendar(), dispute=kind)
        return {m.name: m for m in found}

    assert planned("mediation", "labour")["mediation"].due_at == NOW + timedelta(days=15)
    assert planned("mediation", "family")["mediation"].due_at == NOW + timedelta(days=30)
    assert planned("mediation", "labour")["mediation"].on_breach == ["refer"]
    window = planned("agreement", "tenancy")["confirmation"]
    assert window.window and window.due_at == NOW + timedelta(days=30)
    assert window.warn_at == [NOW + timedelta(days=23)]
    assert arbitration_limitation_ends(date(2026, 11, 23), None) == date(2027, 11, 23)
    assert arbitration_limitation_ends(date(2026, 11, 23), date(2026, 3, 1)) == date(2027, 11, 23)  # interrupted
    assert arbitration_limitation_ends(date(2026, 11, 23), date(2025, 3, 1)) == date(2026, 3, 1)  # ran out before
    assert arbitration_limitation_ends(date(2028, 2, 29), None) == date(2029, 2, 28)


def test_extending_the_mediation_term_moves_its_deadline_and_its_warnings_once():
    s = dispute_in(CaseStatus.mediating)
    term = milestone_named(s, "mediation")
    term.warn_at = [term.due_at - timedelta(days=7)]
    due = term.due_at
    cmd = validate_command(
        "extend_mediation",
        {"actor": {"id": "s", "role": "supervisor"}, "days": 10, "parties_consent": True, "note": "双方同意"},
    )
    check("extend_mediation", s, cmd)
    UPDATES["extend_mediation"].apply(s, cmd, NOW)
    assert term.due_at == due + timedelta(days=10) and term.warn_at == [due + timedelta(days=3)]
    with pytest.raises(Rejected, match="extended once already"):
        check("extend_mediation", s, cmd)
    with pytest.raises(InvalidInput, match="days"):  # at most MEDIATION_EXTENSION_MAX_DAYS (30)
        validate_command("extend_mediation", {"actor": {"id": "s", "role": "supervisor"}, "days": 31,
                                              "parties_consent": True, "note": "n"})  # fmt: skip


def milestone_named(s: CaseState, name: str) -> Milestone:
    return next(m for m in s.milestones if m.name == name)


def test_an_agreement_not_honoured_owes_nothing_more_under_it_and_mediation_starts_again():
    s = dispute_in(CaseStatus.agreed)
    agreement = s.dispute.agreements[-1] if s.dispute else None
    assert agreement is not None
    agreement.obligations.append(agreement.obligations[0].model_copy(update={"due_at": NOW - timedelta(hours=1)}))
    agreement.honoured.append(None)
    s.milestones.append(Milestone(name="fulfilment:2", due_at=NOW - timedelta(hours=1), breached=True))
    cmd = validate_command(
        "record_fulfilment", {"actor": MEDIATOR, "obligation": 1, "honoured": False, "note": "未恢复供水"}
    )
    check("record_fulfilment", s, cmd)
    effects = UPDATES["record_fulfilment"].apply(s, cmd, NOW + timedelta(hours=1))
    assert s.status == CaseStatus.mediating and s.timeline[-1].kind == "mediation_reopened"
    assert [(m.name, m.outcome) for m in s.milestones if m.name.startswith(("fulfilment", "confirmation"))] == [
        ("fulfilment:1", "met"),  # the check itself, done
        ("confirmation", "not owed"),
        ("fulfilment:2", "missed"),  # already late when the agreement fell
    ]
    assert [p.anchor for p in effects.plans] == ["mediation"]  # a new term


@pytest.mark.parametrize("edition", [Edition.chain, Edition.extension_warns_again])
def test_an_approved_extension_moves_the_warnings_and_warns_again_from_edition_5(edition: Edition):
    s = _ready("decide_extension", CaseStatus.handling)
    s.edition = edition
    resolve = s.milestone("resolve")
    assert resolve is not None
    old_due = resolve.due_at
    resolve.warn_at = [old_due - timedelta(days=10), old_due - timedelta(days=1)]
    s.watch(old_due - timedelta(days=5))  # the first warning fires
    assert resolve.warnings_sent == 1
    at = old_due - timedelta(days=4)
    UPDATES["decide_extension"].apply(s, _command("decide_extension"), at)
    until = s.timeline[-1].detail["due_at"]
    assert s.timeline[-1].kind == "extension_approved" and resolve.due_at.isoformat() == until
    delta = resolve.due_at - old_due
    if edition >= Edition.extension_warns_again:
        # Ten days and one day before the new deadline; neither has passed, so both fire again.
        assert resolve.warn_at == [old_due - timedelta(days=10) + delta, old_due - timedelta(days=1) + delta]
        assert resolve.warnings_sent == 0
        assert s.next_wake() == resolve.warn_at[0]
    else:  # a case started before edition 5 keeps the old rule: its warnings stay where they were
        assert resolve.warn_at == [old_due - timedelta(days=10), old_due - timedelta(days=1)]
        assert resolve.warnings_sent == 1
        assert s.next_wake() == old_due - timedelta(days=1)


def test_a_case_is_accepted_once_merged_or_given_its_deadlines():
    """What a filing's answer waits for (starter.accepted): the repeat look-up is done."""
    fresh = state_in(CaseStatus.received)
    fresh.milestones = []
    assert not fresh.accepted()
    fresh.merge("c0", NOW)
    assert fresh.accepted() and fresh.merged_into == "c0"
    assert state_in(CaseStatus.received).accepted()  # planned: it has its deadlines


def test_send_link_records_who_and_tells_the_complainant():
    s = state_in(CaseStatus.handling)
    cmd = validate_command("send_link", {"actor": {"id": "d", "role": "dispatcher"}})
    check("send_link", s, cmd)
    effects = s.send_link(cmd, NOW)
    assert s.timeline[-1].kind == "link_sent" and s.timeline[-1].actor.id == "d"
    assert [(n.recipient, n.template) for n in effects.notices] == [("complainant", "link")]
    s.has_complainant = False
    with pytest.raises(Rejected, match="no complainant"):
        check("send_link", s, cmd)
    old = state_in(CaseStatus.handling, edition=Edition.city_tree)
    with pytest.raises(Rejected, match="python -m starter link"):
        check("send_link", old, cmd)
