"""Keeping the read model and the case's search attributes in step with the case."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow

from workflows.retries import PATIENT

with workflow.unsafe.imports_passed_through():
    from activities import Records
    from models import CaseState, Complaint
    from models.editions import Edition
    from models.records import CaseSnapshot
    from workflows import search_attributes as attributes
    from workflows.local_first import local_first

FIRST_TRY = timedelta(seconds=5)


class Projection:
    """Writes each change to the read model, one snapshot at a time and in order: first as a
    local activity (one marker in the history, no workflow task of its own); when that fails, as
    an activity Temporal retries until the database is back, outside the case's history."""

    def __init__(self, state: CaseState, complaint: Complaint, recorded: bool) -> None:
        self._state = state
        self._complaint = complaint
        # A case continued as new: the previous run drained, the read model holds all of it.
        self._version, self._events = (state.version, len(state.timeline)) if recorded else (0, 0)
        # Edition 4: only sealed events are written, each with its digest in the case's chain.
        self._chained = state.edition >= Edition.chain
        self._published: dict[str, Any] = {}
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._keep())

    def caught_up(self) -> bool:
        return self._task is None or (self._state.version <= self._version and self._written() <= self._events)

    def _written(self) -> int:
        """How many of the case's events the read model should hold."""
        return self._state.chained if self._chained else len(self._state.timeline)

    async def stop(self) -> None:
        """Call once caught up: the read model holds the case's last change."""
        if self._task is not None:
            self._stopping = True
            await self._task

    def publish(self) -> None:
        """Bring the search attributes up to date (only what changed: each upsert is an event)."""
        current = attributes.values(self._state, self._complaint)
        changes = attributes.updates(current, self._published)
        if changes:
            workflow.upsert_search_attributes(changes)
            self._published = current

    async def _keep(self) -> None:
        while True:
            await workflow.wait_condition(lambda: not self.caught_up() or self._stopping)
            s = self._state
            if self.caught_up():
                return
            version, events = s.version, self._written()
            new = s.timeline[self._events : events]
            digests = s.sealed_digests(self._events, events) if self._chained else []
            snapshot = CaseSnapshot(
                complaint=self._complaint,
                state=s.model_copy(update={"timeline": []}),
                events=new,
                first_seq=self._events,
                run_id=workflow.info().run_id,
                digests=digests,
            )
            await local_first(
                Records.record_case,
                snapshot,
                first_try=FIRST_TRY,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=PATIENT,
            )
            self._version, self._events = version, events
