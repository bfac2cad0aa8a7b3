"""Disputes between people (issue 25) on a real Temporal server (the time-skipping one, so the
legal clocks can run their days): mediation to an agreement, its fulfilment and its window for
judicial confirmation, referral when the term runs out, withdrawal, and who may act."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest
from temporalio.client import Client

from models import CaseState, CaseStatus
from starter import act, file_complaint, state
from starter.cases import Forbidden, Rejected
from tests.support.cases import RecordingSender, actor, complaint, milestone, new_id

D, S = actor("dispatcher"), actor("supervisor")
COMMUNITY = actor("community", "塘家社区")
MEDIATOR = {"id": "m1", "role": "mediator", "department": "虹姐调解工作室"}
STRANGER = {"id": "m2", "role": "mediator", "department": "凤凰街道人民调解委员会"}
ASSIGN = {"actor": S, "mediator": {"id": "m1", "name": "虹姐", "organisation": "虹姐调解工作室"}}


def parties(kind_of_respondent: str = "李先生") -> list[dict]:
    return [
        {"side": "applicant", "name": "陈女士", "phone": "13900000001"},
        {"side": "respondent", "name": kind_of_respondent, "phone": "13900000002"},
    ]


async def a_dispute(client: Client, kind: str = "tenancy", title: str = "房东断水断电") -> str:
    case_id = new_id()
    await file_complaint(client, case_id, {"complaint": complaint(title=title)}, task_queue=client.task_queue)
    await act(client, case_id, "start_mediation", {"actor": COMMUNITY, "kind": kind, "parties": parties()})
    await act(client, case_id, "assign_mediator", ASSIGN)
    return case_id


def kinds(s: CaseState) -> list[str]:
    return [e.kind for e in s.timeline]


async def test_the_landlord_who_cut_the_water_mediated_on_the_spot_to_an_oral_agreement_honoured(
    client, env, sender: RecordingSender
):
    """现调、现决 (002): on-site mediation the same day, an oral agreement, water and power back
    within 24 hours, checked, and the dispute settled and closed."""
    case_id = await a_dispute(client)
    await sender.wait_for(case_id, "mediator:m1", "mediation")
    now = await env.get_current_time()
    await act(client, case_id, "schedule_session", {"actor": MEDIATOR, "at": (now + timedelta(hours=2)).isoformat(),
                                                   "place": "东门街道虹姐调解工作室"})  # fmt: skip
    for party in ("party:1", "party:2"):  # less than a day ahead: each party is reminded at once
        await sender.wait_for(case_id, party, "mediation")
    reminder = next(n for n in sender.notices if n.case_id == case_id and n.recipient == "party:2")
    assert reminder.address == "13900000002" and reminder.template == "session_reminder"
    await act(client, case_id, "record_session", {"actor": MEDIATOR, "attended": [1, 2], "note": "双方到场"})
    due = (now + timedelta(hours=24)).isoformat()
    agreed = await act(
        client,
        case_id,
        "record_agreement",
        {"actor": MEDIATOR, "form": "oral", "terms": "房东即日恢复供水供电，租户按期交租",
         "obligations": [{"party": 2, "what": "恢复供水供电", "due_at": due}]},
    )  # fmt: skip
    assert agreed.status == CaseStatus.agreed
    assert [e.kind for e in agreed.timeline] == ["agreement_reached"]  # only what this update added
    s = await state(client, case_id)
    assert s.dispute and s.dispute.agreement and s.dispute.agreement.confirmation == "not_needed"  # oral
    assert milestone(s, "mediation").outcome == "met"
    assert not s.open_milestones("confirmation")
    done = await act(client, case_id, "record_fulfilment",
                     {"actor": MEDIATOR, "obligation": 1, "honoured": True, "note": "已恢复供水供电"})  # fmt: skip
    assert done.status == CaseStatus.closed
    s = await state(client, case_id)
    assert kinds(s)[-3:] == ["fulfilment_checked", "settled", "closed"]
    assert not s.open_milestones()  # nothing stays promised on a closed case


async def test_a_labour_dispute_without_agreement_after_15_days_is_referred_to_arbitration(
    client, env, sender: RecordingSender
):
    """劳动争议调解仲裁法 第十四条: 15 days from the application, no agreement, and it goes to
    arbitration; the applicant is told the limitation's end (第二十七条: a year from the application)."""
    case_id = await a_dispute(client, "labour", "工厂拖欠三个月工资")
    s = await state(client, case_id)
    term = milestone(s, "mediation")
    assert term.due_at - term.anchor_at == timedelta(days=15) and term.duration == "15 days"
    await env.sleep(term.due_at - await env.get_current_time() + timedelta(minutes=1))
    handle = client.get_workflow_handle(case_id, result_type=CaseState)
    final = await handle.result()
    assert final.status == CaseStatus.referred
    assert "warning" in kinds(final) and "breach" in kinds(final)  # the mediator and community were warned
    referred = next(e for e in final.timeline if e.kind == "referred")
    assert referred.detail["road"] == "labour_arbitration" and referred.actor is None
    applied = final.dispute.started_at.date() if final.dispute else date.min
    assert referred.detail["limitation_ends"] == applied.replace(year=applied.year + 1).isoformat()
    await sender.wait_for(case_id, "party:1", "mediation")
    told = [n for n in sender.notices if n.case_id == case_id and n.template == "referred_labour"]
    assert [n.recipient for n in told] == ["party:1"] and told[0].address == "13900000001"  # the applicant only
    warned = {
        n.recipient
        for n in sender.notices
        if n.case_id == case_id and n.template == "warning" and n.params["milestone"] == "mediation"
    }
    assert warned == {"mediator:m1", "community:塘家社区"}


