"""Record the histories kept under tests/histories, which every later version must replay.

    python -m tests.histories.record SCENARIO [SCENARIO ...]

Run it only to add histories for new behaviour; never to refresh old ones (that would hide the
very break the replay test is there to catch). All of today's were recorded on 2026-11-26 by the
redesign (issue 13: the case model decides, the workflow carries out, and planning, read-model
writes and a notice's first attempt became local activities), before any production case had
run; from then on every workflow change is guarded (workflow.patched) and adds its own:
complainant_voice (edition 2, issue 23: the complainant's note and verdict through their link);
webhook_delivery (issue 26: the delivery workflow, new, of one subscription and case);
mediated_and_settled, labour_referred and dispute_filed (edition 3, issue 25: disputes taken to
mediation, and one filed as a dispute from the start); chained (edition 4, issue 27: the case's
hash chain over its timeline); extension_approved (edition 5: an approved extension's warnings
move with it); stamped_by_what_woke_it (edition 6: a change is stamped with the time of what
woke the case, never a local activity's finish); placed_in_the_tree (edition 7, issue 35: the case
placed in the city's tree, unplaced and then placed by the `place` update); link_sent_again
(edition 8, issue 37: the hotline re-sends the complainant's link); strong_signal (edition 9,
issue 40: filed red, the duty leader told, the response late, the level lowered); callers_second_case
(edition 10, issue 40: a caller's second case in the district, counted when filed); suggested_unit
(edition 11, issue 40: the district's model suggests the unit, and the dispatch takes it);
one_of_a_source_task (issue 40: a case told it is one of a 源头治理 task, a new update that needs
no edition, since no earlier history holds it); after_photo_to_resolve (edition 12, issue 38: an
`after` photo attached before an urban-management case resolves); red_entered_late (edition 13:
a red complaint entered an hour late, its response counted from its entry); audit (issue 27: the Audit workflow over three closed cases, two
runs; recorded on a dev server, whose visibility the audit reads, where the others use the
time-skipping server).
"""

from __future__ import annotations

import asyncio
import base64
import os
import sys
import tempfile
import uuid
from datetime import timedelta
from pathlib import Path

from temporalio.client import Client

from models import Actor, CaseInput, Role, complainant_of
from models.webhooks import workflow_id as delivery_workflow_id
from readmodel import ReadModel
from readmodel.unit_model import train
from runtime import devserver
from sla import WorkingCalendar
from starter import act, data_converter, file_complaint, jurisdictions, state
from tests.support.cases import RecordingSender, actor, complaint
from tests.support.units import DISTRICT, labelled, seed_closed
from worker import create_worker
from workflows.search_attributes import KEYS

# Recorded with the tests' own key (tests/conftest.py), so that the replay test can decode them.
os.environ.setdefault("COMPLAINTS_WEBHOOK_ALLOW_HTTP_HOSTS", "127.0.0.1")
os.environ.setdefault("COMPLAINTS_CODEC_KEYS", "test-1:" + base64.b64encode(b"k" * 32).decode())
# COMPLAINTS_RECORD_OUT=DIR records elsewhere: to measure a history's size without keeping it.
OUT = Path(os.environ.get("COMPLAINTS_RECORD_OUT") or Path(__file__).parent)
D, H, S = actor("dispatcher", "区诉求中心"), actor("handler", "住建局"), actor("supervisor", "区信访局")
LEADER = actor("leader", id="L1")


async def closed_loop(client: Client, case_id: str, env) -> str | None:
    filed = await file_complaint(client, case_id, {"complaint": complaint()}, task_queue=client.task_queue)
    for update, payload in [
        ("dispatch", {"actor": D, "department": "住建局"}),
        ("record_contact", {"actor": H, "note": "n"}),
        ("record_verification", {"actor": H, "findings": "f"}),
        ("reply", {"actor": H, "message": "m"}),
        ("submit_opinion", {"actor": H, "findings": "f", "handling": "h", "next_steps": "n"}),
        ("resolve", {"actor": H, "resolution": "r"}),
        ("record_follow_up", {"actor": S, "satisfaction": "satisfied"}),
    ]:
        await act(client, case_id, update, payload)
    return filed.run_id


