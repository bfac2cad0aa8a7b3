"""Every rule of the contract on the real time-skipping test server."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from models import CaseInput, CaseState
from sla import BUSINESS_TZ, WorkingCalendar, deadline
from sla.durations import working_days
from starter import InvalidInput, Rejected, UnknownCase, act, file_complaint, state
from starter.cases import execution_status
from tests.histories.record import closed_loop
from tests.support.cases import actor, complaint, eventually, kinds, milestone, new_id

DISPATCHER = actor("dispatcher", "区诉求中心")
HANDLER = actor("handler", "光明区住房和建设局")
OTHER = actor("handler", "光明区水务局")
SUPERVISOR = actor("supervisor", "区信访局")
LEADER = {"id": "L1", "name": "张书记"}


async def start(client: Client, *, policy: str = "1030", **fields) -> str:
    case_id = new_id()
    filed = await file_complaint(
        client, case_id, {"complaint": complaint(**fields), "policy": policy}, task_queue=client.task_queue
    )
    assert filed.created
    return case_id


async def start_raw(client: Client, case_input: dict, case_id: str | None = None) -> str:
    """Straight to Temporal, past the starter's checks (as a careless integrator would)."""
    case_id = case_id or new_id()
    await client.start_workflow("ComplaintCase", case_input, id=case_id, task_queue=client.task_queue)
    return case_id


async def history_length(client: Client, case_id: str) -> int:
    return len((await client.get_workflow_handle(case_id).fetch_history()).events)


async def through_resolve(client: Client, case_id: str) -> CaseState:
    await act(client, case_id, "dispatch", {"actor": DISPATCHER, "department": "光明区住房和建设局"})
    await act(client, case_id, "record_contact", {"actor": HANDLER, "note": "已电话联系"})
    return await act(client, case_id, "resolve", {"actor": HANDLER, "resolution": "修好了"})


async def test_full_closed_loop(client, sender):
    case_id = await start(client)
    steps = [
        ("dispatch", {"actor": DISPATCHER, "department": "光明区住房和建设局"}, "dispatched"),
        ("record_contact", {"actor": HANDLER, "note": "电话联系"}, "handling"),
        ("record_verification", {"actor": HANDLER, "findings": "属实"}, "handling"),
        ("reply", {"actor": HANDLER, "message": "答复"}, "handling"),
        ("submit_opinion", {"actor": HANDLER, "findings": "f", "handling": "h", "next_steps": "n"}, "handling"),
        ("resolve", {"actor": HANDLER, "resolution": "已恢复供水"}, "resolved"),
        ("record_follow_up", {"actor": SUPERVISOR, "satisfaction": "basically_satisfied"}, "closed"),
    ]
    for update, payload, status in steps:
        assert (await act(client, case_id, update, payload)).status.value == status
    result = await client.get_workflow_handle(case_id, result_type=CaseState).result()
    assert result.status.value == "closed" and result.satisfaction.value == "basically_satisfied"
    assert result.breaches == []
    assert all(m.done_at and not m.breached for m in result.milestones)
    assert [m.name for m in result.milestones] == [
        "acknowledge",
        "dispatch",
        "resolve",
        "contact",
        "verify",
        "reply",
        "opinion",
        "follow_up",
    ]
    assert kinds(result)[-1] == "closed" and "acknowledged" in kinds(result)
    await sender.wait_for(case_id, "complainant", "acknowledgement")
    ack = next(n for n in sender.notices if n.case_id == case_id and n.kind.value == "acknowledgement")
    assert ack.address.startswith("139") and len(ack.address) == 11 and ack.id
    await sender.wait_for(case_id, "department:光明区住房和建设局", "assignment")


