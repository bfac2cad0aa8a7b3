"""The case every part of the bench walks: one complaint, the seven updates of a closed loop, on
the engine and on the bare workflow (bench/bare.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio.client import Client

from models import (
    Actor,
    CaseInput,
    Dispatch,
    RecordContact,
    RecordFollowUp,
    RecordVerification,
    Reply,
    Resolve,
    Role,
    Satisfaction,
    SubmitOpinion,
)
from starter import act, file_complaint

ENGINE_QUEUE, BARE_QUEUE = "bench-engine", "bench-bare"

DISPATCHER = Actor(id="hotline-07", role=Role.dispatcher, department="区群众诉求服务中心")
HANDLER = Actor(id="housing-zhang", role=Role.handler, department="光明区住房和建设局")
STEPS: list[tuple[str, Any]] = [
    ("dispatch", Dispatch(actor=DISPATCHER, department="光明区住房和建设局")),
    ("record_contact", RecordContact(actor=HANDLER, note="电话联系诉求人,约定上门时间")),
    ("record_verification", RecordVerification(actor=HANDLER, findings="现场核实:井盖松动,存在安全隐患")),
    ("reply", Reply(actor=HANDLER, message="已安排维修队今日更换井盖")),
    ("submit_opinion", SubmitOpinion(actor=HANDLER, findings="井盖松动", handling="更换井盖", next_steps="一周后复查")),
    ("resolve", Resolve(actor=HANDLER, resolution="井盖已更换")),
    ("record_follow_up", RecordFollowUp(actor=DISPATCHER, satisfaction=Satisfaction.satisfied, note="诉求人表示满意")),
]


def complaint(n: int, *, received_at: datetime | None = None) -> CaseInput:
    return CaseInput.model_validate(
        {
            "complaint": {
                "channel": "hotline",
                "complainant": {"name": "王女士", "phone": f"139{n:08d}"},  # one person each: no repeats
                "category": "housing",
                "title": "小区井盖松动",
                "description": "小区3栋门口井盖松动,夜间行人容易踩空。",
                "location": {"district": "光明区", "street": "凤凰街道", "community": "塘家社区"},
                "received_at": received_at.isoformat() if received_at else None,
            }
        }
    )


async def engine_case(client: Client, case_id: str, n: int) -> None:
    await file_complaint(client, case_id, complaint(n), task_queue=ENGINE_QUEUE)
    for update, payload in STEPS:
        await act(client, case_id, update, payload)
    await client.get_workflow_handle(case_id).result()


async def bare_case(client: Client, case_id: str, n: int) -> None:
    handle = await client.start_workflow("BareCase", complaint(n), id=case_id, task_queue=BARE_QUEUE)
    for update, payload in STEPS:
        await handle.execute_update(update, payload)
    await handle.result()