async def breached_escalated_reopened(client: Client, case_id: str, env) -> None:
    await file_complaint(client, case_id, {"complaint": complaint(track="fast")}, task_queue=client.task_queue)
    await act(client, case_id, "dispatch", {"actor": D, "department": "住建局"})
    await act(client, case_id, "transfer", {"actor": H, "to_department": "水务局", "explanation": "供水"})
    await env.sleep(timedelta(hours=25))  # contact, verify and the fast track's 24-hour resolve all breach
    await act(client, case_id, "assign_leader", {"actor": S, "leader": {"id": "L1", "name": "张书记"}})
    await act(client, case_id, "record_contact", {"actor": LEADER, "note": "领导约见诉求人"})
    await act(client, case_id, "resolve", {"actor": LEADER, "resolution": "r"})
    await act(client, case_id, "record_follow_up", {"actor": S, "satisfaction": "dissatisfied"})
    await act(client, case_id, "resolve", {"actor": LEADER, "resolution": "r2"})
    await act(client, case_id, "record_follow_up", {"actor": S, "satisfaction": "unreachable"})


async def major_13710_monthly(client: Client, case_id: str, env) -> None:
    await file_complaint(
        client, case_id, {"complaint": complaint(track="major"), "policy": "13710"}, task_queue=client.task_queue
    )
    await act(client, case_id, "dispatch", {"actor": D, "department": "住建局"})
    await act(client, case_id, "report_progress", {"actor": H, "note": "三日报告"})
    await act(
        client,
        case_id,
        "request_extension",
        {
            "actor": H,
            "reason": "r",
            "until": (await state(client, case_id)).milestones[3].due_at.replace(year=2099).isoformat(),
        },
    )
    await act(client, case_id, "decide_extension", {"actor": S, "approve": False})
    await env.sleep(timedelta(days=65))
    await act(client, case_id, "report_progress", {"actor": H, "note": "月报"})
    await act(client, case_id, "assign_leader", {"actor": S, "leader": {"id": "L1", "name": "张书记"}})
    await act(client, case_id, "record_contact", {"actor": LEADER, "note": "领导约见诉求人"})
    await act(client, case_id, "resolve", {"actor": LEADER, "resolution": "r"})
    await act(client, case_id, "record_follow_up", {"actor": S, "satisfaction": "basically_satisfied"})


async def continued_as_new(client: Client, case_id: str, env) -> str | None:
    case_input = CaseInput.model_validate(
        {"complaint": complaint(channel="grid_patrol", complainant=None), "max_history_events": 200}
    )
    filed = await file_complaint(client, case_id, case_input, task_queue=client.task_queue)
    await act(client, case_id, "dispatch", {"actor": D, "department": "住建局"})
    for i in range(45):
        await act(client, case_id, "report_progress", {"actor": H, "note": f"{i}"})
    while (await state(client, case_id)).runs < 2:  # it moves on at its first quiet moment
        await asyncio.sleep(0.1)
    await act(client, case_id, "resolve", {"actor": H, "resolution": "r"})
    await act(client, case_id, "record_follow_up", {"actor": S, "satisfaction": "satisfied"})
    return filed.run_id


async def merged(client: Client, case_id: str, env) -> str | None:
    """An open case, then the same person about the same thing: this history is the merged one."""
    person = {"name": "王", "phone": "13812345678"}
    carrier = f"carrier-{case_id}"
    await file_complaint(client, carrier, {"complaint": complaint(complainant=person)}, task_queue=client.task_queue)
    await act(client, carrier, "dispatch", {"actor": D, "department": "住建局"})
    await act(client, carrier, "record_contact", {"actor": H, "note": "n"})
    await asyncio.sleep(1)  # the carrier's row reaches the read model
    filed = await file_complaint(
        client, case_id, {"complaint": complaint(complainant=person)}, task_queue=client.task_queue
    )
    await client.get_workflow_handle(case_id).result()
    for update, payload in [
        ("resolve", {"actor": H, "resolution": "r"}),
        ("record_follow_up", {"actor": S, "satisfaction": "satisfied"}),
    ]:
        await act(client, carrier, update, payload)
    return filed.run_id


async def repeat_of_closed(client: Client, case_id: str, env) -> str | None:
    person = {"name": "李", "phone": "13887654321"}
    await closed_loop_for(client, f"earlier-{case_id}", person)
    filed = await file_complaint(
        client, case_id, {"complaint": complaint(complainant=person)}, task_queue=client.task_queue
    )
    await act(client, case_id, "dispatch", {"actor": D, "department": "住建局"})
    await act(client, case_id, "assign_leader", {"actor": S, "leader": {"id": "L1", "name": "张书记"}})
    await act(client, case_id, "record_contact", {"actor": LEADER, "note": "领导约见诉求人"})
    await act(client, case_id, "resolve", {"actor": LEADER, "resolution": "r"})
    await act(client, case_id, "record_follow_up", {"actor": S, "satisfaction": "satisfied"})
    return filed.run_id