async def test_1030_deadlines_breach_on_time_and_accept_late_completion(env, client, sender):
    case_id = await start(client)
    s = await act(client, case_id, "dispatch", {"actor": DISPATCHER, "department": "光明区住房和建设局"})
    dispatched_at = next(e.at for e in s.timeline if e.kind == "dispatched")
    assert milestone(s, "contact").due_at == dispatched_at + timedelta(minutes=10)
    assert milestone(s, "verify").due_at == dispatched_at + timedelta(minutes=30)
    assert milestone(s, "reply").due_at == dispatched_at + timedelta(hours=72)
    expected_opinion = deadline(dispatched_at, working_days(3), WorkingCalendar()).due_at
    assert milestone(s, "opinion").due_at == expected_opinion
    assert milestone(s, "opinion").due_at.astimezone(BUSINESS_TZ).time().hour == 0  # 24:00 of a working day
    assert milestone(s, "contact").department == "光明区住房和建设局"

    await env.sleep(timedelta(minutes=9))
    assert (await state(client, case_id)).breaches == []
    await env.sleep(timedelta(minutes=2))
    s = await state(client, case_id)
    assert s.breaches == ["contact"]
    contact = milestone(s, "contact")
    assert contact.breached and contact.breached_at >= contact.due_at
    assert contact.breached_at - contact.due_at < timedelta(minutes=1)  # the moment it passes
    await sender.wait_for(case_id, "supervisor", "breach")
    await sender.wait_for(case_id, "department:光明区住房和建设局", "breach")

    s = await act(client, case_id, "record_contact", {"actor": HANDLER, "note": "迟到的电话"})
    contact = milestone(s, "contact")
    assert contact.done_at is not None and contact.breached  # late, and still recorded as a breach
    event = next(e for e in s.timeline if e.kind == "contacted")
    assert event.detail["milestones"][0] == {"name": "contact", "due_at": contact.due_at.isoformat(), "met": False}

    await env.sleep(timedelta(minutes=25))
    assert (await state(client, case_id)).breaches == ["contact", "verify"]


async def test_dispatch_deadline_and_acknowledgement(env, client, sender):
    case_id = await start(client, policy="13710")
    s = await eventually(client, case_id, lambda s: milestone(s, "acknowledge").done_at)
    ack = milestone(s, "acknowledge")
    assert ack.done_at is not None and ack.done_at <= ack.due_at
    assert milestone(s, "dispatch").due_at == s.received_at + timedelta(days=1)
    assert milestone(s, "progress_report").due_at == s.received_at + timedelta(days=3)
    assert milestone(s, "resolve").due_at == s.received_at + timedelta(days=7)
    await env.sleep(timedelta(days=1, minutes=1))
    s = await state(client, case_id)
    assert s.breaches == ["dispatch"]
    await sender.wait_for(case_id, "supervisor", "breach")


async def test_escalation_after_fifty_working_days_and_only_the_leader_resolves(env, client, sender):
    case_id = await start(client)
    s = await act(client, case_id, "dispatch", {"actor": DISPATCHER, "department": "光明区住房和建设局"})
    for update, payload in [
        ("record_contact", {"note": "n"}),
        ("record_verification", {"findings": "f"}),
        ("reply", {"message": "m"}),
        ("submit_opinion", {"findings": "f", "handling": "h", "next_steps": "n"}),
    ]:
        await act(client, case_id, update, {"actor": HANDLER, **payload})
    resolve_due = milestone(s, "resolve").due_at
    assert resolve_due == deadline(s.received_at, working_days(50), WorkingCalendar()).due_at
    assert resolve_due - s.received_at > timedelta(days=69)  # 50 working days is at least ten weeks

    await env.sleep(resolve_due - s.received_at - timedelta(hours=1))
    assert not (await state(client, case_id)).escalated
    await env.sleep(timedelta(hours=2))
    s = await state(client, case_id)
    assert s.escalated and "resolve deadline" in s.escalation_reason
    assert s.breaches == ["resolve"]
    leader = milestone(s, "leader")
    escalated_at = next(e.at for e in s.timeline if e.kind == "escalated")
    assert leader.due_at == deadline(escalated_at, working_days(1), WorkingCalendar()).due_at
    await sender.wait_for(case_id, "supervisor", "escalation")

    with pytest.raises(Rejected, match="no leader is assigned yet"):
        await act(client, case_id, "resolve", {"actor": HANDLER, "resolution": "r"})
    s = await act(client, case_id, "assign_leader", {"actor": SUPERVISOR, "leader": LEADER})
    assert s.leader.id == "L1" and milestone(s, "leader").done_at is not None
    await sender.wait_for(case_id, "leader:L1", "escalation")
    with pytest.raises(Rejected, match="only its leader L1 may resolve"):
        await act(client, case_id, "resolve", {"actor": HANDLER, "resolution": "r"})
    with pytest.raises(Rejected, match="only its leader"):
        await act(client, case_id, "resolve", {"actor": actor("leader", id="L2"), "resolution": "r"})
    s = await act(client, case_id, "resolve", {"actor": actor("leader", id="L1"), "resolution": "包案解决"})
    assert s.status.value == "resolved"
    assert milestone(s, "resolve").done_at is not None and milestone(s, "resolve").breached


