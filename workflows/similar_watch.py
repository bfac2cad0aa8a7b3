"""Telling subscribers of new 类案预警, every few minutes (a Temporal Schedule starts it:
`complaints-similar-watch`, worker.py)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.similar_watch import SimilarWatch
    from workflows.retries import PATIENT


@workflow.defn(name="WatchSimilarAlerts")
class WatchSimilarAlerts:
    @workflow.run
    async def run(self) -> int:
        # The moment the schedule started it (the server's clock): the fortnight looked back from there.
        return await workflow.execute_activity_method(
            SimilarWatch.watch, workflow.now(), start_to_close_timeout=timedelta(minutes=10), retry_policy=PATIENT
        )