async def closed_loop_for(client: Client, case_id: str, person: dict) -> str | None:
    """A case of this person taken from filing to a satisfied follow-up; its run id."""
    filed = await file_complaint(
        client, case_id, {"complaint": complaint(complainant=person)}, task_queue=client.task_queue
    )
    for update, payload in [
        ("dispatch", {"actor": D, "department": "住建局"}),
        ("record_contact", {"actor": H, "note": "n"}),
        ("resolve", {"actor": H, "resolution": "r"}),
        ("record_follow_up", {"actor": S, "satisfaction": "satisfied"}),
    ]:
        await act(client, case_id, update, payload)
    await client.get_workflow_handle(case_id).result()
    return filed.run_id


async def second_stage_warning_suspension_whistle(client: Client, case_id: str, env) -> str | None:
    filed = await file_complaint(client, case_id, {"complaint": complaint(track="fast")}, task_queue=client.task_queue)
    await act(client, case_id, "dispatch", {"actor": D, "department": "住建局"})
    await env.sleep(timedelta(minutes=8))  # the contact warning at 7.5 minutes
    await act(client, case_id, "record_contact", {"actor": H, "note": "n"})
    await act(client, case_id, "request_suspension", {"actor": H, "reason": "r"})
    await act(client, case_id, "decide_suspension", {"actor": S, "approve": True})
    await env.sleep(timedelta(hours=5))
    await act(client, case_id, "resume", {"actor": S})
    await act(
        client,
        case_id,
        "summon_departments",
        {
            "actor": actor("community", "塘家社区"),
            "notice_no": "7号",
            "departments": ["水务局", "城管局"],
            "reason": "r",
        },
    )
    await act(client, case_id, "report_in", {"actor": actor("handler", "水务局"), "note": "n"})
    await env.sleep(timedelta(hours=3))  # 城管局 never reports: a breach
    await act(client, case_id, "resolve", {"actor": H, "resolution": "r"})
    await act(client, case_id, "record_follow_up", {"actor": S, "satisfaction": "satisfied"})
    return filed.run_id


async def claim_taken_over(client: Client, case_id: str, env) -> str | None:
    """The open case the read model names is gone (terminated): the signal fails, the look-up runs
    again with it marked gone, and this case goes on alone."""
    person = {"name": "赵", "phone": "13811112222"}
    gone = f"gone-{case_id}"
    await file_complaint(client, gone, {"complaint": complaint(complainant=person)}, task_queue=client.task_queue)
    await asyncio.sleep(1)  # its row and claim reach the read model
    await client.get_workflow_handle(gone).terminate(reason="recording: gone without closing")
    return await closed_loop_for(client, case_id, person)


async def complainant_voice(client: Client, case_id: str, env) -> str | None:
    """Edition 2: the complainant adds a detail and gives their verdict through their link: not
    solved (reopened), dissatisfied again (escalated to a leader), then satisfied (closed)."""
    me = complainant_of(case_id).model_dump(mode="json")
    filed = await file_complaint(client, case_id, {"complaint": complaint()}, task_queue=client.task_queue)
    await act(client, case_id, "dispatch", {"actor": D, "department": "住建局"})
    await act(client, case_id, "add_note", {"actor": me, "note": "楼道的灯也坏了"})
    await act(client, case_id, "record_contact", {"actor": H, "note": "n"})
    await act(client, case_id, "reply", {"actor": H, "message": "m"})
    await act(client, case_id, "resolve", {"actor": H, "resolution": "r1"})
    no = {"actor": me, "resolved": False, "satisfaction": "dissatisfied", "note": "没修好"}
    await act(client, case_id, "record_follow_up", no)
    await act(client, case_id, "resolve", {"actor": H, "resolution": "r2"})
    await act(client, case_id, "record_follow_up", {**no, "resolved": True})
    await act(client, case_id, "assign_leader", {"actor": S, "leader": {"id": "L1", "name": "张局长"}})
    await act(client, case_id, "resolve", {"actor": LEADER, "resolution": "r3"})
    await act(client, case_id, "record_follow_up", {"actor": me, "resolved": True, "satisfaction": "satisfied"})
    return filed.run_id