async def test_a_written_agreement_unconfirmed_and_not_honoured_goes_back_to_mediation_then_settles(
    client, env, sender: RecordingSender
):
    """The confirmation window (人民调解法 第三十三条, 30 days) passes unapplied, reminded 7 days
    before; the fulfilment check fails, mediation reopens with a new term, a second agreement is
    honoured and the dispute settles."""
    case_id = await a_dispute(client, "property_management", "物业与业主因停车费争执")
    now = await env.get_current_time()
    written = {
        "actor": MEDIATOR,
        "form": "written",
        "terms": "物业公司40日内退还多收停车费",
        "obligations": [{"party": 2, "what": "退还多收停车费", "due_at": (now + timedelta(days=40)).isoformat()}],
    }
    await act(client, case_id, "record_agreement", written)
    s = await state(client, case_id)
    window = milestone(s, "confirmation")
    assert window.window and window.due_at - window.anchor_at == timedelta(days=30)
    assert window.warn_at == [window.due_at - timedelta(days=7)]
    await env.sleep(window.due_at - await env.get_current_time() + timedelta(minutes=1))
    s = await state(client, case_id)
    lapsed = next(e for e in s.timeline if e.kind == "confirmation_recorded")
    assert lapsed.detail == {"outcome": "not_applied", "lapsed": True} and lapsed.actor is None
    breached = [e.detail["milestone"] for e in s.timeline if e.kind == "breach"]
    assert "confirmation" not in breached  # a window that lapses is no one's failure
    reminders = [n for n in sender.notices if n.case_id == case_id and n.template == "confirmation_reminder"]
    assert sorted(n.recipient for n in reminders) == ["party:1", "party:2"]
    assert s.status == CaseStatus.agreed  # the obligation is still to be checked

    await act(client, case_id, "record_fulfilment",
              {"actor": MEDIATOR, "obligation": 1, "honoured": False, "note": "物业未退费"})  # fmt: skip
    s = await state(client, case_id)
    assert s.status == CaseStatus.mediating and kinds(s)[-1] == "mediation_reopened"
    assert len([m for m in s.milestones if m.name == "mediation"]) == 2 and s.open_milestones("mediation")
    with pytest.raises(Rejected, match="needs it agreed"):
        await act(client, case_id, "record_fulfilment",
                  {"actor": MEDIATOR, "obligation": 1, "honoured": True, "note": "n"})  # fmt: skip
    second = {**written, "form": "oral", "terms": "物业公司当场退费",
              "obligations": [{"party": 2, "what": "当场退费", "due_at": (await env.get_current_time()
                                                                      + timedelta(hours=1)).isoformat()}]}  # fmt: skip
    await act(client, case_id, "record_agreement", second)
    done = await act(client, case_id, "record_fulfilment",
                     {"actor": MEDIATOR, "obligation": 1, "honoured": True, "note": "已退"})  # fmt: skip
    assert done.status == CaseStatus.closed
    s = await state(client, case_id)
    assert s.dispute is not None and len(s.dispute.agreements) == 2


async def test_a_withdrawn_dispute_ends_and_nothing_stays_promised(client):
    case_id = await a_dispute(client, "neighbour", "楼上漏水邻里纠纷")
    ended = await act(client, case_id, "withdraw", {"actor": D, "party": 1, "reason": "双方已自行和解"})
    assert ended.status == CaseStatus.withdrawn
    final = await client.get_workflow_handle(case_id, result_type=CaseState).result()
    assert final.status == CaseStatus.withdrawn and not final.open_milestones()
    assert [e.detail.get("side") for e in final.timeline if e.kind == "withdrawn"] == ["applicant"]


