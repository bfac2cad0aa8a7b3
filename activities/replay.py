"""Replaying histories against the code: the pieces the audit's activities and the auditors'
`starter replay` share (the replayer itself is built where the workflows are wired: starter.audit)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.worker import Replayer, WorkflowReplayResult

from models import CaseInput, CaseState

IN_FLIGHT = 16  # histories replayed at once per process: measured 41/s at 4, 48/s at 16, 50/s at 32 (one process)


async def replay_lanes(
    replayer: Replayer,
    histories: list[WorkflowHistory],
    on_result: Callable[[WorkflowReplayResult], Awaitable[bool]],
    lanes: int = IN_FLIGHT,
) -> None:
    """Replay these histories `lanes` at a time through one replayer (each lane takes the next
    history not yet taken), handing each result to `on_result`; once it answers True, no lane
    takes another history."""
    queue = iter(histories)
    stopped = False

    async def each() -> AsyncIterator[WorkflowHistory]:
        for history in queue:
            if stopped:
                return
            yield history

    async def lane() -> None:
        nonlocal stopped
        async with replayer.workflow_replay_iterator(each()) as results:
            async for result in results:
                if await on_result(result):
                    stopped = True
                    break

    await asyncio.gather(*(lane() for _ in range(min(lanes, max(1, len(histories))))))


async def recorded_end(converter: DataConverter, last: HistoryEvent) -> CaseState | None:
    """The case as a run's history recorded it at the run's end, from its last event: the result
    of a completed run, what a run continued as new carried on; None for any other ending."""
    if last.HasField("workflow_execution_completed_event_attributes"):
        [state] = await converter.decode(
            last.workflow_execution_completed_event_attributes.result.payloads, [CaseState]
        )
        return state  # type: ignore[no-any-return]
    if last.HasField("workflow_execution_continued_as_new_event_attributes"):
        [carried] = await converter.decode(
            last.workflow_execution_continued_as_new_event_attributes.input.payloads, [CaseInput]
        )
        return carried.carried  # type: ignore[no-any-return]
    return None
