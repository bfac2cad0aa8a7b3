"""The audit's outside work (issue 27): list the period's cases from visibility, replay a batch of
them from their histories (fetched from the server as protobuf), gather each case's witnesses from
the read model and the anchors, and sign the report. The judgement itself is models.audit.judge."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from datetime import datetime
from typing import Any, NoReturn

from pydantic import BaseModel
from temporalio import activity, workflow
from temporalio.client import Client, WorkflowHistory
from temporalio.worker import (
    ContinueAsNewInput,
    ExecuteWorkflowInput,
    Interceptor,
    Replayer,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
    WorkflowReplayResult,
)

from activities.replay import recorded_end, replay_lanes
from models import CaseInput, CaseState, Complaint, chain
from models.audit import AnchorCheck, AnchoredHead, AuditReport, CaseVerdict, RunWitness, StoredEvent, judge
from models.case_input import WORKFLOW_TYPE
from models.records import CaseSnapshot
from readmodel import ReadModel
from readmodel.anchors import Anchors
from readmodel.store import case_columns
from runtime.blobs import BlobMissing, Blobs, digest_bytes

FETCHES = 8  # histories fetched at once: measured, one at a time left the CPU idle a third of the batch


class CaseRef(BaseModel):
    case_id: str
    run_id: str  # the run visibility found: the last, for a closed case


class CasePage(BaseModel):
    cases: list[CaseRef]
    next_page_token: str | None = None  # base64 of visibility's token; None: the last page


class PageRequest(BaseModel):
    query: str
    page_size: int
    next_page_token: str | None = None


class Batch(BaseModel):
    cases: list[CaseRef]
    anchors: AnchorCheck


def period_query(since: datetime, until: datetime, status: str) -> str:
    """closed: the cases closed in the period (their last run completed in it); all: the cases
    received in it, in whatever state (their first run started in it)."""
    if status == "closed":
        return (
            f"WorkflowType = '{WORKFLOW_TYPE}' AND ExecutionStatus = 'Completed' "
            f"AND CloseTime >= '{since.isoformat()}' AND CloseTime < '{until.isoformat()}'"
        )
    return (
        f"WorkflowType = '{WORKFLOW_TYPE}' AND ExecutionStatus != 'ContinuedAsNew' "
        f"AND StartTime >= '{since.isoformat()}' AND StartTime < '{until.isoformat()}'"
    )


# ---- capturing the case at the end of each replayed run -------------------------------------

_ENDS: dict[str, Any] = {}  # run id -> what the run returned or carried on, in replay
_LIVE: dict[str, Any] = {}  # run id -> the workflow object, for a run that has not ended: its case as replayed


class Capture(Interceptor):
    """Keeps, for each run the audit replays, the case it returned, carried on or holds so far."""

    def workflow_interceptor_class(self, input: WorkflowInterceptorClassInput) -> type[WorkflowInboundInterceptor]:
        return _Inbound


class _Inbound(WorkflowInboundInterceptor):
    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        super().init(_Outbound(outbound))

    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        _LIVE[workflow.info().run_id] = workflow.instance()
        result = await super().execute_workflow(input)
        _ENDS[workflow.info().run_id] = result
        return result


class _Outbound(WorkflowOutboundInterceptor):
    def continue_as_new(self, input: ContinueAsNewInput) -> NoReturn:
        _ENDS[workflow.info().run_id] = input.args[0].carried
        super().continue_as_new(input)


# ---- the activities ---------------------------------------------------------------------------


class AuditActivities:
    def __init__(
        self,
        client: Client,
        read_model: ReadModel,
        anchors: Anchors,
        new_replayer: Callable[[], Replayer],
        evidence: Blobs | None = None,
    ) -> None:
        """`new_replayer`: the case workflow's replayer with a Capture among its interceptors
        (worker.py wires it: the workflows sit above the activities). `evidence`: the store whose
        files every attachment the chains name must be in (issue 38)."""
        self.client = client
        self.read_model = read_model
        self.anchors = anchors
        self.evidence = evidence
        self._new_replayer = new_replayer
        self._replayer: Replayer | None = None

    @activity.defn
    async def list_cases(self, request: PageRequest) -> CasePage:
        token = base64.b64decode(request.next_page_token) if request.next_page_token else None
        listing = self.client.list_workflows(request.query, page_size=request.page_size, next_page_token=token)
        await listing.fetch_next_page()
        cases = [CaseRef(case_id=e.id, run_id=e.run_id) for e in listing.current_page or []]
        nxt = listing.next_page_token
        return CasePage(cases=cases, next_page_token=base64.b64encode(nxt).decode() if nxt else None)

    @activity.defn
    async def check_anchors(self) -> AnchorCheck:
        return await asyncio.to_thread(self.anchors.check, self.anchors.keys.public_keys())

    @activity.defn
    async def audit_batch(self, batch: Batch) -> list[CaseVerdict]:
        """Replay each case's runs and judge it. Heartbeats as it goes: a worker killed mid-batch
        is noticed within the heartbeat timeout and the batch goes, whole, to another worker."""
        gate = asyncio.Semaphore(FETCHES)

        async def fetch(case: CaseRef) -> tuple[str, list[WorkflowHistory]]:
            async with gate:
                histories = await self._histories(case)
            activity.heartbeat(f"fetched {case.case_id}")
            return case.case_id, histories

        fetched = list(await asyncio.gather(*(fetch(c) for c in batch.cases)))
        witnesses = await self._replay(fetched)
        ids = [c.case_id for c in batch.cases]
        anchored = await asyncio.to_thread(self.anchors.heads, ids, set(batch.anchors.bad))
        verdicts = []
        for (case_id, histories), runs in zip(fetched, witnesses, strict=True):
            complaint = await self._complaint(histories[0]) if histories else None
            verdicts.append(
                await asyncio.to_thread(self._judge, case_id, complaint, runs, anchored[case_id], batch.anchors)
            )
            activity.heartbeat(f"judged {case_id}")
        return verdicts

    @activity.defn
    async def sign_report(self, report: AuditReport) -> AuditReport:
        report = report.model_copy(update={"code_version": code_version()})
        key_id, signature = self.anchors.keys.sign(report.signed_bytes())
        return report.model_copy(update={"key_id": key_id, "signature": signature})

    @activity.defn
    async def make_anchor(self) -> int | None:
        made = await asyncio.to_thread(self.anchors.make)
        return made.id if made else None

    # ---- helpers --------------------------------------------------------------------------

    async def _histories(self, case: CaseRef) -> list[WorkflowHistory]:
        """Every run of a case, oldest first: from the run visibility named, back along the runs
        it continued from (no visibility query per case)."""
        histories: list[WorkflowHistory] = []
        run_id: str | None = case.run_id
        while run_id:
            history = await self.client.get_workflow_handle(case.case_id, run_id=run_id).fetch_history()
            histories.insert(0, history)
            run_id = history.events[0].workflow_execution_started_event_attributes.continued_execution_run_id
        return histories

    async def _replay(self, fetched: list[tuple[str, list[WorkflowHistory]]]) -> list[list[RunWitness]]:
        """Every run of the batch through one replayer (each run replays on its own: a continued
        run starts from what the one before carried on)."""
        self._replayer = self._replayer or self._new_replayer()
        witnesses: dict[str, RunWitness] = {}

        async def witness(result: WorkflowReplayResult) -> bool:
            h = result.history
            replayed, live = _ENDS.pop(h.run_id, None), _LIVE.pop(h.run_id, None)
            recorded = await recorded_end(self.client.data_converter, h.events[-1])
            if replayed is None and recorded is None and live is not None and result.replay_failure is None:
                replayed = live.state()  # a running case: as its history, replayed to the end, leaves it
            witnesses[h.run_id] = RunWitness(
                run_id=h.run_id,
                failure=str(result.replay_failure) if result.replay_failure else None,
                replayed=replayed,
                recorded=recorded,
            )
            activity.heartbeat(f"replayed {h.workflow_id}")
            return False

        await replay_lanes(self._replayer, [h for _, histories in fetched for h in histories], witness)
        return [[witnesses[h.run_id] for h in histories] for _, histories in fetched]

    def _judge(
        self,
        case_id: str,
        complaint: Complaint | None,
        runs: list[RunWitness],
        anchored: list[AnchoredHead],
        anchors: AnchorCheck,
    ) -> CaseVerdict:
        last = runs[-1] if runs else None
        state = last.replayed if last else None
        row = self.read_model.case(case_id)
        stored = self.read_model.events(case_id)
        expected = None
        running = last is not None and last.recorded is None
        if (
            state is not None
            and complaint is not None
            and not (running and row is not None and row.version != state.version)
        ):
            snapshot = CaseSnapshot(
                complaint=complaint, state=state, events=[], first_seq=0, run_id=last.run_id if last else ""
            )
            expected = case_columns(snapshot, self.read_model.phone_key)
        if running and state is not None:  # it may have moved on since its history was fetched
            stored = [e for e in stored if e.seq < len(state.timeline)]
        events = [
            StoredEvent(
                seq=e.seq,
                encoded=chain.canonical(e.at, e.kind, e.actor_id, e.actor_role, e.actor_department, e.detail),
                digest=e.digest,
            )
            for e in stored
        ]
        due = anchors.covered_until is not None and row is not None and row.updated_at < anchors.covered_until
        held = self._evidence(state) if state is not None else {}
        return judge(
            case_id, runs, row.model_dump() if row else None, expected, events, anchored, anchor_due=due, evidence=held
        )

    def _evidence(self, state: CaseState) -> dict[str, str]:
        """What the store holds of each attachment: present, missing, or what its bytes hash to."""
        held: dict[str, str] = {}
        for a in state.attachments:
            if self.evidence is None:
                break
            try:
                now = digest_bytes(self.evidence.open(a.id))
            except BlobMissing:
                held[a.id] = "missing"
                continue
            held[a.id] = "present" if now == a.id else now
        return held

    async def _complaint(self, first: WorkflowHistory) -> Complaint | None:
        started = first.events[0].workflow_execution_started_event_attributes
        [case_input] = await self.client.data_converter.decode(started.input.payloads, [CaseInput])
        return case_input.complaint  # type: ignore[no-any-return]


def code_version() -> str:
    """The engine's version and, in a checkout, its commit: what the histories were replayed against."""
    import subprocess
    from importlib.metadata import PackageNotFoundError, version
    from pathlib import Path

    try:
        release = version("complaint-cases")
    except PackageNotFoundError:
        release = "unknown"
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"{release}+{commit}" if commit else release


__all__ = ["AuditActivities", "Batch", "Capture", "CasePage", "PageRequest", "period_query"]
