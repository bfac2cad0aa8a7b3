"""Keep the read model in step with the case, and look up earlier cases a complaint repeats."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from temporalio import activity

from activities.webhooks import Deliveries, wake
from models.case import CallerHistory
from models.records import CallerQuery, CaseSnapshot, RepeatMatch, RepeatQuery
from readmodel import ReadModel


class Records:
    def __init__(self, read_model: ReadModel, deliveries: Deliveries) -> None:
        self.read_model = read_model
        self.deliveries = deliveries  # their timing is the delivery workflows' too

    @activity.defn(name="record_case")
    async def record_case(self, snapshot: CaseSnapshot) -> None:
        woken = await asyncio.to_thread(self.read_model.record, snapshot)
        if woken:  # what they are owed is written: try it once now
            woken = await self.deliveries.first_tries(woken, snapshot.complaint, snapshot.state.case_id)
        if woken:  # still owed: wake their delivery workflows (a retried write wakes them again)
            await wake(
                activity.client(), activity.info().task_queue, self.deliveries.timing, woken, snapshot.state.case_id
            )
        # How far the read model trails the case: from the change (the write's scheduling) to now.
        scheduled = activity.info().scheduled_time
        activity.metric_meter().create_histogram_timedelta(
            "complaints_read_model_lag", "from a case's change to its row in the read model", "ms"
        ).record(max(timedelta(0), datetime.now(timezone.utc) - scheduled))

    @activity.defn(name="find_earlier_case")
    async def find_earlier_case(self, query: RepeatQuery) -> RepeatMatch | None:
        return await asyncio.to_thread(self.read_model.find_earlier_case, query)

    @activity.defn(name="caller_history")
    async def caller_history(self, query: CallerQuery) -> CallerHistory:
        return await asyncio.to_thread(self.read_model.caller_history, query)
