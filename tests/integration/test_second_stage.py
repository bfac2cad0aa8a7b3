"""Warnings, suspension, category targets and the community whistle (the contract's second stage)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from sla import BUSINESS_TZ, WorkingCalendar, plan, shifted
from sla.durations import Unit
from starter import Rejected, act, file_complaint, state
from tests.support.cases import actor, complaint, eventually, kinds, milestone, new_id

D, H, S = actor("dispatcher"), actor("handler", "光明区住房和建设局"), actor("supervisor")
WATER = actor("handler", "光明区水务局")
SECRETARY = actor("community", "塘家社区", id="secretary-1")


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=BUSINESS_TZ)


async def dispatched(client, **fields) -> str:
    case_id = new_id()
    await file_complaint(client, case_id, {"complaint": complaint(**fields)}, task_queue=client.task_queue)
    await act(client, case_id, "dispatch", {"actor": D, "department": "光明区住房和建设局"})
    return case_id


# ---- pure ------------------------------------------------------------------------------------


def test_suspension_across_the_national_day_moves_a_working_day_deadline_by_working_days():
    # Stopped Sep 30, resumed Oct 9: the stop covered two working days (Oct 8 and 9; Oct 1-7 are off).
    moved = shifted(at(2026, 11, 11), Unit.working_days, at(2026, 9, 30, 10), at(2026, 10, 9, 10), WorkingCalendar())
    assert moved.due_at == at(2026, 11, 13)  # due at the end of Tue Nov 10, now the end of Thu Nov 12
    # A stop within one day costs no working day; plain durations move by the exact time.
    assert shifted(
        at(2026, 11, 11), Unit.working_days, at(2026, 10, 9, 9), at(2026, 10, 9, 17), WorkingCalendar()
    ).due_at == at(2026, 11, 11)
    assert shifted(
        at(2026, 11, 11, 9), Unit.hours, at(2026, 10, 9, 9), at(2026, 10, 9, 17, 30), WorkingCalendar()
    ).due_at == at(2026, 11, 11, 17, 30)


def test_category_targets_and_warning_times():
    medical = plan(
        policy="1030",
        track="routine",
        category="medical",
        anchor="acceptance",
        at=at(2026, 6, 1, 11),
        cal=WorkingCalendar(),
    )
    resolve = next(m for m in medical if m.name == "resolve")
    assert resolve.duration == "15 working days" and resolve.due_at == at(2026, 6, 24)  # 24:00 Jun 23; Jun 19 off
    fast = plan(
        policy="1030",
        track="fast",
        category="medical",
        anchor="acceptance",
        at=at(2026, 6, 1, 11),
        cal=WorkingCalendar(),
    )
    assert next(m for m in fast if m.name == "resolve").duration == "24 hours"  # the fast track wins
    contact = plan(
        policy="1030",
        track="routine",
        anchor="assignment",
        at=at(2026, 6, 1, 11),
        cal=WorkingCalendar(),
        department="光明区住房和建设局",
    )[0]
    assert contact.warn_at == [at(2026, 6, 1, 11, 7, 30)]  # 75 % of 10 minutes
    half_too = plan(
        policy="1030",
        track="routine",
        anchor="assignment",
        at=at(2026, 6, 1, 11),
        cal=WorkingCalendar(),
        department="光明区住房和建设局",
        warn_at=(0.5, 0.75),
    )[0]
    assert half_too.warn_at == [at(2026, 6, 1, 11, 5), at(2026, 6, 1, 11, 7, 30)]
    summons = plan(
        policy="13710",
        track="fast",
        anchor="summons",
        at=at(2026, 6, 1, 11),
        cal=WorkingCalendar(),
        departments=["光明区水务局", "光明区城市管理和综合执法局"],
    )
    assert [(m.name, m.department, m.due_at) for m in summons] == [
        ("report_in:光明区水务局", "光明区水务局", at(2026, 6, 1, 13)),
        ("report_in:光明区城市管理和综合执法局", "光明区城市管理和综合执法局", at(2026, 6, 1, 13)),
    ]


# ---- the workflow ------------------------------------------------------------------------------


async def test_warning_at_75_percent_and_never_after_done(env, client, sender):
    case_id = await dispatched(client)
    await env.sleep(timedelta(minutes=7))
    assert "warning" not in kinds(await state(client, case_id))
    await env.sleep(timedelta(minutes=1))  # 7.5 minutes into the 10-minute contact clock
    s = await state(client, case_id)
    warning = next(e for e in s.timeline if e.kind == "warning")
    assert warning.detail["milestone"] == "contact" and milestone(s, "contact").warned
    assert not milestone(s, "contact").breached
    await sender.wait_for(case_id, "department:光明区住房和建设局", "warning")
    await act(client, case_id, "record_contact", {"actor": H, "note": "n"})
    await act(client, case_id, "record_verification", {"actor": H, "findings": "f"})  # before its 22.5 minutes
    await env.sleep(timedelta(minutes=30))
    s = await state(client, case_id)
    assert [e.detail["milestone"] for e in s.timeline if e.kind == "warning"] == ["contact"]
    assert not milestone(s, "verify").warned and s.breaches == []


async def test_suspension_stops_the_clock_and_moves_the_deadline_by_exactly_the_stop(env, client):
    case_id = await dispatched(client, track="fast")
    due = milestone(await state(client, case_id), "resolve").due_at
    with pytest.raises(Rejected, match="only a handler of 光明区住房和建设局"):
        await act(client, case_id, "request_suspension", {"actor": WATER, "reason": "r"})
    await act(client, case_id, "request_suspension", {"actor": H, "reason": "等待当事人提交材料"})
    with pytest.raises(Rejected, match="only a supervisor"):
        await act(client, case_id, "decide_suspension", {"actor": H, "approve": True})
    s = await act(client, case_id, "decide_suspension", {"actor": S, "approve": True, "note": "同意中止"})
    assert s.suspended and milestone(s, "resolve").paused_since is not None
    stopped_at = milestone(s, "resolve").paused_since
    await env.sleep(timedelta(hours=30))  # far past the fast track's 24 hours
    s = await state(client, case_id)
    assert "resolve" not in s.breaches and not s.escalated
    s = await act(client, case_id, "resume", {"actor": S, "note": "材料已补齐"})
    resume_event = next(e for e in s.timeline if e.kind == "resumed")
    stopped_for = resume_event.at - stopped_at
    resolve = milestone(s, "resolve")
    assert not s.suspended and resolve.paused_since is None
    assert resolve.due_at == due + stopped_for and resolve.paused_seconds == stopped_for.total_seconds()
    assert resume_event.detail["moved"][0]["to"] == resolve.due_at.isoformat()
    with pytest.raises(Rejected, match="not stopped"):
        await act(client, case_id, "resume", {"actor": S})
    await env.sleep(resolve.due_at - await env.get_current_time() + timedelta(minutes=1))
    s = await state(client, case_id)
    assert "resolve" in s.breaches and s.escalated  # the clock runs again, and still binds


async def test_working_day_resolve_clock_moves_by_working_days(env, client):
    case_id = await dispatched(client)
    await act(client, case_id, "request_suspension", {"actor": H, "reason": "等待司法程序"})
    s = await act(client, case_id, "decide_suspension", {"actor": S, "approve": True})
    before = milestone(s, "resolve")
    await env.sleep(timedelta(days=9))
    s = await act(client, case_id, "resume", {"actor": H})
    after = milestone(s, "resolve")
    resumed = next(e.at for e in s.timeline if e.kind == "resumed")
    expected = shifted(before.due_at, Unit.working_days, before.paused_since, resumed, WorkingCalendar()).due_at
    assert after.due_at == expected and after.due_at > before.due_at + timedelta(days=6)
    assert after.due_at.astimezone(BUSINESS_TZ).hour == 0  # still the end of a working day


async def test_refused_suspension_leaves_the_clock_running(client):
    case_id = await dispatched(client)
    await act(client, case_id, "request_suspension", {"actor": H, "reason": "r"})
    s = await act(client, case_id, "decide_suspension", {"actor": S, "approve": False, "note": "不符合中止条件"})
    assert not s.suspended and milestone(s, "resolve").paused_since is None and s.pending_suspension is None
    assert "suspension_refused" in kinds(s)


async def test_medical_case_resolves_in_15_working_days(client):
    case_id = new_id()
    await file_complaint(client, case_id, {"complaint": complaint(category="medical")}, task_queue=client.task_queue)
    s = await eventually(client, case_id, lambda s: milestone(s, "resolve"))
    assert milestone(s, "resolve").duration == "15 working days"
    assert (
        milestone(s, "resolve").due_at
        == plan(
            policy="1030",
            track="routine",
            category="medical",
            anchor="acceptance",
            at=s.received_at,
            cal=WorkingCalendar(),
        )[2].due_at
    )


async def test_community_whistle(env, client, sender):
    case_id = await dispatched(client, track="fast")
    summon = {
        "notice_no": "塘家〔2026〕7号",
        "departments": ["光明区水务局", "光明区城市管理和综合执法局"],
        "reason": "断水涉及管网和占道施工",
    }
    with pytest.raises(Rejected, match="only the case's community \\(塘家社区\\) or a supervisor"):
        await act(client, case_id, "summon_departments", {"actor": actor("community", "别的社区"), **summon})
    with pytest.raises(Rejected, match="only the case's community"):
        await act(client, case_id, "summon_departments", {"actor": H, **summon})
    s = await act(client, case_id, "summon_departments", {"actor": SECRETARY, **summon})
    owed = {m.name: m for m in s.milestones if m.name.startswith("report_in:")}
    assert set(owed) == {"report_in:光明区水务局", "report_in:光明区城市管理和综合执法局"}
    summoned_at = next(e.at for e in s.timeline if e.kind == "summoned")
    assert all(m.due_at == summoned_at + timedelta(hours=2) for m in owed.values())  # fast track: 2 hours
    await sender.wait_for(case_id, "department:光明区水务局", "summons")
    with pytest.raises(Rejected, match="already summoned"):
        await act(client, case_id, "summon_departments", {"actor": S, **summon})
    with pytest.raises(Rejected, match="only a handler of a summoned department"):
        await act(client, case_id, "report_in", {"actor": actor("handler", "光明区交通运输局"), "note": "n"})
    s = await act(client, case_id, "report_in", {"actor": WATER, "note": "已到场"})
    assert milestone(s, "report_in:光明区水务局").done_at is not None
    await env.sleep(timedelta(hours=2, minutes=1))
    s = await state(client, case_id)
    assert "report_in:光明区城市管理和综合执法局" in s.breaches and "report_in:光明区水务局" not in s.breaches
    await sender.wait_for(case_id, "department:光明区城市管理和综合执法局", "breach")
    s = await act(
        client, case_id, "report_in", {"actor": actor("handler", "光明区城市管理和综合执法局"), "note": "迟到"}
    )
    late = milestone(s, "report_in:光明区城市管理和综合执法局")
    assert late.done_at and late.breached  # late, and on the record