async def webhook_delivery(client: Client, case_id: str, env) -> str | None:
    """Issue 26: a closed loop told to a department's receiver that fails each event's first try
    (recorded: the delivery workflow of that subscription and case, not the case's own)."""
    from readmodel.webhooks import Webhooks
    from starter.codec import keyring_from_settings
    from tests.support.receiver import Receiver

    receiver = Receiver(fail_first=1)
    hooks = Webhooks(client.read_model.engine, keyring_from_settings())  # type: ignore[attr-defined]
    hooks.add("histories", actor_of("supervisor"), receiver.url, ["*"])
    try:
        await closed_loop_for(client, case_id, {"name": "周", "phone": "13833334444"})
        events = len((await state(client, case_id)).timeline)
        await receiver.wait(lambda: len(receiver.delivered(case_id)) == events)
        await env.sleep(timedelta(minutes=2))  # idle a minute: the delivery workflow ends
    finally:
        receiver.close()
        hooks.remove("histories")
    return None


MEDIATOR = {"id": "m1", "role": "mediator", "department": "虹姐调解工作室"}
PARTIES = [
    {"side": "applicant", "name": "陈女士", "phone": "13900000001"},
    {"side": "respondent", "name": "李先生", "phone": "13900000002"},
]


async def _to_mediation(client: Client, case_id: str, kind: str) -> str | None:
    filed = await file_complaint(client, case_id, {"complaint": complaint()}, task_queue=client.task_queue)
    await act(client, case_id, "start_mediation", {"actor": D, "kind": kind, "parties": PARTIES})
    mediator = {"id": "m1", "name": "虹姐", "organisation": "虹姐调解工作室"}
    await act(client, case_id, "assign_mediator", {"actor": S, "mediator": mediator})
    return filed.run_id


async def mediated_and_settled(client: Client, case_id: str, env) -> str | None:
    """Edition 3: a session (its reminder), a written agreement whose confirmation window lapses
    (reminded first) and whose obligation is not honoured, mediation again, an oral agreement
    honoured: settled and closed."""
    run = await _to_mediation(client, case_id, "tenancy")
    now = await env.get_current_time()
    session = {"actor": MEDIATOR, "at": (now + timedelta(hours=3)).isoformat(), "place": "调解室"}
    await act(client, case_id, "schedule_session", session)
    await act(client, case_id, "record_session", {"actor": MEDIATOR, "attended": [1, 2], "note": "n"})
    await act(client, case_id, "extend_mediation", {"actor": S, "days": 5, "parties_consent": True, "note": "n"})
    due = (now + timedelta(days=40)).isoformat()
    obligation = {"party": 2, "what": "恢复供水", "due_at": due}
    await act(client, case_id, "record_agreement",
              {"actor": MEDIATOR, "form": "written", "terms": "t", "obligations": [obligation]})  # fmt: skip
    await env.sleep(timedelta(days=31))  # the confirmation window: reminded, then lapsed
    await act(
        client, case_id, "record_fulfilment", {"actor": MEDIATOR, "obligation": 1, "honoured": False, "note": "n"}
    )
    soon = (await env.get_current_time() + timedelta(hours=1)).isoformat()
    await act(client, case_id, "record_agreement", {"actor": MEDIATOR, "form": "oral", "terms": "t2",
                                                    "obligations": [{**obligation, "due_at": soon}]})  # fmt: skip
    await act(client, case_id, "record_fulfilment", {"actor": MEDIATOR, "obligation": 1, "honoured": True, "note": "n"})
    return run


async def labour_referred(client: Client, case_id: str, env) -> str | None:
    """Edition 3: a labour dispute without agreement in 15 days is referred to arbitration."""
    run = await _to_mediation(client, case_id, "labour")
    await env.sleep(timedelta(days=16))
    return run


async def dispute_filed(client: Client, case_id: str, env) -> str | None:
    """Edition 3: a walk-in files a dispute as one (channel visit): acknowledged, mediating from
    the start (the dispute_filed anchor: no dispatch owed), withdrawn after a session."""
    filing = {**complaint(channel="visit"), "dispute": {"kind": "neighbour", "parties": PARTIES}}
    filed = await file_complaint(client, case_id, {"complaint": filing}, task_queue=client.task_queue)
    mediator = {"id": "m1", "name": "虹姐", "organisation": "虹姐调解工作室"}
    await act(client, case_id, "assign_mediator", {"actor": S, "mediator": mediator})
    now = await env.get_current_time()
    await act(client, case_id, "schedule_session", {"actor": MEDIATOR, "at": (now + timedelta(days=2)).isoformat(),
                                                   "place": "调解室"})  # fmt: skip
    await env.sleep(timedelta(days=1, hours=12))  # each party reminded the day before
    await act(client, case_id, "withdraw", {"actor": D, "party": 1, "reason": "已和解"})
    return filed.run_id


