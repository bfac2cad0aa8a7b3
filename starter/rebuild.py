"""Rebuild the read model from Temporal, for when the database is lost: every case's input from
its history, its state from the query (open cases) or its result (ended ones)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError

from models import CaseInput, CaseState
from models.case import FINISHED
from models.case_input import WORKFLOW_TYPE
from readmodel import ReadModel, snapshot_of
from starter.cases import execution_info
from starter.progress import progress


@dataclass
class RebuildReport:
    restored: list[str] = field(default_factory=list)
    open: int = 0
    events: int = 0
    skipped: dict[str, str] = field(default_factory=dict)  # case id -> why

    def __str__(self) -> str:
        lines = [
            f"restored {len(self.restored)} cases ({self.open} open, {len(self.restored) - self.open} ended), "
            f"{self.events} events"
        ]
        lines += [f"skipped {case_id}: {why}" for case_id, why in sorted(self.skipped.items())]
        return "\n".join(lines)


async def rebuild_read_model(client: Client, read_model: ReadModel) -> RebuildReport:
    report = RebuildReport()
    seen: set[str] = set()
    query = f"WorkflowType = '{WORKFLOW_TYPE}'"
    total = (await client.count_workflows(query)).count
    with progress("rebuilding the read model", total) as advance:
        async for execution in client.list_workflows(query):
            advance(1)
            if execution.id in seen:
                continue  # an earlier run of a case that continued as new: its latest run carries it all
            seen.add(execution.id)
            try:
                restored = await _restore(client, read_model, execution.id)
            except (RPCError, RuntimeError) as err:
                report.skipped[execution.id] = f"{type(err).__name__}: {err}"
                continue
            if isinstance(restored, str):
                report.skipped[execution.id] = restored
                continue
            report.restored.append(execution.id)
            report.open += restored.status not in FINISHED
            report.events += len(restored.timeline)
    return report


async def _restore(client: Client, read_model: ReadModel, case_id: str) -> CaseState | str:
    handle = client.get_workflow_handle(case_id)
    info = await execution_info(client, case_id)
    status = WorkflowExecutionStatus(info.status) if info.status else None
    history = await handle.fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    [case_input] = await client.data_converter.decode(started.input.payloads, [CaseInput])
    match status:
        case WorkflowExecutionStatus.RUNNING:
            state = await handle.query("state", result_type=CaseState)
        case WorkflowExecutionStatus.COMPLETED:
            completed = history.events[-1].workflow_execution_completed_event_attributes
            [state] = await client.data_converter.decode(completed.result.payloads, [CaseState])
        case status:
            return (
                f"the workflow {status.name.lower() if status else 'is in an unknown state'}: no case state to restore"
            )
    await asyncio.to_thread(read_model.record, snapshot_of(state, case_input.complaint, info.execution.run_id))
    return state
