"""The engine on the real Temporal dev server (the embedded default), not the test server."""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from models import CaseState
from readmodel import ReadModel
from runtime import devserver
from sla import WorkingCalendar
from starter import Rejected, act, data_converter, file_and_act, file_complaint, state
from tests.support.cases import TEST_PHONE_KEY, RecordingSender, actor, complaint, eventually, kinds, milestone, new_id
from tests.support.processes import free_port
from worker import create_worker
from workflows import WORKFLOWS
from workflows.search_attributes import KEYS

HANDLER = actor("handler", "区教育局")


@pytest.fixture(scope="module")
async def dev(tmp_path_factory) -> AsyncIterator[tuple[Client, RecordingSender]]:
    db = tmp_path_factory.mktemp("dev") / "temporal.db"
    env: WorkflowEnvironment = await devserver.start_dev_server(data_converter(), search_attributes=KEYS, db_file=db)
    sender = RecordingSender()
    queue = f"complaints-{uuid.uuid4().hex[:8]}"
    read_model = ReadModel(f"sqlite:///{db.parent / 'complaints.db'}", TEST_PHONE_KEY)
    try:
        async with create_worker(
            env.client, task_queue=queue, sender=sender, calendar=WorkingCalendar(), read_model=read_model
        ):
            env.client.task_queue = queue  # type: ignore[attr-defined]
            yield env.client, sender
    finally:
        await env.shutdown()


async def test_closed_loop_on_the_dev_server_replays(dev):
    client, sender = dev
    case_id = new_id()
    await file_complaint(client, case_id, {"complaint": complaint(category="education")}, task_queue=client.task_queue)
    for update, payload in [
        ("dispatch", {"actor": actor("dispatcher"), "department": "区教育局"}),
        ("record_contact", {"actor": HANDLER, "note": "电话联系"}),
        ("record_verification", {"actor": HANDLER, "findings": "属实"}),
        ("reply", {"actor": HANDLER, "message": "答复"}),
        ("submit_opinion", {"actor": HANDLER, "findings": "f", "handling": "h", "next_steps": "n"}),
        ("resolve", {"actor": HANDLER, "resolution": "已入学"}),
        ("record_follow_up", {"actor": actor("dispatcher"), "satisfaction": "satisfied"}),
    ]:
        await act(client, case_id, update, payload)
    handle = client.get_workflow_handle(case_id, result_type=CaseState)
    result = await handle.result()
    assert result.status.value == "closed" and result.breaches == []
    history = await handle.fetch_history()
    await Replayer(workflows=WORKFLOWS, data_converter=data_converter()).replay_workflow(history)


async def settled_history_length(handle) -> int:
    """The history's length once the case's own background work (notices, the read model, a
    workflow task they wake) is done: unchanged for two seconds."""
    import asyncio

    lengths = [-1]
    for _ in range(150):
        lengths.append(len((await handle.fetch_history()).events))
        if len(lengths) > 10 and len(set(lengths[-10:])) == 1:
            return lengths[-1]
        await asyncio.sleep(0.2)
    raise AssertionError(f"history never settled: {lengths}")


async def test_rejected_update_leaves_no_event_at_all(dev):
    client, _ = dev
    case_id = new_id()
    await file_complaint(client, case_id, {"complaint": complaint()}, task_queue=client.task_queue)
    await eventually(client, case_id, lambda s: milestone(s, "acknowledge").done_at)
    handle = client.get_workflow_handle(case_id)
    before = await settled_history_length(handle)
    version = (await state(client, case_id)).version
    for update, payload in [
        ("resolve", {"actor": HANDLER, "resolution": "r"}),
        ("dispatch", {"actor": HANDLER, "department": "x"}),
        ("escalate", {"actor": HANDLER, "reason": "r"}),
    ]:
        with pytest.raises(Rejected):
            await act(client, case_id, update, payload)
    # Nothing the update did is in history: no update event, no command. (The server may still
    # keep an empty workflow task of its own, with no command in it: seen on the dev server when
    # the case's first notices were slow, whatever the updates did.)
    added = [EventType.Name(e.event_type) for e in (await handle.fetch_history()).events[before:]]
    assert not [kind for kind in added if "WORKFLOW_TASK" not in kind], added
    after = await state(client, case_id)
    assert kinds(after) == ["received", "acknowledged"] and after.version == version