def actor_of(role: str) -> Actor:
    return Actor(id=f"{role}-1", role=Role(role))


async def chained(client: Client, case_id: str, env) -> str | None:
    """Edition 4 (issue 27): a case keeps its hash chain. A closed loop with a note, a suspension
    and its resumption (whose event gains the moved deadlines while the change is carried out, the
    reason events are sealed only afterwards)."""
    filed = await file_complaint(client, case_id, {"complaint": complaint()}, task_queue=client.task_queue)
    await act(client, case_id, "dispatch", {"actor": D, "department": "住建局"})
    await act(client, case_id, "add_note", {"actor": D, "note": "来电补充：楼道灯也坏了"})
    await act(client, case_id, "record_contact", {"actor": H, "note": "n"})
    await act(client, case_id, "request_suspension", {"actor": H, "reason": "等待配件"})
    await act(client, case_id, "decide_suspension", {"actor": S, "approve": True})
    await env.sleep(timedelta(days=2))
    await act(client, case_id, "resume", {"actor": S})
    await act(client, case_id, "reply", {"actor": H, "message": "m"})
    await act(client, case_id, "resolve", {"actor": H, "resolution": "r"})
    await act(client, case_id, "record_follow_up", {"actor": S, "satisfaction": "satisfied"})
    return filed.run_id


async def extension_approved(client: Client, case_id: str, env) -> str | None:
    """Edition 5: an approved extension moves the resolve deadline's warnings with it; the first
    fires before the new deadline, none at the old times."""
    filed = await file_complaint(client, case_id, {"complaint": complaint()}, task_queue=client.task_queue)
    await act(client, case_id, "dispatch", {"actor": D, "department": "住建局"})
    await act(client, case_id, "record_contact", {"actor": H, "note": "n"})
    resolve = (await state(client, case_id)).milestone("resolve")
    assert resolve is not None
    until = (resolve.due_at + timedelta(days=10)).isoformat()
    await act(client, case_id, "request_extension", {"actor": H, "reason": "等待配件", "until": until})
    await act(client, case_id, "decide_extension", {"actor": S, "approve": True})
    moved = (await state(client, case_id)).milestone("resolve")
    assert moved is not None
    await env.sleep(moved.warn_at[0] + timedelta(hours=1) - await env.get_current_time())
    await act(client, case_id, "reply", {"actor": H, "message": "m"})
    await act(client, case_id, "resolve", {"actor": H, "resolution": "r"})
    await act(client, case_id, "record_follow_up", {"actor": S, "satisfaction": "satisfied"})
    return filed.run_id


async def stamped_by_what_woke_it(client: Client, case_id: str, env) -> str | None:
    """Edition 6: each change is stamped with the time of what woke the case (its start, an
    update, its alarm), never a local activity's finish. Taken in 47 minutes before it was filed,
    so the acknowledgement's breach and the dispatch warning come at the start, beside the first
    plan and read-model write; then the contact warning and breach come on the alarm."""
    taken_in = (await env.get_current_time() - timedelta(minutes=47)).isoformat()
    filed = await file_complaint(
        client, case_id, {"complaint": complaint(received_at=taken_in)}, task_queue=client.task_queue
    )
    await act(client, case_id, "dispatch", {"actor": D, "department": "住建局"})
    await env.sleep(timedelta(hours=3))
    await act(client, case_id, "record_contact", {"actor": H, "note": "n"})
    await act(client, case_id, "resolve", {"actor": H, "resolution": "r"})
    await act(client, case_id, "record_follow_up", {"actor": S, "satisfaction": "satisfied"})
    return filed.run_id


async def placed_in_the_tree(client: Client, case_id: str, env) -> str | None:
    """Edition 7: filed in 罗湖区 at a community the tree does not list (filed at 东门街道,
    unplaced), placed by the dispatcher, then dispatched and closed; its notices carry 罗湖's sign
    and its search attributes the tree's codes."""
    where = {"district": "罗湖区", "street": "东门街道", "community": "新开社区"}
    filed = await file_complaint(
        client, case_id, {"complaint": complaint(location=where)}, task_queue=client.task_queue
    )
    await act(client, case_id, "place", {"actor": D, "code": "440303003002"})
    await act(client, case_id, "dispatch", {"actor": D, "department": "住建局"})
    await act(client, case_id, "record_contact", {"actor": H, "note": "n"})
    await act(client, case_id, "resolve", {"actor": H, "resolution": "r"})
    await act(client, case_id, "record_follow_up", {"actor": S, "satisfaction": "satisfied"})
    return filed.run_id


