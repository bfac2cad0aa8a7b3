"""Faults on the real dev server with real worker processes: nothing lost, nothing doubled."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from temporalio.client import Client

from models import CaseState
from starter import act, data_converter, file_complaint, state
from tests.support.cases import complaint, eventually, milestone
from tests.support.postgres import postgres_server
from tests.support.processes import CLOSE, D, H, S, WorkerProcess, free_port, read_model, worker_env


def due_in(seconds: float) -> str:
    """A received_at that leaves the one-hour dispatch clock `seconds` to run."""
    return (datetime.now(timezone.utc) - timedelta(hours=1) + timedelta(seconds=seconds)).isoformat()


async def close_case(client: Client, case_id: str) -> CaseState:
    for update, payload in CLOSE:
        await act(client, case_id, update, payload)
    return await client.get_workflow_handle(case_id, result_type=CaseState).result()


async def test_sigkill_mid_case_then_another_worker(server, tmp_path):
    variables = worker_env(server, tmp_path)
    queue = variables["COMPLAINTS_TASK_QUEUE"]
    first = WorkerProcess(variables, tmp_path / "w1.log")
    case_id = f"kill-{uuid.uuid4().hex[:6]}"
    await file_complaint(server, case_id, {"complaint": complaint(received_at=due_in(6))}, task_queue=queue)
    await eventually(server, case_id, lambda s: milestone(s, "acknowledge").done_at)
    first.proc.kill()  # SIGKILL: no shutdown at all
    assert first.proc.wait(timeout=10) == -signal.SIGKILL
    await asyncio.sleep(8)  # the dispatch deadline passes with no worker alive
    second = WorkerProcess(variables, tmp_path / "w2.log")
    try:
        s = await eventually(server, case_id, lambda s: "dispatch" in s.breaches, timeout=30)
        assert s.breaches.count("dispatch") == 1
        assert [e.detail.get("milestone") for e in s.timeline if e.kind == "breach"].count("dispatch") == 1
        final = await close_case(server, case_id)
        assert final.status.value == "closed" and final.breaches.count("dispatch") == 1
        breach_notices = [
            o for o in read_model(variables).outbox(case_id) if o.kind == "breach" and "的派单已于" in o.text
        ]
        assert len(breach_notices) == 1 and breach_notices[0].sent_at  # told once, not twice
    finally:
        assert second.stop(signal.SIGTERM) == 0


async def test_dev_server_restart_keeps_open_cases_and_timers(tmp_path):
    variables = {k: v for k, v in os.environ.items() if k != "TEMPORAL_ADDRESS"}
    port = free_port()
    variables.update(
        COMPLAINTS_DATA_DIR=str(tmp_path / "data"),
        COMPLAINTS_DEV_PORT=str(port),
        COMPLAINTS_DEV_UI_PORT=str(free_port()),
        PYTHONUNBUFFERED="1",
    )
    worker = WorkerProcess(variables, tmp_path / "w1.log")  # embedded dev server on a SQLite file
    client = await Client.connect(f"localhost:{port}", data_converter=data_converter())
    soon, later = f"soon-{uuid.uuid4().hex[:6]}", f"later-{uuid.uuid4().hex[:6]}"
    await file_complaint(client, soon, {"complaint": complaint(received_at=due_in(8))})
    await file_complaint(client, later, {"complaint": complaint()})
    await act(client, later, "dispatch", {"actor": D, "department": "住建局"})
    before = await eventually(client, later, lambda s: milestone(s, "acknowledge").done_at)
    await eventually(client, soon, lambda s: milestone(s, "acknowledge").done_at)
    assert worker.stop(signal.SIGTERM) == 0  # the worker and its dev server go down
    await asyncio.sleep(10)  # `soon`'s deadline passes while everything is down
    worker = WorkerProcess(variables, tmp_path / "w2.log")
    try:
        client = await Client.connect(f"localhost:{port}", data_converter=data_converter())
        s = await eventually(client, soon, lambda s: "dispatch" in s.breaches, timeout=30)
        # received an hour ago: the 10-minute acknowledgement was late before the restart, and the
        # dispatch deadline that passed while everything was down is recorded once
        assert s.breaches == ["acknowledge", "dispatch"]
        after = await state(client, later)
        assert [(m.name, m.due_at) for m in after.milestones] == [(m.name, m.due_at) for m in before.milestones]
        assert (await close_case(client, soon)).status.value == "closed"
        assert (await close_case_from(client, later)).status.value == "closed"
    finally:
        assert worker.stop(signal.SIGTERM) == 0
    assert "Traceback" not in (tmp_path / "w2.log").read_text()


async def close_case_from(client: Client, case_id: str) -> CaseState:
    for update, payload in CLOSE[1:]:
        await act(client, case_id, update, payload)
    return await client.get_workflow_handle(case_id, result_type=CaseState).result()


async def test_read_model_outage_cases_go_on_nothing_lost(server, tmp_path):
    with postgres_server() as pg:
        if pg is None:
            if os.environ.get("COMPLAINTS_REQUIRE_PG"):
                pytest.fail("no PostgreSQL here")
            pytest.skip("no PostgreSQL here: install Debian's postgresql package (.ci/run does)")
        variables = worker_env(server, tmp_path, db_url=pg.url)
        queue = variables["COMPLAINTS_TASK_QUEUE"]
        worker = WorkerProcess(variables, tmp_path / "w.log")
        try:
            case_id = f"pgdown-{uuid.uuid4().hex[:6]}"
            await file_complaint(server, case_id, {"complaint": complaint()}, task_queue=queue)
            await act(server, case_id, "dispatch", {"actor": D, "department": "住建局"})
            rm = read_model(variables)
            await eventually(server, case_id, lambda s: rm.case(case_id) and rm.case(case_id).version == s.version)
            pg.stop()  # the database is gone
            started = time.monotonic()
            for update, payload in [
                ("record_contact", {"actor": H, "note": "n"}),
                ("record_verification", {"actor": H, "findings": "f"}),
                ("resolve", {"actor": H, "resolution": "r"}),
            ]:
                await act(server, case_id, update, payload)  # the case goes on
            assert time.monotonic() - started < 10, "an update waited on the database"
            s = await state(server, case_id)
            assert s.status.value == "resolved"
            await asyncio.sleep(3)
            pg.start()  # it comes back: the writes retried by Temporal land, in order
            rm = read_model(variables)
            s = await eventually(server, case_id, lambda s: rm.case(case_id).version == s.version, timeout=90)
            assert [e.kind for e in rm.events(case_id)] == [e.kind for e in s.timeline]
            assert rm.case(case_id).status == "resolved"
            await act(server, case_id, "record_follow_up", {"actor": S, "satisfaction": "satisfied"})
            final = await server.get_workflow_handle(case_id, result_type=CaseState).result()
            assert rm.case(case_id).status == "closed" and len(rm.events(case_id)) == len(final.timeline)
        finally:
            assert worker.stop(signal.SIGTERM) == 0


async def test_two_workers_share_the_load(server, tmp_path):
    variables = worker_env(server, tmp_path)
    queue = variables["COMPLAINTS_TASK_QUEUE"]
    workers = [WorkerProcess(variables, tmp_path / f"w{n}.log") for n in (1, 2)]
    try:
        ids = [f"share-{uuid.uuid4().hex[:6]}" for _ in range(20)]

        async def one(case_id: str) -> CaseState:
            await file_complaint(server, case_id, {"complaint": complaint()}, task_queue=queue)
            return await close_case(server, case_id)

        finals = await asyncio.gather(*(one(i) for i in ids))
        assert all(f.status.value == "closed" and f.breaches == [] for f in finals)
        rm = read_model(variables)
        for f in finals:
            assert rm.case(f.case_id).status == "closed" and len(rm.events(f.case_id)) == len(f.timeline)
    finally:
        for w in workers:
            assert w.stop(signal.SIGTERM) == 0
    served = [{line.get("case_id") for line in w.lines() if line.get("case_event")} & set(ids) for w in workers]
    assert all(served), f"each worker should have handled cases: {[len(s) for s in served]}"
    assert all("Traceback" not in (tmp_path / f"w{n}.log").read_text() for n in (1, 2))