async def test_update_in_the_same_task_as_the_start(dev):
    client, _ = dev
    case_id = new_id()
    s = await file_and_act(
        client,
        case_id,
        {"complaint": complaint()},
        "dispatch",
        {"actor": actor("dispatcher"), "department": "住建局"},
        task_queue=client.task_queue,
    )
    assert s.status.value == "dispatched" and s.department == "住建局"
    # The acceptance clocks exist and the dispatch milestone was met, though the update came first.
    assert milestone(s, "dispatch").done_at is not None and not milestone(s, "dispatch").breached
    assert [m.name for m in s.milestones][:3] == ["acknowledge", "dispatch", "resolve"]
    history = await client.get_workflow_handle(case_id).fetch_history()
    first_task_updates = [
        e
        for e in history.events[:8]
        if "UPDATE_ACCEPTED" in str(e.event_type) or e.HasField("workflow_execution_update_accepted_event_attributes")
    ]
    assert first_task_updates, "the update should be accepted in the first workflow task"
    # Filing again with an update goes to the same case; no second case is started.
    s = await file_and_act(
        client,
        case_id,
        {"complaint": complaint()},
        "record_contact",
        {"actor": actor("handler", "住建局"), "note": "n"},
        task_queue=client.task_queue,
    )
    assert s.status.value == "handling"
    again = await file_complaint(client, case_id, {"complaint": complaint()}, task_queue=client.task_queue)
    assert not again.created


async def test_rebuild_read_model_from_temporal(dev, tmp_path):
    from starter.rebuild import rebuild_read_model

    client, _ = dev
    closed_id, open_id = new_id(), new_id()
    await file_complaint(client, closed_id, {"complaint": complaint()}, task_queue=client.task_queue)
    for update, payload in [
        ("dispatch", {"actor": actor("dispatcher"), "department": "区教育局"}),
        ("record_contact", {"actor": HANDLER, "note": "n"}),
        ("resolve", {"actor": HANDLER, "resolution": "r"}),
        ("record_follow_up", {"actor": actor("dispatcher"), "satisfaction": "satisfied"}),
    ]:
        await act(client, closed_id, update, payload)
    closed = await client.get_workflow_handle(closed_id, result_type=CaseState).result()
    await file_complaint(client, open_id, {"complaint": complaint()}, task_queue=client.task_queue)
    opened = await act(client, open_id, "dispatch", {"actor": actor("dispatcher"), "department": "区教育局"})

    lost = ReadModel(f"sqlite:///{tmp_path / 'rebuilt.db'}", TEST_PHONE_KEY)  # the database was lost
    report = None
    for _ in range(50):  # visibility lists a new case within moments
        report = await rebuild_read_model(client, lost)
        if {closed_id, open_id} <= set(report.restored):
            break
    assert {closed_id, open_id} <= set(report.restored) and not report.skipped
    assert "restored" in str(report)
    assert lost.case(closed_id).status == "closed" and lost.case(open_id).status == "dispatched"
    assert [e.kind for e in lost.events(closed_id)] == kinds(closed)
    assert len(lost.milestones(open_id)) >= len(opened.milestones)
    assert lost.case(open_id).complainant_masked and lost.case(open_id).complainant_hash


async def test_a_dev_server_that_cannot_take_the_search_attributes_is_stopped(tmp_path):
    # "WorkflowType" is one of the server's own attributes: registering it is refused. The caller
    # never gets the server to stop, so start_dev_server must stop it itself.
    port = free_port()
    with pytest.raises(RPCError):
        await devserver.start_dev_server(
            data_converter(),
            db_file=tmp_path / "temporal.db",
            port=port,
            search_attributes=[SearchAttributeKey.for_keyword("WorkflowType")],
        )
    with socket.socket() as s, pytest.raises(ConnectionRefusedError):
        s.connect(("127.0.0.1", port))


async def test_the_worker_schedules_the_anchor_the_unit_models_and_the_similar_watch_once(dev):
    """Made once, in Beijing time; a second worker's start leaves them as they are."""
    from worker import (
        ANCHOR_SCHEDULE,
        SIMILAR_SCHEDULE,
        UNIT_MODEL_SCHEDULE,
        keep_anchoring,
        keep_training,
        keep_watching,
    )

    client, _ = dev
    for _ in range(2):
        await keep_anchoring(client, "audit")
        await keep_training(client, "audit")
        await keep_watching(client, "audit")
    training = await client.get_schedule_handle(UNIT_MODEL_SCHEDULE).describe()
    [calendar] = training.schedule.spec.calendars
    assert (calendar.hour[0].start, calendar.minute[0].start) == (2, 30)
    assert training.schedule.spec.time_zone_name == "Asia/Shanghai"
    assert training.schedule.action.workflow == "TrainUnitModels"  # type: ignore[union-attr]
    assert (await client.get_schedule_handle(ANCHOR_SCHEDULE).describe()).schedule.action.workflow == "AnchorHeads"  # type: ignore[union-attr]
    watching = (await client.get_schedule_handle(SIMILAR_SCHEDULE).describe()).schedule
    assert watching.action.workflow == "WatchSimilarAlerts"  # type: ignore[union-attr]
    assert watching.spec.intervals[0].every.total_seconds() == 600
