"""An audit of 200 closed cases on two audit worker processes (`python worker.py --audit`), one of
them killed (SIGKILL) mid-run: its batch goes to the other, and every case is verified exactly once."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from datetime import datetime, timedelta, timezone

from temporalio.client import Client

from models.audit import AuditRequest
from readmodel import Anchors, audit_keys_of
from sla import WorkingCalendar
from starter import act, audits, file_complaint
from tests.support.cases import RecordingSender, complaint
from tests.support.processes import CLOSE, WorkerProcess, read_model, worker_env
from worker import create_worker

CASES = 100  # five pages of 20: the audit continues as new twice, and a kill lands mid-run


async def test_a_killed_audit_worker_costs_only_its_batch(server: Client, tmp_path, monkeypatch):
    env = worker_env(server, tmp_path)
    monkeypatch.setenv("COMPLAINTS_DATA_DIR", env["COMPLAINTS_DATA_DIR"])  # the same audit key as the workers
    store = read_model(env)
    since = datetime.now(timezone.utc) - timedelta(minutes=1)
    tag = uuid.uuid4().hex[:6]
    queue = env["COMPLAINTS_TASK_QUEUE"]

    async def close(n: int) -> None:
        case_id = f"city-{tag}-{n:03d}"
        await file_complaint(server, case_id, {"complaint": complaint()}, task_queue=queue)
        for update, payload in CLOSE:
            await act(server, case_id, update, payload)

    cases = create_worker(
        server, task_queue=queue, sender=RecordingSender(), calendar=WorkingCalendar(), read_model=store
    )
    async with cases:
        for start in range(0, CASES, 20):
            await asyncio.gather(*(close(n) for n in range(start, start + 20)))
        for n in range(CASES):  # closed, and the read model has their last write
            await server.get_workflow_handle(f"city-{tag}-{n:03d}").result()
    Anchors(store.engine, audit_keys_of()).make(now=datetime.now(timezone.utc) + timedelta(minutes=2))

    first = WorkerProcess(env, tmp_path / "audit-1.log", "--audit")
    second = WorkerProcess(env, tmp_path / "audit-2.log", "--audit")
    try:
        request = AuditRequest(
            since=since,
            until=datetime.now(timezone.utc) + timedelta(minutes=1),
            batch_size=5,
            parallel=4,
            heartbeat_seconds=3,
            pages_per_run=2,  # 20 cases a page: the audit continues as new several times
        )
        audit_id = await audits.start(server, request)
        deadline = time.monotonic() + 120
        while not await _holds_a_batch(server, audit_id, first.proc.pid):  # SIGKILL it mid-batch
            assert time.monotonic() < deadline, "the first audit worker never took a batch"
            await asyncio.sleep(0.02)
        progress = await audits.progress(server, audit_id)
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait(timeout=10)
        assert not progress.done and progress.totals.cases < CASES, "killed too late to prove anything"
        report = await asyncio.wait_for(audits.wait(server, audit_id), timeout=300)
    finally:
        for w in (first, second):
            if w.proc.poll() is None:
                w.stop(signal.SIGTERM)

    t = report.totals
    assert (t.cases, t.histories, t.deterministic, t.chain_verified) == (CASES, CASES, CASES, CASES), t
    assert t.findings == [] and report.anchor_findings == [] and report.signature
    # The killed worker's batch was taken up again (an attempt after the first), in some run.
    retried = False
    async for e in server.list_workflows(f"WorkflowId = '{audit_id}'"):
        history = await server.get_workflow_handle(audit_id, run_id=e.run_id).fetch_history()
        retried |= any(
            ev.HasField("activity_task_started_event_attributes")
            and ev.activity_task_started_event_attributes.attempt > 1
            for ev in history.events
        )
    assert retried


async def _holds_a_batch(client: Client, audit_id: str, pid: int) -> bool:
    """Whether the worker process of this pid is running one of the audit's batches now."""
    from temporalio.api.enums.v1 import PendingActivityState

    described = await client.get_workflow_handle(audit_id).describe()
    return any(
        a.activity_type.name == "audit_batch"
        and a.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
        and a.last_worker_identity.startswith(f"{pid}@")
        for a in described.raw_description.pending_activities
    )


async def test_ctrl_c_on_wait_stops_the_waiting_not_the_audit(server: Client, tmp_path):
    """`audit --wait` interrupted: the terminal stops waiting (exit 130, no traceback) and says the
    audit goes on; it does (still running on the cluster) until `audit --cancel ID`."""
    import re
    import subprocess
    import sys

    from temporalio.client import WorkflowExecutionStatus

    from tests.support.processes import ROOT, cli

    # An audit queue no worker serves yet: the audit waits there, as a long one would run.
    env = {**worker_env(server, tmp_path), "COMPLAINTS_AUDIT_TASK_QUEUE": f"idle-audit-{uuid.uuid4().hex[:6]}"}
    waiting = subprocess.Popen(
        [sys.executable, "-m", "starter", "audit", "--since", "2026-11-01", "--until", "2026-12-01", "--wait"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert waiting.stdout is not None
    started = waiting.stdout.readline()
    found = re.match(r"audit (\S+) started", started)
    assert found, started
    audit_id = found[1]
    waiting.send_signal(signal.SIGINT)
    out, err = waiting.communicate(timeout=30)
    assert waiting.returncode == 130 and "Traceback" not in err and "PyGILState" not in err, err
    assert f"audit {audit_id} goes on" in out, out
    handle = server.get_workflow_handle(audit_id)
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    cancelled = cli(env, "audit", "--cancel", audit_id)
    assert cancelled.returncode == 0 and f"audit {audit_id} cancelled" in cancelled.stdout, cancelled.stderr
    # The cancellation is the audit's to carry out: once an audit worker takes the queue, it ends.
    from worker import create_audit_worker

    async with create_audit_worker(server, task_queue=env["COMPLAINTS_AUDIT_TASK_QUEUE"], read_model=read_model(env)):
        for _ in range(100):
            if (await handle.describe()).status == WorkflowExecutionStatus.CANCELED:
                break
            await asyncio.sleep(0.2)
    assert (await handle.describe()).status == WorkflowExecutionStatus.CANCELED
