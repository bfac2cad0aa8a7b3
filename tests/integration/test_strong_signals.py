"""Strong signals (强信息, issue 40) on a real time-skipping server: a case filed with a threat
in its words is red, its district's duty leader is told at once, and a leader of the district owes
a response within 30 minutes; a group about to act is orange; a prevention notice is nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from models import CaseState
from starter import Forbidden, InvalidInput, Rejected, UnknownCase, act, file_complaint, state
from tests.support.cases import actor, complaint, eventually, kinds, milestone, new_id, unique_phone

THREAT = "物业拖了三个月不修，再不解决我就从楼上跳下去"  # the words
GROUP = "讨薪无果，几十名工人准备明天去区政府门口拉横幅"
PREVENTION = "社区开展防止轻生宣传活动，宣传栏的玻璃碎了没人修"
ROSTER = {"13800003111", "13800003112"}  # 光明区's duty leaders (runtime/config/jurisdictions.toml)
SUPERVISOR = actor("supervisor", "区信访局")
DISTRICT_LEADER = {"id": "duty-gm-day", "role": "leader", "scope": "440311"}


async def _file(client, description: str, **overrides) -> str:
    case_id = new_id()
    await file_complaint(
        client, case_id, {"complaint": complaint(description=description, **overrides)}, task_queue=client.task_queue
    )
    await eventually(client, case_id, lambda s: s.accepted())  # its deadlines planned, respond among them
    return case_id


async def test_a_threat_to_life_is_red_the_duty_leader_is_told_and_the_response_is_owed_in_30_minutes(
    client, env, sender
):
    case_id = await _file(client, THREAT)
    s = await state(client, case_id)
    assert s.risk is not None and s.risk.level == "red"
    assert [(r.rule, r.reason) for r in s.risk.reasons] == [("life", "扬言轻生")]
    assert kinds(s)[:3] == ["received", "risk_assessed", "risk_alert"]
    respond = milestone(s, "respond")
    assert respond.due_at == s.received_at + timedelta(minutes=30)

    await sender.wait_for(case_id, next_duty(sender, case_id), "risk_alert")
    alert = next(n for n in sender.notices if n.case_id == case_id and n.kind.value == "risk_alert")
    assert alert.address in ROSTER and alert.recipient.startswith("duty:duty-gm-")
    assert alert.text == f"【强信息预警】红色：案件{case_id}（扬言轻生）。请30分钟内响应并在系统中记录。"

    await env.sleep(timedelta(minutes=31))
    s = await state(client, case_id)
    assert milestone(s, "respond").breached and "respond" in s.breaches

    # Only a leader of the district answers: another district's does not even see the case, a
    # street's leader is refused, naming who may.
    with pytest.raises(UnknownCase):
        await act(client, case_id, "record_response", {"actor": {**DISTRICT_LEADER, "scope": "440303"}, "note": "n"})
    street_leader = {"id": "L-fh", "role": "leader", "scope": "440311004"}
    with pytest.raises(Forbidden, match="only a leader of district 440311"):
        await act(client, case_id, "record_response", {"actor": street_leader, "note": "n"})
    s = await act(
        client, case_id, "record_response", {"actor": DISTRICT_LEADER, "note": "已到场劝解", "mode": "on_site"}
    )
    done = milestone(s, "respond")
    assert done.done_at is not None and done.outcome == "late"
    assert s.timeline[-1].kind == "risk_responded" and s.timeline[-1].detail["mode"] == "on_site"


def next_duty(sender, case_id: str) -> str:
    """The recipient the alert went to (who is on duty depends on the test server's clock)."""
    for n in sender.notices:
        if n.case_id == case_id and n.kind.value == "risk_alert":
            return n.recipient
    return "duty:(not yet sent)"


async def test_a_group_about_to_act_is_orange_and_owes_no_leaders_response(client):
    case_id = await _file(client, GROUP, category="labour", title="工资被拖欠")
    s = await state(client, case_id)
    assert s.risk is not None and s.risk.level == "orange"
    assert {r.rule for r in s.risk.reasons} == {"group_action", "collective_act"}
    assert "risk_alert" not in kinds(s) and not [m for m in s.milestones if m.name == "respond"]
    with pytest.raises(Rejected, match="not red"):
        await act(client, case_id, "record_response", {"actor": DISTRICT_LEADER, "note": "n"})


async def test_a_prevention_notice_is_no_strong_signal(client):
    s = await state(client, await _file(client, PREVENTION, title="宣传栏玻璃碎了"))
    assert s.risk is not None and s.risk.level is None and s.risk.reasons == []
    assert "risk_assessed" not in kinds(s)


async def test_a_supervisor_raises_a_case_to_red_and_lowers_it_again(client, sender):
    case_id = await _file(client, "楼道灯坏了")
    s = await act(client, case_id, "reassess_risk", {"actor": SUPERVISOR, "level": "red", "reason": "来电称已站在楼顶"})
    assert s.risk.level == "red" and s.risk.reasons[0].reason == "来电称已站在楼顶"
    assert kinds(s)[-2:] == ["risk_reassessed", "risk_alert"] and milestone(s, "respond").open
    await sender.wait_for(case_id, next_duty(sender, case_id), "risk_alert")
    with pytest.raises(Rejected, match="already red"):
        await act(client, case_id, "reassess_risk", {"actor": SUPERVISOR, "level": "red", "reason": "again"})
    with pytest.raises(Forbidden, match="only a supervisor"):
        await act(client, case_id, "reassess_risk", {"actor": actor("dispatcher"), "level": None, "reason": "r"})

    s = await act(client, case_id, "reassess_risk", {"actor": SUPERVISOR, "level": "yellow", "reason": "已核实无危险"})
    assert s.risk.level == "yellow" and milestone(s, "respond").outcome == "not owed"
    assert s.timeline[-1].detail["previous_level"] == "red"


async def test_a_caller_back_with_a_threat_raises_the_open_case_it_merges_into(client, read_model, sender):
    phone = unique_phone()
    first = await _file(client, "楼上漏水到我家", complainant={"name": "陈女士", "phone": phone})
    s = await act(client, first, "dispatch", {"actor": actor("dispatcher"), "department": "光明区住房和建设局"})
    await eventually(client, first, lambda s: read_model.case(first) and read_model.case(first).version == s.version)
    again = await _file(client, THREAT, complainant={"name": "陈女士", "phone": phone})
    merged = await client.get_workflow_handle(again, result_type=CaseState).result()
    assert merged.merged_into == first and merged.risk.level == "red"
    s = await eventually(client, first, lambda s: "risk_alert" in kinds(s))
    assert s.risk is not None and s.risk.level == "red"
    assessed = next(e for e in s.timeline if e.kind == "risk_assessed")
    assert assessed.detail["repeat_case_id"] == again
    assert "risk_alert" in kinds(s) and milestone(s, "respond").open
    await sender.wait_for(first, next_duty(sender, first), "risk_alert")


def test_a_client_may_not_send_its_own_risk():
    from starter import validate_case_input

    with pytest.raises(InvalidInput, match="risk: set by the engine"):
        validate_case_input({"complaint": complaint(), "risk": {"level": "red"}})


def test_the_alert_is_a_webhook_event_a_subscription_may_name():
    from models.webhooks import parse_events, wants

    assert parse_events("risk_alert,risk_responded") == ["risk_alert", "risk_responded"]
    assert wants(["risk_alert"], "risk_alert") and not wants(["risk_alert"], "risk_assessed")
