"""The ceiling: a workflow that takes the closed loop's seven updates and does nothing else.

    python -m bench.bare      # a worker for it, on TEMPORAL_ADDRESS, task queue bench-bare

It takes the same input and the same update payloads as ComplaintCase, through the same data
converter (pydantic, encrypted), so the difference to the engine is what the engine does."""

from __future__ import annotations

import asyncio
import os

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models import (
        CaseInput,
        Dispatch,
        RecordContact,
        RecordFollowUp,
        RecordVerification,
        Reply,
        Resolve,
        SubmitOpinion,
    )

STEPS = 7


@workflow.defn(name="BareCase")
class BareCase:
    def __init__(self) -> None:
        self.steps = 0

    @workflow.run
    async def run(self, input: CaseInput) -> None:
        await workflow.wait_condition(lambda: self.steps >= STEPS and workflow.all_handlers_finished())

    def _step(self) -> None:
        self.steps += 1

    @workflow.update
    def dispatch(self, cmd: Dispatch) -> None:
        self._step()

    @workflow.update
    def record_contact(self, cmd: RecordContact) -> None:
        self._step()

    @workflow.update
    def record_verification(self, cmd: RecordVerification) -> None:
        self._step()

    @workflow.update
    def reply(self, cmd: Reply) -> None:
        self._step()

    @workflow.update
    def submit_opinion(self, cmd: SubmitOpinion) -> None:
        self._step()

    @workflow.update
    def resolve(self, cmd: Resolve) -> None:
        self._step()

    @workflow.update
    def record_follow_up(self, cmd: RecordFollowUp) -> None:
        self._step()


async def serve() -> None:
    """Until Ctrl-C or SIGTERM, which cancel it (process.run) and so shut the worker down."""
    from temporalio.worker import Worker

    from starter import connect

    client = await connect()
    async with Worker(client, task_queue=os.environ.get("COMPLAINTS_TASK_QUEUE", "bench-bare"), workflows=[BareCase]):
        print("worker serving", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    from runtime import process

    process.run(serve)
