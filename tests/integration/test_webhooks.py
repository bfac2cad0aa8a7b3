"""Webhooks on a real Temporal server and worker: every event of a case delivered in order, signed,
retried with its first webhook-id, seen with the subscription identity's eyes; a receiver that
keeps failing pauses its subscription without touching the case, and `resume` delivers the rest."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from standardwebhooks.webhooks import Webhook
from temporalio.service import RPCError, RPCStatusCode

from activities.webhooks import Timing, wake
from models import Actor, CaseState, Role
from models.webhooks import workflow_id
from readmodel import ReadModel
from readmodel.webhooks import Webhooks
from sla import WorkingCalendar
from starter import act, file_complaint
from starter.codec import keyring_from_settings
from tests.support.cases import RecordingSender, actor, complaint, new_id
from tests.support.receiver import Receiver
from worker import create_worker

S = actor("supervisor")
SUPERVISOR = Actor(id="s1", role=Role.supervisor)


def loop(department: str) -> list[tuple[str, dict]]:
    D, H = actor("dispatcher"), actor("handler", department)
    return [
        ("dispatch", {"actor": D, "department": department}),
        ("record_contact", {"actor": H, "note": "已电话联系"}),
        ("resolve", {"actor": H, "resolution": "已修复"}),
        ("record_follow_up", {"actor": S, "satisfaction": "satisfied"}),
    ]


async def closed_loop(client, case_id: str, department: str, queue: str) -> CaseState:
    await file_complaint(client, case_id, {"complaint": complaint()}, task_queue=queue)
    for update, payload in loop(department):
        await act(client, case_id, update, payload)
    return await client.get_workflow_handle(case_id, result_type=CaseState).result()


async def until(check, timeout: float = 30.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("not in time")


@pytest.fixture
def hooks(read_model: ReadModel):
    store = Webhooks(read_model.engine, keyring_from_settings())
    made: list[str] = []
    yield store, made
    for name in made:  # the session's worker serves later tests: leave no subscription behind
        store.remove(name)


async def test_a_closed_loop_reaches_the_department_in_order_signed_and_retried(client, read_model, hooks):
    store, made = hooks
    department = f"住建局-{uuid.uuid4().hex[:4]}"
    receiver, auditor_receiver = Receiver(fail_first=2), Receiver()
    try:
        handler = Actor(id="housing-system", role=Role.handler, department=department)
        name, other = f"housing-{uuid.uuid4().hex[:6]}", f"audit-{uuid.uuid4().hex[:6]}"
        secret = store.add(name, handler, receiver.url, ["*"], department=department)
        store.add(other, Actor(id="a1", role=Role.auditor), auditor_receiver.url, ["resolved", "closed"], department)
        made += [name, other]
        case_id = new_id()
        final = await closed_loop(client, case_id, department, client.task_queue)
        kinds = [e.kind for e in final.timeline]
        # A subscription narrowed to a department hears of a case from the moment it is theirs,
        # from its start: everything that happened before the dispatch comes first.
        theirs = kinds
        await receiver.wait(lambda: len(receiver.delivered(case_id)) == len(theirs))
        await auditor_receiver.wait(lambda: len(auditor_receiver.delivered(case_id)) == 2)

        delivered = receiver.delivered(case_id)
        assert [r.message["type"] for r in delivered] == theirs  # in the order they happened
        assert [r.message["data"]["event"]["seq"] for r in delivered] == list(range(len(kinds)))
        for r in delivered:
            Webhook(secret).verify(r.body, r.headers)  # raises on a bad signature
            tries = [x for x in receiver.received if x.headers["webhook-id"] == r.headers["webhook-id"]]
            assert [x.status for x in tries] == [500, 500, 204]  # retried, with its first webhook-id
            assert len({x.headers["webhook-signature"] for x in tries}) >= 1
        last = delivered[-1].message
        assert last["data"]["version"] == final.version and last["data"]["case"]["status"] == "closed"
        person = last["data"]["case"]["complainant"]
        assert person["masked"] is False and person["phone"].startswith("139")  # the department's own case

        seen_by_auditor = [r.message for r in auditor_receiver.delivered(case_id)]
        assert [m["type"] for m in seen_by_auditor] == ["resolved", "closed"]
        assert seen_by_auditor[0]["data"]["case"]["complainant"]["masked"] is True
        assert "****" in seen_by_auditor[0]["data"]["case"]["complainant"]["phone"]

        attempts = store.attempts(name, 500)
        failed = [a for a in attempts if a.case_id == case_id and not a.delivered]
        assert len(failed) == 2 * len(theirs) and all(a.status_code == 500 and a.next_try_at for a in failed)
        # The receiver's 2xx comes a moment before the engine marks the event delivered.
        await until(lambda: store.owed_count(name)[0] == 0)
    finally:
        receiver.close()
        auditor_receiver.close()


async def test_a_receiver_that_answers_is_told_from_the_write_without_a_workflow(client, read_model, hooks):
    """The happy path costs one POST per event from the case's own write: no delivery workflow."""
    store, made = hooks
    department = f"城管局-{uuid.uuid4().hex[:4]}"
    receiver = Receiver()
    name = f"city-{uuid.uuid4().hex[:6]}"
    store.add(name, SUPERVISOR, receiver.url, ["*"], department=department)
    made.append(name)
    try:
        case_id = new_id()
        final = await closed_loop(client, case_id, department, client.task_queue)
        await receiver.wait(lambda: len(receiver.delivered(case_id)) == len(final.timeline))
        assert [r.message["type"] for r in receiver.delivered(case_id)] == [e.kind for e in final.timeline]
        assert all(r.status == 204 for r in receiver.received)  # each once
        with pytest.raises(RPCError) as err:
            await client.get_workflow_handle(workflow_id(name, case_id)).describe()
        assert err.value.status == RPCStatusCode.NOT_FOUND
        await until(lambda: store.owed_count(name)[0] == 0)
        assert {a.attempt for a in store.attempts(name, 100) if a.case_id == case_id} == {1}
    finally:
        receiver.close()


