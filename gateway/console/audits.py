"""审计 (the audits): the latest audits of the engine (workflows/audit.py), the one chosen (the
newest by default) with its progress while it runs, or its signed report's counts and every
finding, each linked to its case. Read-only: an audit is started and cancelled from the CLI."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Any

from fastapi import Depends, Request
from fastapi.responses import Response
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError

from gateway.auth import gateway
from gateway.console.viewer import Viewer, viewer
from gateway.console.web import render, router
from models.audit import AuditProgress, AuditReport
from runtime import logs

log = logs.get("console")
SHOWN = 20  # the latest audits listed
ENGINE_TIMEOUT = 10.0


@router.get("/audits")
async def audits(request: Request, v: Viewer = Depends(viewer)) -> Response:
    client = gateway(request).client
    try:
        async with asyncio.timeout(ENGINE_TIMEOUT):
            listed = [e async for e in client.list_workflows("WorkflowType = 'Audit'", limit=200)]
            latest: dict[str, Any] = {}
            for e in sorted(listed, key=lambda e: e.start_time, reverse=True):  # each audit's newest run
                latest.setdefault(e.id, e)
            rows = list(latest.values())[:SHOWN]
            chosen = request.query_params.get("id") or (rows[0].id if rows else None)
            report: AuditReport | None = None
            progress: AuditProgress | None = None
            status = None
            if chosen is not None:
                handle = client.get_workflow_handle(chosen)
                status = (await handle.describe()).status
                if status == WorkflowExecutionStatus.COMPLETED:
                    report = await client.get_workflow_handle(chosen, result_type=AuditReport).result()
                elif status == WorkflowExecutionStatus.RUNNING:
                    progress = await handle.query("progress", result_type=AuditProgress)
    except RPCError as err:
        if err.status and err.status.name == "NOT_FOUND":
            return render(request, "error.html", v.words, 404, title="not_found", text="not_found_text", viewer=v)
        log.warning("console: the engine does not answer", error=str(err))
        return render(request, "error.html", v.words, 503, title="unavailable", text="unavailable_text", viewer=v)
    except TimeoutError:
        return render(request, "error.html", v.words, 503, title="unavailable", text="unavailable_text", viewer=v)
    return render(
        request,
        "audits.html",
        v.words,
        viewer=v,
        now=datetime.now(timezone.utc),
        rows=rows,
        chosen=chosen,
        audit_status=status.name.lower() if status else None,
        report=report,
        progress=progress,
    )