async def test_leader_milestone_breaches_when_nobody_is_assigned(env, client, sender):
    case_id = await start(client)
    s = await act(client, case_id, "escalate", {"actor": SUPERVISOR, "reason": "群众反映强烈"})
    assert s.escalated and s.escalation_reason == "群众反映强烈"
    await env.sleep(milestone(s, "leader").due_at - await env.get_current_time() + timedelta(minutes=1))
    assert "leader" in (await state(client, case_id)).breaches


async def test_working_days_across_2026_holidays_in_the_workflow(client):
    # Received before the National Day: 50 working days, counted by hand, end on Dec 15 (24:00).
    case_id = await start_raw(client, {"complaint": complaint(received_at="2026-09-30T10:00:00+08:00")})
    s = await eventually(client, case_id, lambda s: milestone(s, "resolve"))
    assert milestone(s, "resolve").due_at == datetime(2026, 12, 16, tzinfo=BUSINESS_TZ)
    # Received on Spring Festival eve-eve: the deadline (May 7, 00:00) has long passed: breached at once.
    case_id = await start_raw(client, {"complaint": complaint(received_at="2026-02-13T10:00:00+08:00")})
    s = await eventually(client, case_id, lambda s: s.escalated)
    assert milestone(s, "resolve").due_at == datetime(2026, 5, 7, tzinfo=BUSINESS_TZ)
    assert {"acknowledge", "dispatch", "resolve"} <= set(s.breaches) and s.escalated


async def test_dissatisfied_reopens_and_second_dissatisfied_escalates(client):
    case_id = await start(client)
    s = await through_resolve(client, case_id)
    follow_up = milestone(s, "follow_up")
    assert follow_up.due_at == deadline(s.resolved_at, working_days(5), WorkingCalendar()).due_at
    s = await act(client, case_id, "record_follow_up", {"actor": SUPERVISOR, "satisfaction": "dissatisfied"})
    assert s.status.value == "handling" and s.reopen_count == 1 and not s.escalated
    reopened = [m for m in s.milestones if m.name == "resolve"]
    assert len(reopened) == 2 and reopened[-1].anchor == "reopen" and reopened[-1].open
    assert "reopened" in kinds(s)
    await act(client, case_id, "resolve", {"actor": HANDLER, "resolution": "再次处理"})
    s = await act(client, case_id, "record_follow_up", {"actor": DISPATCHER, "satisfaction": "dissatisfied"})
    assert s.reopen_count == 2 and s.escalated and "dissatisfied" in s.escalation_reason
    assert milestone(s, "leader").open
    await act(client, case_id, "assign_leader", {"actor": SUPERVISOR, "leader": LEADER})
    await act(client, case_id, "resolve", {"actor": actor("leader", id="L1"), "resolution": "领导包案"})
    s = await act(client, case_id, "record_follow_up", {"actor": SUPERVISOR, "satisfaction": "unreachable"})
    assert s.status.value == "closed" and s.satisfaction.value == "unreachable"


