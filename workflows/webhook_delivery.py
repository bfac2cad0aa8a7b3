"""One subscription's deliveries for one case, in the order the case's events happened.

The case's own write tries each event once (activities/webhooks.py `first_tries`); this takes
over what that try could not deliver. One workflow per subscription and case (id
`webhook:<name>:<case>`), so a case's events wait only behind that case's own undelivered event,
never behind another case's, and the case itself never waits for a receiver. Each try is
an activity; Temporal retries it (doubling waits, at most an hour apart) until the receiver
answers 2xx or the pause-after time (three days by default) runs out, which pauses the
subscription. What is owed lives in the read model, so a lost signal or a new run loses nothing."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, RetryState, TimeoutType
from temporalio.exceptions import TimeoutError as ActivityTimeout

from workflows.retries import PATIENT

with workflow.unsafe.imports_passed_through():
    from activities.webhooks import PAUSED, Deliveries, PauseRequest
    from models.webhooks import ATTEMPT_TIMEOUT, MAX_INTERVAL, MORE, WORKFLOW, DeliveryJob, Owed

LINGER = timedelta(minutes=1)  # how long an idle run waits for the case's next event before it ends
TRY_TIMEOUT = ATTEMPT_TIMEOUT + timedelta(seconds=5)
RUN_LENGTH = 200  # deliveries per run before it continues as new (keeps each history short)


@workflow.defn(name=WORKFLOW)
class WebhookDelivery:
    def __init__(self) -> None:
        self._more = False

    @workflow.signal(name=MORE)
    def more(self) -> None:
        self._more = True

    @workflow.run
    async def run(self, job: DeliveryJob) -> str:
        delivered = 0
        while delivered < RUN_LENGTH:
            self._more = False
            owed = await workflow.execute_activity_method(
                Deliveries.owed, job, start_to_close_timeout=timedelta(seconds=10), retry_policy=PATIENT
            )
            if owed and not owed[0].paused:
                for event in owed:  # oldest first: the next only once the receiver took this one
                    if not await self._deliver(job, event):
                        break  # paused
                    delivered += 1
                continue
            if await self._nothing_more():
                return "paused" if owed else "delivered everything owed"
        workflow.continue_as_new(job)

    async def _deliver(self, job: DeliveryJob, event: Owed) -> bool:
        """Try until the receiver answers 2xx (True), or the subscription pauses (False)."""
        retry = RetryPolicy(
            initial_interval=timedelta(seconds=job.first_retry_seconds),
            backoff_coefficient=2.0,
            maximum_interval=MAX_INTERVAL,
            non_retryable_error_types=[PAUSED],
        )
        try:
            await workflow.execute_activity_method(
                Deliveries.deliver,
                event,
                # a try is 10 s at most (ATTEMPT_TIMEOUT): a worker lost mid-try is noticed soon
                start_to_close_timeout=TRY_TIMEOUT,
                schedule_to_close_timeout=timedelta(seconds=job.pause_after_seconds),
                retry_policy=retry,
            )
            return True
        except ActivityError as err:
            if isinstance(err.cause, ApplicationError) and err.cause.type == PAUSED:
                return False  # paused or removed meanwhile
            # Out of time: the server ends the retries with the last try's failure (or a timeout).
            if err.retry_state == RetryState.TIMEOUT or (
                isinstance(err.cause, ActivityTimeout) and err.cause.type == TimeoutType.SCHEDULE_TO_CLOSE
            ):
                failing = timedelta(seconds=job.pause_after_seconds)
                await workflow.execute_activity_method(
                    Deliveries.pause,
                    PauseRequest(
                        webhook=job.webhook, reason=f"event {event.seq} of case {event.case_id} failed for {failing}"
                    ),
                    start_to_close_timeout=timedelta(seconds=30),
                    retry_policy=PATIENT,
                )
                return False
            raise

    async def _nothing_more(self) -> bool:
        """Wait a while for news (a new event, a resume); True if none came. A signal that came
        while this run was busy counts: it is never lost to a run that is about to end."""
        try:
            await workflow.wait_condition(lambda: self._more, timeout=LINGER)
        except TimeoutError:  # asyncio's, which wait_condition raises
            return True
        return False
