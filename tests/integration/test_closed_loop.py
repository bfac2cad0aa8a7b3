"""No holes in the closed loop (time-skipping server, with the read model): no resolution before
the complainant is contacted, and no milestone left open however a case ends."""

from __future__ import annotations

import pytest

from models import CaseState
from readmodel import ReadModel
from starter import Rejected, act, file_complaint
from tests.support.cases import actor, complaint, eventually, new_id, unique_phone

D, H, S = actor("dispatcher"), actor("handler", "光明区住房和建设局"), actor("supervisor")
L = actor("leader", id="L1")


async def _final(client, read_model: ReadModel, case_id: str) -> CaseState:
    final = await client.get_workflow_handle(case_id, result_type=CaseState).result()
    assert not final.open_milestones(), [(m.name, m.outcome) for m in final.milestones]
    rows = read_model.milestones(case_id)
    assert len(rows) == len(final.milestones)
    assert [(r.name, r.superseded, r.settled, r.done_at is not None) for r in rows] == [
        (m.name, m.superseded, m.settled, m.done_at is not None) for m in final.milestones
    ]
    assert all(r.done_at is not None or r.superseded for r in rows)
    return final


async def test_resolving_right_after_dispatch_is_refused_unless_nobody_complained(client):
    case_id = new_id()
    await file_complaint(client, case_id, {"complaint": complaint()}, task_queue=client.task_queue)
    await act(client, case_id, "dispatch", {"actor": D, "department": "光明区住房和建设局"})
    with pytest.raises(Rejected, match="has not recorded contact with the complainant"):
        await act(client, case_id, "resolve", {"actor": H, "resolution": "r"})
    s = await act(client, case_id, "record_contact", {"actor": H, "note": "无人接听, 已发短信", "reached": False})
    assert s.timeline[-1].detail["reached"] is False and s.milestone("contact").done_at is not None
    assert (await act(client, case_id, "resolve", {"actor": H, "resolution": "r"})).status.value == "resolved"

    patrol = new_id()
    await file_complaint(
        client, patrol, {"complaint": complaint(channel="grid_patrol", complainant=None)}, task_queue=client.task_queue
    )
    await act(client, patrol, "dispatch", {"actor": D, "department": "光明区住房和建设局"})
    assert (await act(client, patrol, "resolve", {"actor": H, "resolution": "r"})).status.value == "resolved"


@pytest.mark.parametrize("satisfaction", ["satisfied", "basically_satisfied", "unreachable"])
async def test_closed_after_a_follow_up_leaves_nothing_open(client, read_model, satisfaction):
    case_id = new_id()
    await file_complaint(client, case_id, {"complaint": complaint()}, task_queue=client.task_queue)
    await act(client, case_id, "dispatch", {"actor": D, "department": "光明区住房和建设局"})
    await act(client, case_id, "record_contact", {"actor": H, "note": "n"})
    resolved = await act(client, case_id, "resolve", {"actor": H, "resolution": "r"})
    # verify, reply and opinion were still owed: the resolution did them, on time
    by_resolution = {m.name: m.outcome for m in resolved.milestones if m.settled == "resolution"}
    assert by_resolution == {"verify": "met", "reply": "met", "opinion": "met"}
    event = next(e for e in resolved.timeline if e.kind == "resolved")
    assert [x["name"] for x in event.detail["settled"]] == ["verify", "reply", "opinion"]
    await act(client, case_id, "record_follow_up", {"actor": S, "satisfaction": satisfaction})
    final = await _final(client, read_model, case_id)
    assert final.status.value == "closed"


async def test_closed_after_a_reopen_and_after_a_leader_resolved_it(env, client, read_model):
    case_id = new_id()
    await file_complaint(client, case_id, {"complaint": complaint(track="fast")}, task_queue=client.task_queue)
    await act(client, case_id, "dispatch", {"actor": D, "department": "光明区住房和建设局"})
    await act(
        client,
        case_id,
        "summon_departments",
        {"actor": S, "notice_no": "1号", "departments": ["光明区水务局"], "reason": "r"},
    )
    await env.sleep(25 * 3600)  # contact, verify, the 24-hour resolve and the summons all pass: escalated
    s = await eventually(client, case_id, lambda s: s.escalated)
    await act(client, case_id, "assign_leader", {"actor": S, "leader": {"id": "L1", "name": "张书记"}})
    await act(client, case_id, "record_contact", {"actor": L, "note": "领导约见"})
    s = await act(client, case_id, "resolve", {"actor": L, "resolution": "r"})
    late = {m.name: m.outcome for m in s.milestones if m.settled == "resolution"}
    assert late == {"verify": "late", "reply": "met", "opinion": "met"}  # a late one is never met
    await act(client, case_id, "record_follow_up", {"actor": S, "satisfaction": "dissatisfied"})
    await act(client, case_id, "resolve", {"actor": L, "resolution": "r2"})
    await act(client, case_id, "record_follow_up", {"actor": S, "satisfaction": "satisfied"})
    final = await _final(client, read_model, case_id)
    assert final.reopen_count == 1
    summons = next(m for m in final.milestones if m.name == "report_in:光明区水务局")
    assert summons.outcome == "missed" and summons.breached  # the department never reported
    closed = next(e for e in final.timeline if e.kind == "closed")
    assert {"name": "report_in:光明区水务局", "how": "missed"}.items() <= closed.detail["settled"][0].items()


async def test_a_merged_complaint_leaves_nothing_open(client, read_model):
    person = {"name": "王", "phone": unique_phone()}
    first, second = new_id(), new_id()
    await file_complaint(client, first, {"complaint": complaint(complainant=person)}, task_queue=client.task_queue)
    await eventually(client, first, lambda s: read_model.case(first) is not None)
    await file_complaint(client, second, {"complaint": complaint(complainant=person)}, task_queue=client.task_queue)
    final = await _final(client, read_model, second)
    assert final.status.value == "merged"