async def test_a_redirect_is_a_failed_try_and_is_not_followed(client, read_model, hooks):
    """A receiver cannot point the engine elsewhere: a 302 fails the try (kept with its status),
    the address it names hears nothing, and the next try goes to the registered address again."""
    store, made = hooks
    elsewhere = Receiver()
    receiver = Receiver(fail_first=1, failing_status=302, location=elsewhere.url)
    name = f"roads-{uuid.uuid4().hex[:6]}"
    store.add(name, SUPERVISOR, receiver.url, ["received"], department=None)
    made.append(name)
    try:
        case_id = new_id()
        await file_complaint(client, case_id, {"complaint": complaint()}, task_queue=client.task_queue)
        await receiver.wait(lambda: len(receiver.delivered(case_id)) == 1)
        assert [r.status for r in receiver.received if r.message["data"]["case_id"] == case_id] == [302, 204]
        assert elsewhere.received == []
        await until(lambda: store.owed_count(name)[0] == 0)
        tries = sorted(
            (a.attempt, a.status_code, a.delivered) for a in store.attempts(name, 100) if a.case_id == case_id
        )
        assert tries == [(1, 302, False), (2, 204, True)]
    finally:
        receiver.close()
        elsewhere.close()


async def test_a_receiver_down_too_long_pauses_its_subscription_and_resume_delivers_the_rest(
    env, client, read_model, hooks, monkeypatch, tmp_path
):
    """A worker whose pause-after is two seconds: the receiver answers 500 to everything, the case
    closes regardless, the subscription pauses, events stay owed; resumed, all arrive in order."""
    store, made = hooks
    monkeypatch.setenv("COMPLAINTS_WEBHOOK_PAUSE_AFTER", "2")
    queue = f"webhooks-{uuid.uuid4().hex[:6]}"
    worker = create_worker(
        env.client, task_queue=queue, sender=RecordingSender(), calendar=WorkingCalendar(), read_model=read_model
    )
    department = f"水务局-{uuid.uuid4().hex[:4]}"
    receiver = Receiver()
    receiver.down = True
    name = f"water-{uuid.uuid4().hex[:6]}"
    store.add(name, Actor(id="s1", role=Role.supervisor), receiver.url, ["*"], department=department)
    made.append(name)
    try:
        async with worker:
            case_id = new_id()
            final = await closed_loop(env.client, case_id, department, queue)
            assert final.status.value == "closed"  # the case never waited for the receiver
            await until(lambda: store.get(name).paused_at is not None)
            assert "failed for" in (store.get(name).paused_reason or "")
            owed = final.timeline
            assert store.owed_count(name)[0] == len(owed)
            receiver.down = False
            cases = store.resume(name)
            assert cases == [case_id]
            await wake(env.client, queue, Timing(), [name], case_id)
            await receiver.wait(lambda: len(receiver.delivered(case_id)) == len(owed))
            assert [r.message["type"] for r in receiver.delivered(case_id)] == [e.kind for e in owed]
    finally:
        receiver.close()