async def test_a_mediator_of_another_organisation_is_refused_and_no_one_is_named_in_the_timeline(client):
    case_id = await a_dispute(client)
    session = {"at": "2030-01-01T10:00:00+08:00", "place": "调解室"}
    with pytest.raises(Forbidden, match="only its mediator \\(m1 of 虹姐调解工作室\\)"):
        await act(client, case_id, "schedule_session", {"actor": STRANGER, **session})
    await act(client, case_id, "schedule_session", {"actor": MEDIATOR, **session})  # their own may
    other = await a_dispute_without_mediator(client)
    with pytest.raises(Forbidden, match="none is assigned yet"):
        await act(client, other, "schedule_session", {"actor": MEDIATOR, **session})
    with pytest.raises(Rejected, match="assign_mediator first"):  # an agreement is signed by its mediator
        await act(client, other, "record_agreement", {"actor": S, "form": "oral", "terms": "t"})
    s = await state(client, case_id)
    text = str([e.detail for e in s.timeline])
    assert "陈女士" not in text and "13900000001" not in text  # parties' names and phones never in the timeline


async def a_dispute_without_mediator(client: Client) -> str:
    case_id = new_id()
    await file_complaint(client, case_id, {"complaint": complaint()}, task_queue=client.task_queue)
    await act(client, case_id, "start_mediation", {"actor": D, "kind": "consumer", "parties": parties("某商店")})
    return case_id


async def test_the_disputes_figures_count_agreements_fulfilment_and_referrals(client, env, read_model):
    """调解成功率 = agreements ÷ mediations concluded (a withdrawal counts neither way); 履行率 =
    honoured ÷ checks; days to agreement; referrals by road; per organisation (readmodel/disputes.py)."""
    import uuid
    from datetime import datetime, timezone

    from readmodel.disputes import dispute_figures

    org = f"测试调解室-{uuid.uuid4().hex[:6]}"
    mediator = {"id": "m7", "role": "mediator", "department": org}
    assign = {"actor": S, "mediator": {"id": "m7", "name": "调解员", "organisation": org}}
    ids = []
    for _ in range(3):
        case_id = new_id()
        await file_complaint(client, case_id, {"complaint": complaint()}, task_queue=client.task_queue)
        await act(client, case_id, "start_mediation", {"actor": D, "kind": "consumer", "parties": parties()})
        await act(client, case_id, "assign_mediator", assign)
        ids.append(case_id)
    soon = (await env.get_current_time() + timedelta(hours=2)).isoformat()
    await act(client, ids[0], "record_agreement", {"actor": mediator, "form": "oral", "terms": "退款",
              "obligations": [{"party": 2, "what": "退款", "due_at": soon}]})  # fmt: skip
    await act(client, ids[0], "record_fulfilment", {"actor": mediator, "obligation": 1, "honoured": True, "note": "n"})
    await act(client, ids[1], "refer", {"actor": mediator, "road": "civil_litigation", "note": "未达成协议"})
    await act(client, ids[2], "withdraw", {"actor": mediator, "party": 1, "reason": "撤回"})
    for case_id in ids:
        await client.get_workflow_handle(case_id).result()  # ended, and the read model written

    def mine() -> dict:
        far = datetime(2000, 1, 1, tzinfo=timezone.utc), datetime(2100, 1, 1, tzinfo=timezone.utc)
        rows = dispute_figures(read_model, since=far[0], until=far[1], by="organisation")
        return next((r.as_json() for r in rows if r.group == org), {})

    for _ in range(100):
        if mine().get("mediations") == 3 and mine().get("settled") == 1:
            break
        await asyncio.sleep(0.05)
    got = mine()
    assert {k: got[k] for k in ("mediations", "agreed", "settled", "referred", "withdrawn", "open")} == {
        "mediations": 3, "agreed": 1, "settled": 1, "referred": 1, "withdrawn": 1, "open": 0,
    }  # fmt: skip
    assert got["success_rate"] == 0.5 and got["fulfilment_rate"] == 1.0
    assert got["referrals_by_road"] == {"civil_litigation": 1} and got["days_to_agreement_p50"] is not None


async def test_a_dispute_filed_at_a_service_point_is_mediated_from_the_start(client, sender: RecordingSender):
    """信访超市, 访调一体 (003): a walk-in files the dispute as one (channel visit): acknowledged,
    mediating at once, owing no department's dispatch; then mediated to an agreement as any other."""
    case_id = new_id()
    filing = complaint(channel="visit", title="物业公司与商户租约纠纷")
    filing["dispute"] = {"kind": "property_management", "parties": parties("某物业公司"), "amount": 120000}
    await file_complaint(client, case_id, {"complaint": filing}, task_queue=client.task_queue)
    await sender.wait_for(case_id, "complainant", "acknowledgement")
    s = await state(client, case_id)
    assert s.status == CaseStatus.mediating and s.dispute is not None and s.dispute.amount == 120000
    assert sorted(m.name for m in s.milestones) == ["acknowledge", "mediation"]
    assert milestone(s, "acknowledge").outcome == "met"
    await act(client, case_id, "assign_mediator", ASSIGN)
    await act(client, case_id, "record_agreement", {"actor": MEDIATOR, "form": "oral", "terms": "续签租约"})
    final = await client.get_workflow_handle(case_id, result_type=CaseState).result()
    assert final.status == CaseStatus.closed and kinds(final)[-2:] == ["settled", "closed"]  # nothing to fulfil