async def test_transfer_keeps_first_department_accountable(client, sender):
    case_id = await start(client)
    await act(client, case_id, "dispatch", {"actor": DISPATCHER, "department": "光明区住房和建设局"})
    await act(client, case_id, "record_contact", {"actor": HANDLER, "note": "n"})
    with pytest.raises(Rejected, match="explanation|already"):
        await act(
            client, case_id, "transfer", {"actor": HANDLER, "to_department": "光明区住房和建设局", "explanation": "e"}
        )
    with pytest.raises(InvalidInput, match="explanation"):
        await act(client, case_id, "transfer", {"actor": HANDLER, "to_department": "光明区水务局"})
    s = await act(
        client,
        case_id,
        "transfer",
        {"actor": HANDLER, "to_department": "光明区水务局", "explanation": "供水属水务局职责"},
    )
    assert (
        s.department == "光明区水务局" and s.first_department == "光明区住房和建设局" and s.status.value == "dispatched"
    )
    old = [m for m in s.milestones if m.department == "光明区住房和建设局"]
    assert [m.name for m in old if m.superseded] == ["verify", "reply", "opinion"]
    assert next(m for m in old if m.name == "contact").done_at is not None
    new = [m.name for m in s.milestones if m.department == "光明区水务局"]
    assert new == ["contact", "verify", "reply", "opinion"]
    with pytest.raises(Rejected, match="only a handler of 光明区水务局"):
        await act(client, case_id, "reply", {"actor": HANDLER, "message": "m"})
    await act(client, case_id, "reply", {"actor": OTHER, "message": "m"})
    await sender.wait_for(case_id, "complainant", "transfer")  # notices go out in the background
    complainant = [n for n in sender.notices if n.case_id == case_id and n.kind.value == "transfer"]
    assert complainant and "供水属水务局职责" in complainant[0].text
    await sender.wait_for(case_id, "department:光明区水务局", "assignment")


async def test_extension_request_and_decision(client):
    case_id = await start(client)
    s = await act(client, case_id, "dispatch", {"actor": DISPATCHER, "department": "光明区住房和建设局"})
    old_due = milestone(s, "resolve").due_at
    with pytest.raises(Rejected, match="must be later than"):
        await act(
            client,
            case_id,
            "request_extension",
            {"actor": HANDLER, "reason": "r", "until": (old_due - timedelta(days=1)).isoformat()},
        )
    with pytest.raises(Rejected, match="no extension request is pending"):
        await act(client, case_id, "decide_extension", {"actor": SUPERVISOR, "approve": True})
    until = old_due + timedelta(days=30)
    s = await act(
        client, case_id, "request_extension", {"actor": HANDLER, "reason": "需走法定程序", "until": until.isoformat()}
    )
    assert milestone(s, "resolve").due_at == old_due and s.pending_extension is not None
    with pytest.raises(Rejected, match="already pending"):
        await act(client, case_id, "request_extension", {"actor": HANDLER, "reason": "r", "until": until.isoformat()})
    with pytest.raises(Rejected, match="only a supervisor"):
        await act(client, case_id, "decide_extension", {"actor": HANDLER, "approve": True})
    s = await act(client, case_id, "decide_extension", {"actor": SUPERVISOR, "approve": False, "note": "不予延期"})
    assert milestone(s, "resolve").due_at == old_due and s.pending_extension is None
    await act(client, case_id, "request_extension", {"actor": HANDLER, "reason": "r", "until": until.isoformat()})
    s = await act(client, case_id, "decide_extension", {"actor": SUPERVISOR, "approve": True})
    assert milestone(s, "resolve").due_at == until
    assert [e.kind for e in s.timeline] == ["extension_approved"]  # the answer: only what this update added
    everything = await state(client, case_id)  # the query: the whole story
    assert [e.kind for e in everything.timeline if e.kind.startswith("extension")] == [
        "extension_requested",
        "extension_refused",
        "extension_requested",
        "extension_approved",
    ]


