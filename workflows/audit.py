"""Audit: replay a period's cases and check their hash chains, fanned out over every audit worker
(issue 27). It reads visibility a page at a time, hands each page out in batches (one activity
each, heartbeating: a killed worker costs only its batch, which another worker takes up), adds
up the verdicts, continues as new every few pages, and ends with a signed report. Progress is a
query; `starter audit --cancel ID` cancels it."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow

from workflows.retries import PATIENT

with workflow.unsafe.imports_passed_through():
    from activities.audit import AuditActivities, Batch, PageRequest, period_query
    from models.audit import AnchorCheck, AuditProgress, AuditReport, AuditRequest, CaseVerdict

PAGE_MAX = 1000  # visibility's own limit on a page


class AuditRun(BaseModel):
    """What a run starts from: the request, and what the runs before it found."""

    request: AuditRequest
    progress: AuditProgress | None = None
    next_page_token: str | None = None
    anchors: AnchorCheck | None = None


@workflow.defn(name="Audit")
class Audit:
    @workflow.init
    def __init__(self, run: AuditRun) -> None:
        self._progress = run.progress or AuditProgress(
            audit_id=workflow.info().workflow_id, request=run.request, started_at=workflow.now()
        )

    @workflow.query
    def progress(self) -> AuditProgress:
        return self._progress

    @workflow.run
    async def run(self, run: AuditRun) -> AuditReport:
        request, p = run.request, self._progress
        anchors = run.anchors
        if anchors is None:  # once per audit: every anchor's signature and root
            anchors = await workflow.execute_activity_method(
                AuditActivities.check_anchors, start_to_close_timeout=timedelta(minutes=10), retry_policy=PATIENT
            )
        token, pages = run.next_page_token, 0
        gate = asyncio.Semaphore(request.parallel)
        while True:
            page = await workflow.execute_activity_method(
                AuditActivities.list_cases,
                PageRequest(
                    query=period_query(request.since, request.until, request.status),
                    page_size=min(PAGE_MAX, request.batch_size * request.parallel),
                    next_page_token=token,
                ),
                start_to_close_timeout=timedelta(minutes=1),
                retry_policy=PATIENT,
            )
            cases = page.cases
            batches = [cases[i : i + request.batch_size] for i in range(0, len(cases), request.batch_size)]
            await asyncio.gather(*(self._audit(Batch(cases=b, anchors=anchors), gate) for b in batches))
            p.pages += 1
            pages += 1
            token = page.next_page_token
            if token is None:
                break
            if pages >= request.pages_per_run or workflow.info().is_continue_as_new_suggested():
                p.runs += 1
                workflow.continue_as_new(AuditRun(request=request, progress=p, next_page_token=token, anchors=anchors))
        p.done = True
        report = AuditReport(
            audit_id=p.audit_id,
            since=request.since,
            until=request.until,
            status=request.status,
            code_version="",  # the signing worker's, filled in as it signs
            started_at=p.started_at,
            finished_at=workflow.now(),
            totals=p.totals,
            anchors_checked=anchors.good + len(anchors.bad),
            anchor_findings=[f"anchor {i}: {why}" for i, why in sorted(anchors.bad.items())],
        )
        return await workflow.execute_activity_method(
            AuditActivities.sign_report, report, start_to_close_timeout=timedelta(minutes=1), retry_policy=PATIENT
        )

    async def _audit(self, batch: Batch, gate: asyncio.Semaphore) -> None:
        async with gate:
            self._progress.batches_running += 1
            try:
                verdicts: list[CaseVerdict] = await workflow.execute_activity_method(
                    AuditActivities.audit_batch,
                    batch,
                    start_to_close_timeout=timedelta(hours=1),
                    heartbeat_timeout=timedelta(seconds=self._progress.request.heartbeat_seconds),
                    retry_policy=PATIENT,
                )
            finally:
                self._progress.batches_running -= 1
        self._progress.totals.add(verdicts)


@workflow.defn(name="AnchorHeads")
class AnchorHeads:
    """Run daily by the `complaints-anchor` schedule: anchor the heads written since the last anchor."""

    @workflow.run
    async def run(self) -> int | None:
        return await workflow.execute_activity_method(
            AuditActivities.make_anchor, start_to_close_timeout=timedelta(minutes=10), retry_policy=PATIENT
        )
