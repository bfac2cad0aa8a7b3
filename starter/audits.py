"""Audits from a client (issue 27): start one on the audit workers, ask its progress, wait for its
signed report, cancel it. The audit itself is workflows/audit.py; nothing here replays."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from temporalio.client import Client

from models.audit import AuditProgress, AuditReport, AuditRequest
from runtime import settings
from workflows.audit import Audit, AuditRun


async def start(client: Client, request: AuditRequest, *, task_queue: str | None = None) -> str:
    """Start an audit on the audit workers of `task_queue` (default COMPLAINTS_AUDIT_TASK_QUEUE)."""
    audit_id = f"audit-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
    queue = task_queue or settings.load().audit_task_queue
    await client.start_workflow(Audit.run, AuditRun(request=request), id=audit_id, task_queue=queue)
    return audit_id


async def progress(client: Client, audit_id: str) -> AuditProgress:
    return await client.get_workflow_handle(audit_id).query(Audit.progress)


async def wait(client: Client, audit_id: str) -> AuditReport:
    return await client.get_workflow_handle(audit_id, result_type=AuditReport).result()


async def cancel(client: Client, audit_id: str) -> None:
    await client.get_workflow_handle(audit_id).cancel()


def describe(p: AuditProgress) -> str:
    t = p.totals
    now = datetime.now(timezone.utc)
    state = "done" if p.done else f"running ({p.batches_running} batches in flight)"
    return (
        f"audit {p.audit_id}: {state}; {t.cases} cases in {p.pages} pages over {p.runs} runs, "
        f"{p.rate(now):.1f} cases/s; {t.deterministic} deterministic, {t.chain_verified} chain-verified, "
        f"{t.replay_only} replay only, {t.with_findings} with findings"
    )