async def link_sent_again(client: Client, case_id: str, env) -> str | None:
    """Edition 8: the hotline re-sends the complainant their link (send_link), then the case is
    dispatched and closed."""
    filed = await file_complaint(client, case_id, {"complaint": complaint()}, task_queue=client.task_queue)
    await act(client, case_id, "send_link", {"actor": D})
    await act(client, case_id, "dispatch", {"actor": D, "department": "住建局"})
    await act(client, case_id, "record_contact", {"actor": H, "note": "n"})
    await act(client, case_id, "resolve", {"actor": H, "resolution": "r"})
    await act(client, case_id, "record_follow_up", {"actor": S, "satisfaction": "satisfied"})
    return filed.run_id


async def strong_signal(client: Client, case_id: str, env) -> str | None:
    """Edition 9: a threat in the complaint's words makes it red; the duty leader is told, the
    30-minute response breaches, a leader of the district responds, a supervisor lowers it to
    orange, and the case is handled and closed."""
    threat = complaint(description="物业拖了三个月不修，再不解决我就从楼上跳下去")
    filed = await file_complaint(client, case_id, {"complaint": threat}, task_queue=client.task_queue)
    await env.sleep(timedelta(minutes=31))
    district_leader = {"id": "duty-gm-day", "role": "leader", "scope": "440311"}
    await act(client, case_id, "record_response", {"actor": district_leader, "note": "已到场劝解", "mode": "on_site"})
    await act(client, case_id, "reassess_risk", {"actor": S, "level": "orange", "reason": "已劝解，情绪稳定"})
    await act(client, case_id, "dispatch", {"actor": D, "department": "住建局"})
    await act(client, case_id, "record_contact", {"actor": H, "note": "n"})
    await act(client, case_id, "resolve", {"actor": H, "resolution": "r"})
    await act(client, case_id, "record_follow_up", {"actor": S, "satisfaction": "satisfied"})
    return filed.run_id


async def callers_second_case(client: Client, case_id: str, env) -> str | None:
    """Edition 10: the caller filed once before in the district; this case, their second, counts
    it when filed (初信初访: not their first), and is handled and closed."""
    caller = {"name": "陈女士", "phone": "13900000010"}
    earlier = f"{case_id}-earlier"
    await file_complaint(client, earlier, {"complaint": complaint(complainant=caller, category="traffic")},
                         task_queue=client.task_queue)  # fmt: skip
    for _ in range(100):  # the read model holds it before the second is filed
        if client.read_model.case(earlier) is not None:  # type: ignore[attr-defined]
            break
        await asyncio.sleep(0.05)
    filed = await file_complaint(
        client, case_id, {"complaint": complaint(complainant=caller)}, task_queue=client.task_queue
    )
    await act(client, case_id, "dispatch", {"actor": D, "department": "住建局"})
    await act(client, case_id, "record_contact", {"actor": H, "note": "n"})
    await act(client, case_id, "resolve", {"actor": H, "resolution": "r"})
    await act(client, case_id, "record_follow_up", {"actor": S, "satisfaction": "satisfied"})
    return filed.run_id


async def suggested_unit(client: Client, case_id: str, env) -> str | None:
    """Edition 11: 光明区's model, learned from 400 closed cases, suggests 光明区水务局 for a water
    main filed as 城市管理 (its routing table's unit would be 城管); the dispatcher takes it."""
    engine = client.read_model.engine  # type: ignore[attr-defined]
    seed_closed(engine, labelled(400), prefix=f"{case_id}-learned")
    train(engine, DISTRICT, jurisdictions.tree())
    burst = complaint(
        category="urban_management", title="供水管道爆裂", description="小区供水管道爆裂水流满街，请尽快处理"
    )
    filed = await file_complaint(client, case_id, {"complaint": burst}, task_queue=client.task_queue)
    await act(client, case_id, "dispatch", {"actor": D, "department": "光明区水务局"})
    water = actor("handler", "光明区水务局")
    await act(client, case_id, "record_contact", {"actor": water, "note": "n"})
    await act(client, case_id, "resolve", {"actor": water, "resolution": "r"})
    await act(client, case_id, "record_follow_up", {"actor": S, "satisfaction": "satisfied"})
    return filed.run_id