async def test_13710_major_case_owes_monthly_reports_after_its_month(env, client, sender):
    case_id = await start(client, policy="13710", track="major")
    s = await act(client, case_id, "dispatch", {"actor": DISPATCHER, "department": "光明区住房和建设局"})
    s = await act(client, case_id, "report_progress", {"actor": HANDLER, "note": "三日内初步处理情况"})
    first = milestone(s, "progress_report", 0)
    assert first.done_at is not None and not first.breached
    resolve_due = milestone(s, "resolve").due_at
    await env.sleep(resolve_due - await env.get_current_time() + timedelta(minutes=1))
    s = await state(client, case_id)
    assert s.escalated and "resolve" in s.breaches
    monthly = [m for m in s.milestones if m.name == "progress_report" and m.anchor == "resolve_overdue"]
    assert len(monthly) == 1 and monthly[0].due_at.day == resolve_due.day  # same day, next month
    assert monthly[0].due_at > resolve_due + timedelta(days=27)
    await act(client, case_id, "report_progress", {"actor": HANDLER, "note": "第一个月进展"})
    s = await state(client, case_id)
    cycle = [m for m in s.milestones if m.anchor == "progress_cycle"]
    assert len(cycle) == 1 and cycle[0].due_at > monthly[0].due_at + timedelta(days=27)
    # The second month passes with no report: a breach, and the third month's report is owed.
    await env.sleep(cycle[0].due_at - await env.get_current_time() + timedelta(minutes=1))
    s = await state(client, case_id)
    assert s.breaches.count("progress_report") == 1
    assert len([m for m in s.milestones if m.anchor == "progress_cycle"]) == 2
    await act(client, case_id, "assign_leader", {"actor": SUPERVISOR, "leader": LEADER})
    await act(client, case_id, "record_contact", {"actor": actor("leader", id="L1"), "note": "领导约见诉求人"})
    s = await act(client, case_id, "resolve", {"actor": actor("leader", id="L1"), "resolution": "解决"})
    assert not s.open_milestones("progress_report")  # nothing more is owed once resolved


async def test_rejected_updates_leave_no_trace(client):
    case_id = await start(client)
    await eventually(client, case_id, lambda s: milestone(s, "acknowledge").done_at)
    before = await history_length(client, case_id)
    attempts = [
        ("resolve", {"actor": HANDLER, "resolution": "r"}, "only a handler of the department it is dispatched to"),
        ("dispatch", {"actor": HANDLER, "department": "光明区住房和建设局"}, "only a dispatcher or supervisor"),
        ("record_follow_up", {"actor": SUPERVISOR, "satisfaction": "satisfied"}, "needs it resolved"),
        ("assign_leader", {"actor": SUPERVISOR, "leader": LEADER}, "not escalated"),
    ]
    for update, payload, why in attempts:
        with pytest.raises(Rejected, match=why):
            await act(client, case_id, update, payload)
    # A payload that fails validation, sent past the starter, is rejected by name too.
    handle = client.get_workflow_handle(case_id)
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await handle.execute_update("dispatch", {"actor": DISPATCHER, "department": ""})
    assert isinstance(err.value.cause, ApplicationError) and "department" in err.value.cause.message
    assert err.value.cause.type == "InvalidInput"
    # The time-skipping server has no speculative workflow tasks: a rejection there still costs an
    # empty workflow task (scheduled/started/completed) but never an update event or a command.
    # The real dev server records nothing at all: tests/test_dev_server.py checks that exactly.
    after = (await client.get_workflow_handle(case_id).fetch_history()).events
    added = {EventType.Name(e.event_type) for e in after[before:]}
    assert added <= {
        "EVENT_TYPE_WORKFLOW_TASK_SCHEDULED",
        "EVENT_TYPE_WORKFLOW_TASK_STARTED",
        "EVENT_TYPE_WORKFLOW_TASK_COMPLETED",
    }, added
    s = await state(client, case_id)
    assert s.status.value == "received" and kinds(s) == ["received", "acknowledged"]


