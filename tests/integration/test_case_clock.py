"""A case's changes are stamped with the time of what woke it (edition 6, workflows/clock.py):
its start, an update, a signal, its alarm; never the moment a local activity finished. Replay
can hand back local activities that ran side by side in one activation under the latest finish,
so a time read after one could differ in replay and break the case's hash chain: the demo's
demo-water-5 (deadlines already passed when it starts) once failed its audit in CI that way."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta, timezone

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory

from activities import audit
from models import CaseState
from models.editions import Edition
from models.records import CaseSnapshot, RepeatMatch, RepeatQuery
from readmodel import ReadModel
from sla import WorkingCalendar
from starter import act, file_complaint, state
from tests.support.cases import TEST_PHONE_KEY, RecordingSender, actor, complaint, eventually, new_id
from worker import audit_replayer, create_worker


class SlowReadModel(ReadModel):
    """The read model on a busy database: each write takes a while, beside the case's planning."""

    def record(self, snapshot: CaseSnapshot):  # type: ignore[no-untyped-def]
        time.sleep(0.3)
        return super().record(snapshot)


class SlowLookUp(ReadModel):
    """The look-up for an earlier case takes a second: the case's first task runs that long."""

    def find_earlier_case(self, query: RepeatQuery) -> RepeatMatch | None:
        time.sleep(1.0)
        return super().find_earlier_case(query)


def _task_times(history: WorkflowHistory) -> list[datetime]:
    started = EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED
    return [e.event_time.ToDatetime(tzinfo=timezone.utc) for e in history.events if e.event_type == started]


def _one_of(at: datetime, times: list[datetime]) -> bool:
    return any(abs(at - t) < timedelta(microseconds=2) for t in times)  # ns in history, µs in the case


async def _replayed(history: WorkflowHistory) -> CaseState:
    result = await audit_replayer().replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
    return audit._LIVE.pop(history.run_id).state()


async def _case_beside_a_slow_write(client: Client, queue: str) -> tuple[CaseState, WorkflowHistory]:
    case_id = new_id()
    # Taken in 47 minutes ago: the 10-minute acknowledgement has passed and dispatch is near.
    taken_in = (datetime.now(timezone.utc) - timedelta(minutes=47)).isoformat()
    await file_complaint(client, case_id, {"complaint": complaint(received_at=taken_in)}, task_queue=queue)
    try:
        # The warning first (its moment passed at filing, so it comes on the shortest timer): a
        # dispatch that raced ahead of it under load would leave nothing to warn of.
        await eventually(client, case_id, lambda s: any(e.kind == "warning" for e in s.timeline))
        await act(client, case_id, "dispatch", {"actor": actor("dispatcher", "区诉求中心"), "department": "住建局"})
        live = await state(client, case_id)
        return live, await client.get_workflow_handle(case_id).fetch_history()
    finally:
        # Time skipping is global to the session's server: no open case may outlive its worker.
        await client.get_workflow_handle(case_id).terminate("the test is done with it")


async def test_changes_are_stamped_with_what_woke_the_case_and_replay_to_the_same_times(env, tmp_path):
    queue = f"clock-{uuid.uuid4().hex[:8]}"
    slow = SlowReadModel(f"sqlite:///{tmp_path / 'complaints.db'}", TEST_PHONE_KEY)
    worker = create_worker(
        env.client, task_queue=queue, sender=RecordingSender(), calendar=WorkingCalendar(), read_model=slow
    )
    async with worker:
        live, history = await _case_beside_a_slow_write(env.client, queue)
    assert live.edition >= Edition.stable_clock
    kinds = [e.kind for e in live.timeline]
    assert {"warning", "breach", "acknowledged", "dispatched"} <= set(kinds), kinds
    # Every change after the complaint itself is stamped with the start of a workflow task (the
    # case's start, or the update's), although each came after a local activity had finished.
    times = _task_times(history)
    late = [(e.kind, e.at) for e in live.timeline[1:] if not _one_of(e.at, times)]
    assert not late, (late, times)
    replayed = await _replayed(history)
    assert [(e.kind, e.at) for e in replayed.timeline] == [(e.kind, e.at) for e in live.timeline]
    assert replayed.chain_head == live.chain_head


async def test_a_warning_due_while_a_local_activity_ran_comes_on_a_timer_of_its_own(env, tmp_path):
    """The dispatch warning (75 % of the hour) falls half a second after the case starts, while
    its one-second look-up runs: workflow.now() is past it when the case next sleeps, the case's
    clock is not. It gets the shortest timer, rings in a task of its own and is stamped with that
    task's time; a wake within the same task would stamp it with the look-up's finish instead."""
    queue = f"clock-{uuid.uuid4().hex[:8]}"
    slow = SlowLookUp(f"sqlite:///{tmp_path / 'complaints.db'}", TEST_PHONE_KEY)
    worker = create_worker(
        env.client, task_queue=queue, sender=RecordingSender(), calendar=WorkingCalendar(), read_model=slow
    )
    async with worker:
        case_id = new_id()
        taken_in = datetime.now(timezone.utc) - timedelta(minutes=45) + timedelta(seconds=0.5)
        filing = {"complaint": complaint(received_at=taken_in.isoformat())}
        await file_complaint(env.client, case_id, filing, task_queue=queue)
        try:
            warned = await eventually(
                env.client, case_id, lambda s: any(e.kind == "warning" for e in s.timeline), timeout=15
            )
            history = await env.client.get_workflow_handle(case_id).fetch_history()
        finally:
            await env.client.get_workflow_handle(case_id).terminate("the test is done with it")
    warning = next(e for e in warned.timeline if e.kind == "warning")
    dispatch = next(m for m in warned.milestones if m.name == "dispatch")
    assert warning.detail["milestone"] == "dispatch" and warning.at >= dispatch.warn_at[0]
    assert _one_of(warning.at, _task_times(history))
    fired = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_TIMER_FIRED]
    assert fired, "the warning came on a timer"
