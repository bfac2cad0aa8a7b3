"""The workflow sends kinds and parameters, and they come out as the Chinese texts people read."""

from __future__ import annotations

from starter import act, file_complaint
from tests.support.cases import actor, complaint, new_id


async def test_the_case_sends_kinds_and_parameters_and_people_read_chinese(client, sender):
    case_id = new_id()
    await file_complaint(client, case_id, {"complaint": complaint(title="井盖松动")}, task_queue=client.task_queue)
    await sender.wait_for(case_id, "complainant", "acknowledgement")
    await act(client, case_id, "dispatch", {"actor": actor("dispatcher"), "department": "光明区城市管理和综合执法局"})
    await sender.wait_for(case_id, "department:光明区城市管理和综合执法局", "assignment")
    texts = {n.recipient: n.text for n in sender.notices if n.case_id == case_id}
    assert texts["complainant"].startswith("【光明区群众诉求服务】您反映的“井盖松动”已受理，案件编号" + case_id)
    assert (
        texts["department:光明区城市管理和综合执法局"]
        == f"【派单】案件{case_id}已派至光明区城市管理和综合执法局，请于时限内电话联系诉求人、核实并办理。"
    )
    notices = [n for n in sender.notices if n.case_id == case_id]
    assert {n.template for n in notices} == {"acknowledgement", "assignment"}
    assert all(n.params["case_id"] == case_id for n in notices)