async def test_nothing_after_closed_and_ids_are_idempotent(client):
    case_id = await start(client)
    await through_resolve(client, case_id)
    await act(client, case_id, "record_follow_up", {"actor": SUPERVISOR, "satisfaction": "satisfied"})
    await client.get_workflow_handle(case_id).result()
    with pytest.raises(Rejected, match=f"escalate: case {case_id} has ended \\(completed\\)"):
        await act(client, case_id, "escalate", {"actor": SUPERVISOR, "reason": "r"})
    assert (await state(client, case_id)).status.value == "closed"  # still readable
    with pytest.raises(UnknownCase, match="no case never-filed"):
        await act(client, "never-filed", "escalate", {"actor": SUPERVISOR, "reason": "r"})
    with pytest.raises(UnknownCase):
        await state(client, "never-filed")
    again = await file_complaint(client, case_id, {"complaint": complaint()}, task_queue=client.task_queue)
    assert not again.created
    assert (await execution_status(client, case_id)).name == "COMPLETED"


async def test_invalid_input_fails_the_workflow_at_once(client):
    bad = complaint(complainant={"name": "王", "phone": "12345"}, category="noise")
    case_id = await start_raw(client, {"complaint": bad})
    with pytest.raises(WorkflowFailureError) as err:
        await client.get_workflow_handle(case_id).result()
    cause = err.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "InvalidInput" and cause.non_retryable
    assert "complaint.complainant.phone" in cause.message and "complaint.category" in cause.message
    # received_at in the future is refused inside the workflow too
    case_id = await start_raw(client, {"complaint": complaint(received_at="2099-01-01T00:00:00+08:00")})
    with pytest.raises(WorkflowFailureError) as err:
        await client.get_workflow_handle(case_id).result()
    assert "complaint.received_at" in err.value.cause.message
    # and the starter refuses both before any workflow exists
    with pytest.raises(InvalidInput, match="complaint.complainant.phone"):
        await file_complaint(client, "never-started", {"complaint": bad}, task_queue=client.task_queue)


async def test_notice_failures_are_retried_until_sent(env, client, sender):
    failures = {"left": 3}
    original = sender.send

    async def flaky(notice):
        if failures["left"]:
            failures["left"] -= 1
            raise ConnectionError("SMS gateway down")
        await original(notice)

    sender.send = flaky
    try:
        case_id = await start(client)
        await _acknowledged_after_retries(env, client, case_id, failures)
    finally:
        sender.send = original
    await sender.wait_for(case_id, "complainant", "acknowledgement")


async def test_a_notice_never_sent_is_recorded_after_a_day_and_the_case_goes_on(env, client, sender):
    original = sender.send
    case_id = new_id()

    async def down_for_this_case(notice):
        if notice.case_id == case_id:
            raise ConnectionError("SMS gateway down")
        await original(notice)

    sender.send = down_for_this_case
    try:
        await file_complaint(client, case_id, {"complaint": complaint()}, task_queue=client.task_queue)
        s = await eventually(client, case_id, lambda s: milestone(s, "acknowledge"))
        for _ in range(60):
            if "notice_failed" in kinds(s):
                break
            await env.sleep(timedelta(hours=1))
            s = await state(client, case_id)
    finally:
        sender.send = original
    failed = next(e for e in s.timeline if e.kind == "notice_failed")
    assert failed.detail["recipient"] == "complainant" and failed.detail["notice_kind"] == "acknowledgement"
    assert "SMS gateway down" in failed.detail["error"]
    s = await act(client, case_id, "dispatch", {"actor": DISPATCHER, "department": "光明区住房和建设局"})
    assert s.status.value == "dispatched"


async def _acknowledged_after_retries(env, client, case_id, failures):
    s = await eventually(client, case_id, lambda s: milestone(s, "acknowledge"))
    for _ in range(100):
        if milestone(s, "acknowledge").done_at:
            break
        await env.sleep(timedelta(seconds=2))
        s = await state(client, case_id)
    assert failures["left"] == 0 and milestone(s, "acknowledge").done_at is not None


