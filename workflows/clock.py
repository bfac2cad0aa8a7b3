"""The case's alarm: one durable timer for its next deadline or warning."""

from __future__ import annotations

import asyncio
from datetime import datetime

from temporalio import workflow


class Alarm:
    """A running timer is kept while it rings no later than the moment wanted: one that rings early
    costs one idle wake, one that rang late would miss a breach. So a case that changes often
    does not start (and cancel) a timer per change; only an earlier deadline moves it."""

    def __init__(self) -> None:
        self._timer: asyncio.Task[None] | None = None
        self._at: datetime | None = None

    def set_for(self, at: datetime | None) -> None:
        if self._timer is not None and self._timer.done():
            self._timer = None  # it rang: that wake was its own
        if at is None or (self._timer is not None and self._at is not None and self._at <= at):
            return
        if self._timer is not None:
            self._timer.cancel()
        self._at = at
        self._timer = asyncio.create_task(asyncio.sleep((at - workflow.now()).total_seconds()))

    def rang(self) -> bool:
        return self._timer is not None and self._timer.done()