async def one_of_a_source_task(client: Client, case_id: str, env) -> str | None:
    """Issue 40: the case is one of a 类案 handed to 住建局 as one 源头治理 task (a grid-patrol case
    naming it); its timeline says so (note_source_task), and it is handled and closed."""
    filed = await file_complaint(client, case_id, {"complaint": complaint()}, task_queue=client.task_queue)
    task = complaint(channel="grid_patrol", complainant=None, title="类案源头治理：电梯困人", members=[case_id])
    await file_complaint(client, f"{case_id}-task", {"complaint": task}, task_queue=client.task_queue)
    await act(client, f"{case_id}-task", "dispatch", {"actor": S, "department": "住建局"})
    await act(client, case_id, "note_source_task", {"actor": S, "task_id": f"{case_id}-task", "department": "住建局"})
    await act(client, case_id, "dispatch", {"actor": D, "department": "住建局"})
    await act(client, case_id, "record_contact", {"actor": H, "note": "n"})
    await act(client, case_id, "resolve", {"actor": H, "resolution": "r"})
    await act(client, case_id, "record_follow_up", {"actor": S, "satisfaction": "satisfied"})
    return filed.run_id


async def after_photo_to_resolve(client: Client, case_id: str, env) -> str | None:
    """Edition 12 (issue 38): an urban-management case is refused its resolution without a photo
    of the result; the unit uploads one, attaches it as `after` (its digest in the chain), and
    resolves; the case closes."""
    from datetime import datetime, timezone

    from readmodel.evidence import record_upload
    from readmodel.tables import UploadRow

    street = complaint(category="urban_management", title="井盖松动", description="小区门口井盖松动，车辆经过响声很大")
    filed = await file_complaint(client, case_id, {"complaint": street}, task_queue=client.task_queue)
    city = actor("handler", "城管局")
    await act(client, case_id, "dispatch", {"actor": D, "department": "城管局"})
    await act(client, case_id, "record_contact", {"actor": city, "note": "n"})
    photo = "5" * 64
    record_upload(
        client.read_model.engine,  # type: ignore[attr-defined]
        UploadRow(case_id=case_id, digest=photo, kind="photo", media_type="image/jpeg", size=1234,
                  uploaded_by="handler-1", at=datetime.now(timezone.utc)),
    )  # fmt: skip
    await act(client, case_id, "attach", {"actor": city, "attachment": photo, "kind": "photo", "purpose": "after"})
    await act(client, case_id, "resolve", {"actor": city, "resolution": "井盖已更换"})
    await act(client, case_id, "record_follow_up", {"actor": S, "satisfaction": "satisfied"})
    return filed.run_id


async def red_entered_late(client: Client, case_id: str, env) -> str | None:
    """Edition 13: a red complaint taken in an hour before it was entered; the duty leader is
    told, and the 30 minutes counted, from its entry; a leader responds within them; closed."""
    from datetime import datetime, timezone

    taken_in = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()
    threat = complaint(description="物业拖了三个月不修，再不解决我就从楼上跳下去", received_at=taken_in)
    filed = await file_complaint(client, case_id, {"complaint": threat}, task_queue=client.task_queue)
    await env.sleep(timedelta(minutes=10))
    district_leader = {"id": "duty-gm-day", "role": "leader", "scope": "440311"}
    await act(client, case_id, "record_response", {"actor": district_leader, "note": "已到场劝解", "mode": "on_site"})
    await act(client, case_id, "dispatch", {"actor": D, "department": "住建局"})
    await act(client, case_id, "record_contact", {"actor": H, "note": "n"})
    await act(client, case_id, "resolve", {"actor": H, "resolution": "r"})
    await act(client, case_id, "record_follow_up", {"actor": S, "satisfaction": "satisfied"})
    return filed.run_id


# Scenarios whose recorded history is another workflow's than the case's.
RECORDED_WORKFLOW = {"webhook_delivery": lambda case_id: delivery_workflow_id("histories", case_id)}

SCENARIOS = {
    f.__name__: f
    for f in (
        closed_loop,
        breached_escalated_reopened,
        major_13710_monthly,
        continued_as_new,
        merged,
        repeat_of_closed,
        second_stage_warning_suspension_whistle,
        claim_taken_over,
        complainant_voice,
        webhook_delivery,
        mediated_and_settled,
        labour_referred,
        dispute_filed,
        chained,
        extension_approved,
        stamped_by_what_woke_it,
        placed_in_the_tree,
        link_sent_again,
        strong_signal,
        callers_second_case,
        suggested_unit,
        one_of_a_source_task,
        after_photo_to_resolve,
        red_entered_late,
    )
}