async def test_long_case_continues_as_new_carrying_its_state(client, read_model):
    case_id = new_id()
    case_input = CaseInput.model_validate({"complaint": complaint(), "max_history_events": 200})
    await file_complaint(client, case_id, case_input, task_queue=client.task_queue)
    await act(client, case_id, "dispatch", {"actor": DISPATCHER, "department": "光明区住房和建设局"})
    for i in range(45):
        await act(client, case_id, "report_progress", {"actor": HANDLER, "note": f"进展 {i}"})
    await act(client, case_id, "record_contact", {"actor": HANDLER, "note": "电话联系"})
    # It moves to a new run at the first quiet moment (notices sent, read model caught up).
    s = await eventually(client, case_id, lambda s: s.runs >= 2)
    assert [e.kind for e in s.timeline].count("progress_reported") == 45
    assert s.milestone("contact") is not None and s.department == "光明区住房和建设局"
    await act(client, case_id, "resolve", {"actor": HANDLER, "resolution": "r"})
    s = await act(client, case_id, "record_follow_up", {"actor": DISPATCHER, "satisfaction": "satisfied"})
    result = await client.get_workflow_handle(case_id, result_type=CaseState).result()
    assert result.status.value == "closed" and result.runs == s.runs
    # Its hash chain runs on across the runs: the read model holds each event's digest, the
    # second run's written from where the first run's chain stood.
    from models import chain

    digests = chain.digests(chain.genesis(case_id), (e.encoded() for e in result.timeline))
    assert result.chained == len(result.timeline) and result.chain_head == digests[-1]
    assert [e.digest for e in read_model.events(case_id)] == digests
    assert read_model.case(case_id).chain_head == digests[-1]


async def test_closed_loop_history_is_lean(client):
    """Planning, the read-model writes, the look-up and the notices' first attempts are local
    activities: a closed loop schedules no activity through the server (no extra workflow task
    per change), and one timer serves until an earlier deadline appears."""
    case_id = new_id()
    await closed_loop(client, case_id, None)
    await client.get_workflow_handle(case_id).result()
    events = (await client.get_workflow_handle(case_id).fetch_history()).events
    names = [EventType.Name(e.event_type).removeprefix("EVENT_TYPE_") for e in events]
    assert "ACTIVITY_TASK_SCHEDULED" not in names
    updates = names.count("WORKFLOW_EXECUTION_UPDATE_ACCEPTED")
    # Per update: its workflow task, accepted, completed, and at most a read-model write, a
    # planning marker, a notice marker and a search-attribute upsert.
    assert names.count("WORKFLOW_TASK_COMPLETED") <= updates + 2
    assert names.count("TIMER_STARTED") <= 2 and names.count("TIMER_CANCELED") <= 1


async def test_an_updates_answer_carries_only_the_events_it_added(client):
    case_id = await start(client)
    dispatched = await act(client, case_id, "dispatch", {"actor": DISPATCHER, "department": "光明区住房和建设局"})
    assert [e.kind for e in dispatched.timeline] == ["dispatched"]
    assert dispatched.department == "光明区住房和建设局" and milestone(dispatched, "contact").open  # the rest is whole
    contacted = await act(client, case_id, "record_contact", {"actor": HANDLER, "note": "n"})
    assert [e.kind for e in contacted.timeline] == ["contacted"] and contacted.version > dispatched.version
    whole = await state(client, case_id)
    assert [e.kind for e in whole.timeline][:1] == ["received"] and {"dispatched", "contacted"} <= set(kinds(whole))
    # What the history records for each update is that small answer too.
    history = await client.get_workflow_handle(case_id).fetch_history()
    recorded = [
        e.workflow_execution_update_completed_event_attributes.outcome.success.payloads
        for e in history.events
        if e.HasField("workflow_execution_update_completed_event_attributes")
    ]
    answers = [(await client.data_converter.decode(p, [CaseState]))[0] for p in recorded]
    assert [[e.kind for e in a.timeline] for a in answers] == [["dispatched"], ["contacted"]]
