"""The case's notices: each a template and its parameters, rendered and sent by the notifier."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities import Notifier
    from models import Complaint, Notice
    from models.effects import Tell
    from workflows.local_first import local_first

# The first attempt runs in the case's own workflow task; a slow gateway is left to the retries.
FIRST_TRY = timedelta(seconds=2)
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5))
GIVE_UP = timedelta(days=1)


class Notices:
    def __init__(
        self,
        case_id: str,
        complaint: Complaint,
        given_up: Callable[[Notice, str], None],
        district: str | None = None,
    ) -> None:
        self._case_id = case_id
        self._district = district  # edition 7: whose sign its notices carry
        self._complaint = complaint
        self._given_up = given_up  # records a notice that could not be sent in a day
        self._seq = 0
        self._sending: list[asyncio.Task[Any]] = []

    def tell(self, tell: Tell) -> None:
        if tell.recipient == "complainant" and self._complaint.complainant is None:
            return  # found on patrol: nobody to tell
        self.track(self.send(tell))

    def track(self, sending: Any) -> None:
        self._sending.append(asyncio.create_task(sending))

    def quiet(self) -> bool:
        return all(t.done() for t in self._sending)

    async def settle(self) -> bool:
        """Wait for the notices in flight; False if there were none."""
        self._sending = [t for t in self._sending if not t.done()]
        if not self._sending:
            return False
        await asyncio.gather(*self._sending)
        return True

    async def send(self, tell: Tell, **more: str) -> bool:
        """Send it: a local activity first, then Temporal's retries for a day. False: given up."""
        complainant = self._complaint.complainant
        self._seq += 1
        notice = Notice(
            id=f"{workflow.info().run_id}/{self._seq}",  # the same on every retry: the outbox key
            case_id=self._case_id,
            recipient=tell.recipient,
            kind=tell.kind,
            template=tell.template,
            params={"case_id": self._case_id, **tell.params, **more},
            address=tell.address or (complainant.phone if complainant and tell.recipient == "complainant" else None),
            district=self._district,
        )
        try:
            await local_first(
                Notifier.send_notice,
                notice,
                first_try=FIRST_TRY,
                start_to_close_timeout=timedelta(seconds=30),
                schedule_to_close_timeout=GIVE_UP,
                retry_policy=RETRY,
            )
            return True
        except ActivityError as err:
            # Recorded, never allowed to stop the case.
            self._given_up(notice, str(err.cause or err))
            return False