async def audit() -> None:
    """The Audit workflow (issue 27) over three closed loops: a page of two cases, then continued
    as new for the third (one page a run), each case in a batch of its own. Recorded as audit_run1
    and audit_run2."""
    from datetime import datetime, timezone

    from models.audit import AuditRequest
    from starter import audits
    from worker import create_audit_worker

    folder = Path(tempfile.mkdtemp())
    os.environ["COMPLAINTS_DATA_DIR"] = str(folder)  # the audit key: a dev key of its own
    env = await devserver.start_dev_server(data_converter(), search_attributes=KEYS, db_file=folder / "t.db")
    client = env.client
    queue = f"record-{uuid.uuid4().hex[:6]}"
    try:
        read_model = ReadModel(f"sqlite:///{folder}/recording.db", b"recording")
        since = datetime.now(timezone.utc)
        worker = create_worker(
            client, task_queue=queue, sender=RecordingSender(), calendar=WorkingCalendar(), read_model=read_model
        )
        async with worker, create_audit_worker(client, task_queue=queue + "-audit", read_model=read_model):
            client.task_queue = queue  # type: ignore[attr-defined]
            for n in range(3):
                await closed_loop(client, f"audited-{n}", None)
                await client.get_workflow_handle(f"audited-{n}").result()
            request = AuditRequest(
                since=since, until=datetime.now(timezone.utc), batch_size=1, parallel=2, pages_per_run=1
            )
            audit_id = await audits.start(client, request, task_queue=queue + "-audit")
            report = await audits.wait(client, audit_id)
            assert report.totals.cases == 3 and report.totals.chain_verified == 3, report.summary()
            runs = sorted([(e.start_time, e.run_id) async for e in client.list_workflows(f"WorkflowId = '{audit_id}'")])
            assert len(runs) == 2, runs
            for n, (_, run_id) in enumerate(runs, 1):
                history = await client.get_workflow_handle(audit_id, run_id=run_id).fetch_history()
                (OUT / f"audit_run{n}.json").write_text(history.to_json(), encoding="utf-8")
                print("recorded", f"audit_run{n}", len(history.events), "events")
    finally:
        await env.shutdown()


async def main() -> None:
    if sys.argv[1:] == ["audit"]:
        return await audit()
    env = await devserver.start_test_server(data_converter(), search_attributes=KEYS)
    queue = f"record-{uuid.uuid4().hex[:6]}"
    try:
        read_model = ReadModel(f"sqlite:///{tempfile.mkdtemp()}/recording.db", b"recording")
        os.environ["COMPLAINTS_DB_URL"] = read_model.url  # where the edge finds the districts' models
        async with create_worker(
            env.client, task_queue=queue, sender=RecordingSender(), calendar=WorkingCalendar(), read_model=read_model
        ):
            env.client.task_queue = queue  # type: ignore[attr-defined]
            env.client.read_model = read_model  # type: ignore[attr-defined]
            names = sys.argv[1:]
            unknown = [n for n in names if n not in SCENARIOS]
            if not names or unknown:
                raise SystemExit(f"name scenarios to record (unknown: {unknown}); one of {', '.join(SCENARIOS)}")
            for scenario in (SCENARIOS[n] for n in names):
                # The file's name is the case id the replay test gives it: a rule that names the
                # case (the complainant's actor id) must see the same id in replay.
                case_id = scenario.__name__
                first_run = await scenario(env.client, case_id, env)
                handle = env.client.get_workflow_handle(RECORDED_WORKFLOW.get(case_id, lambda c: c)(case_id))
                await handle.result()
                # Not describe(): the time-skipping server cannot decode a search attribute once unset.
                last = await handle.fetch_history()
                first = (
                    await env.client.get_workflow_handle(handle.id, run_id=first_run).fetch_history()
                    if first_run
                    else last
                )
                runs = (
                    [first, last]
                    if first.events[-1].HasField("workflow_execution_continued_as_new_event_attributes")
                    else [last]
                )
                for n, history in enumerate(runs, 1):
                    name = scenario.__name__ + (f"_run{n}" if len(runs) > 1 else "")
                    (OUT / f"{name}.json").write_text(history.to_json(), encoding="utf-8")
                    print("recorded", name, len(history.events), "events")
    finally:
        await env.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
