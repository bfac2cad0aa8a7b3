"""The case's clocks: the time its changes are stamped with, and one durable timer (its alarm)
for its next deadline or warning."""

from __future__ import annotations

import asyncio
from datetime import datetime

from temporalio import workflow

# A timer for a moment the workflow's own time has already passed still goes to the server, so
# the case wakes in a workflow task of its own (whose time replay gives back the same).
SHORTEST_TIMER = 0.001  # seconds


class CaseClock:
    """The time a case's changes are stamped with and its deadlines judged by: the moment
    something in its history woke it (its start, an update, a signal, its alarm).

    Not workflow.now() after a local activity: that time moves to the activity's completion, and
    replay can hand back local activities that ran side by side (a read-model write beside a
    plan) in one activation, under the latest completion, where the live run saw them one by
    one. A time read there can differ in replay, and the hash chain with it (demo-water-5 in CI,
    2026-12-02). `stable` is edition 6's rule; a case started before it keeps workflow.now()."""

    def __init__(self, stable: bool) -> None:
        self.stable = stable
        self._at = workflow.now()  # built when the run starts: its first workflow task's time

    def woke(self) -> None:
        """Call where the history woke the case, before anything is awaited."""
        self._at = max(self._at, workflow.now())

    def now(self) -> datetime:
        return self._at if self.stable else workflow.now()


class Alarm:
    """A running timer is kept while it rings no later than the moment wanted: one that rings early
    costs one idle wake, one that rang late would miss a breach. So a case that changes often
    does not start (and cancel) a timer per change; only an earlier deadline moves it.

    A ring wakes the case's clock. Under a stable clock a moment already passed still gets a
    (shortest) timer, not a wake within this task, whose clock has not reached it yet."""

    def __init__(self, clock: CaseClock) -> None:
        self._clock = clock
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
        seconds = (at - workflow.now()).total_seconds()
        if self._clock.stable:
            seconds = max(seconds, SHORTEST_TIMER)
        self._timer = asyncio.create_task(asyncio.sleep(seconds))
        self._timer.add_done_callback(self._rang)

    def _rang(self, timer: asyncio.Task[None]) -> None:
        if not timer.cancelled():
            self._clock.woke()

    def rang(self) -> bool:
        return self._timer is not None and self._timer.done()
