"""ComplaintCase: one complaint, from acceptance to the follow-up visit that closes it.

The case model (models.case) decides every change; this workflow holds the clocks and carries out
what each change asks: deadlines to plan, notices to send, the read model to keep in step. It
sleeps until the earliest open deadline (or until an update changes the case) and records a breach
the moment one passes. The state is built in __init__, so an update may arrive with the start.

Every update of models.commands.UPDATES gets a handler and a validator here, registered below
the class. The history stays lean: planning, the read-model write and a notice's first attempt
are local activities (one marker, no extra workflow task); only what fails goes on to a
regular activity that Temporal retries outside the case's history.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows.retries import PATIENT

with workflow.unsafe.imports_passed_through():
    from activities import Planner, PlanRequest, Records, ShiftRequest
    from models import CaseInput, CaseState, Command, Complaint, Notice, NoticeKind, received_at_problem
    from models.case import FINISHED, TimelineEvent
    from models.case_input import WORKFLOW_TYPE
    from models.commands import UPDATES, Rejected, Update, check
    from models.editions import PATCHES, Edition
    from models.effects import Effects, Tell
    from models.records import CallerQuery, RepeatComplaint, RepeatMatch, RepeatQuery
    from workflows import metrics
    from workflows import search_attributes as attributes
    from workflows.clock import Alarm, CaseClock
    from workflows.notices import Notices
    from workflows.projection import Projection

PLAN_TIMEOUT = timedelta(seconds=30)
LOOKUP_TIMEOUT = timedelta(seconds=10)
# A look-up that fails waits for its retry on a timer, not inside the workflow task.
LOCAL_RETRY_THRESHOLD = timedelta(milliseconds=500)
Q = TypeVar("Q")  # a look-up's query
R = TypeVar("R")  # and its answer
# What a signal to a case that is no longer running fails with (the SDK's failure type).
CLOSED_MEANWHILE = "ExternalWorkflowExecutionNotFound"


class ComplaintCase:
    @workflow.init
    def __init__(self, input: CaseInput) -> None:
        self._input = input
        self._lock = asyncio.Lock()  # changes happen one at a time, in arrival order
        self._accepted = input.carried is not None
        if input.carried is not None:
            self._state = input.carried.model_copy(update={"runs": input.carried.runs + 1})
        else:
            complaint = input.complaint
            problem = received_at_problem(complaint.received_at, workflow.info().start_time, max_age_days=10_000)
            if problem:
                raise ApplicationError(f"invalid CaseInput: {problem}", type="InvalidInput", non_retryable=True)
            at = complaint.received_at or workflow.now()
            self._state = CaseState.receive(
                workflow.info().workflow_id,
                complaint,
                input.policy,
                at,
                _edition(),
                input.placement,
                input.risk,
                input.suggestion,
            )
        self._time = CaseClock(stable=self._state.edition >= Edition.stable_clock)  # what changes are stamped with
        self._alarm = Alarm(self._time)
        self._projection = Projection(self._state, input.complaint, recorded=input.carried is not None)
        place = self._state.place
        self._notices = Notices(self._state.case_id, input.complaint, self._given_up, place.district if place else None)

    @workflow.run
    async def run(self, input: CaseInput) -> CaseState:
        if input.carried is None:
            await self._count_callers_cases()
            await self._look_for_earlier_case()
        # After the look-up: the first write to the read model carries its outcome too.
        self._projection.start()
        if self._state.status not in FINISHED:
            async with self._clock():
                pass  # accepts the case: fixes the acceptance deadlines
            if input.carried is None:
                await self._greet()
        while self._state.status not in FINISHED:
            self._projection.publish()
            await self._sleep()
            async with self._clock():
                await self._change(self._state.watch)
            if self._state.status not in FINISHED and self._time_to_continue():
                await self._drain()
                workflow.continue_as_new(self._input.model_copy(update={"carried": self._state}))
        await self._drain()
        self._projection.publish()
        return self._state

    @workflow.query
    def state(self) -> CaseState:
        return self._state

    @workflow.query
    def complaint(self) -> Complaint:
        """The complaint as filed (personal data included: the gateway masks it by role)."""
        return self._input.complaint

    @workflow.signal
    async def record_repeat(self, repeat: RepeatComplaint) -> None:
        """A new complaint repeats this open case: it was merged here."""
        self._time.woke()
        async with self._clock():
            await self._change(
                functools.partial(
                    self._state.repeated, repeat.case_id, repeat.title, repeat.received_at, risk=repeat.risk
                )
            )

    # ---- updates (one per row of models.commands.UPDATES) --------------------------------

    async def _update(self, row: Update, cmd: Command) -> CaseState:
        """The answer is the case after the update, its timeline holding only the events the
        update added (the contract), so the answer recorded in history stays small."""
        self._time.woke()
        async with self._clock():
            self._check(row, cmd)  # again: an update that waited on the clocks saw an older case
            added = await self._change(lambda at: row.apply(self._state, cmd, at))
        return self._state.model_copy(update={"timeline": added})

    def _check(self, row: Update, cmd: Command) -> None:
        try:
            check(row.name, self._state, cmd)
        except Rejected as err:  # its type (Rejected, NotAllowed, Stale) tells the caller which
            raise ApplicationError(str(err), type=type(err).__name__, non_retryable=True) from None

    # ---- changes and their effects -------------------------------------------------------

    @asynccontextmanager
    async def _clock(self) -> AsyncIterator[None]:
        """Hold the clocks. Whoever comes first (run or an early update) accepts the case."""
        async with self._lock:
            if not self._accepted:
                self._accepted = True
                await self._carry_out(self._state.accept(self._time.now()))
            yield

    async def _change(self, transition: Callable[[datetime], Effects]) -> list[TimelineEvent]:
        """Run a transition of the case model now and carry out what it asks. Call holding the clocks."""
        before = len(self._state.timeline)
        effects = transition(self._time.now())
        added = self._state.timeline[before:]
        self._log(added)
        await self._carry_out(effects)
        return added

    async def _carry_out(self, effects: Effects) -> None:
        s = self._state
        for name, department in effects.warned:
            metrics.warning(s, name, department)
        for name, department in effects.breached:
            metrics.breach(s, name, department)
        for shift in effects.shifts:
            m = s.milestones[shift.milestone]
            moved = await workflow.execute_local_activity_method(
                Planner.shift_deadline,
                ShiftRequest(due_at=m.due_at, unit=m.unit, stopped_at=shift.stopped_at, resumed_at=shift.resumed_at),
                start_to_close_timeout=PLAN_TIMEOUT,
            )
            s.moved(shift, moved.due_at, moved.estimated, effects.moved)
        if effects.plans:
            requests = [
                PlanRequest(policy=s.policy.value, track=s.track.value, category=s.category.value, **vars(p))
                for p in effects.plans
            ]
            s.add_milestones(
                await workflow.execute_local_activity_method(
                    Planner.plan_deadlines, requests, start_to_close_timeout=PLAN_TIMEOUT
                )
            )
        for tell in effects.notices:
            self._notices.tell(tell)
        s.seal()  # the change is carried out: its events are final

    def _log(self, events: list[TimelineEvent]) -> None:
        due = attributes.next_deadline(self._state)
        for e in events:
            workflow.logger.info(
                f"case {e.kind}",
                extra={
                    "case_event": e.kind,
                    "actor": e.actor.id if e.actor else "engine",
                    "deadline": due.isoformat() if due else None,
                },
            )

    async def _sleep(self) -> None:
        """Until the next deadline or warning, or until the case changes."""
        wake = self._state.next_wake()
        if wake is not None and wake <= self._time.now():
            return
        self._alarm.set_for(wake)
        version = self._state.version
        await workflow.wait_condition(
            lambda: (
                self._state.version != version
                or self._state.status in FINISHED
                or self._alarm.rang()
                or self._time_to_continue()
            )
        )

    # ---- notices -------------------------------------------------------------------------

    async def _greet(self) -> None:
        metrics.case_accepted(self._state)
        if self._input.complaint.complainant is None:
            # Found on patrol: nobody to tell, so acceptance is the acknowledgement.
            patrol = functools.partial(self._state.acknowledged, "nobody: grid patrol", done_at=self._state.received_at)
            async with self._clock():
                await self._change(patrol)
            return

        async def acknowledge() -> None:
            tell = Tell("complainant", NoticeKind.acknowledgement, "acknowledgement")
            if await self._notices.send(tell, title=self._input.complaint.title):  # that meets the milestone
                async with self._clock():
                    await self._change(functools.partial(self._state.acknowledged, "complainant"))

        self._notices.track(acknowledge())

    def _given_up(self, notice: Notice, error: str) -> None:
        kind = notice.kind.value  # `notice_kind`: `kind` is the event's own
        at = self._time.now()
        self._log(
            [self._state.record("notice_failed", None, at, recipient=notice.recipient, notice_kind=kind, error=error)]
        )
        self._state.seal()
        metrics.notice_abandoned(kind)

    # ---- repeat complaints and the read model --------------------------------------------

    async def _look_for_earlier_case(self) -> None:
        """The same complainant (or grid) about the same thing: merge into an open case, or
        escalate from the start when it repeats one closed recently."""
        s = self._state
        query = RepeatQuery(
            case_id=s.case_id, complaint=self._input.complaint, received_at=s.received_at, place_key=s.place_key()
        )
        match = await self._find_earlier_case(query)
        while match is not None and match.open:
            try:
                await workflow.get_external_workflow_handle(match.case_id).signal(
                    "record_repeat",
                    RepeatComplaint(
                        case_id=s.case_id, title=self._input.complaint.title, received_at=s.received_at, risk=s.risk
                    ),
                )
            except ApplicationError as err:
                if err.type != CLOSED_MEANWHILE:
                    # Not "it closed": fail this task (retried, and `list --stuck` shows it), never guess.
                    raise RuntimeError(f"telling case {match.case_id} of a repeat failed: {err}") from err
                # It closed meanwhile and gave up its claim: look again, it may be someone else's now.
                query = query.model_copy(update={"gone": [*query.gone, match.case_id]})
                match = await self._find_earlier_case(query)
            else:
                await self._change(functools.partial(s.merge, match.case_id))
                metrics.case_merged(s)
                return
        if match is not None:
            async with self._clock():
                await self._change(functools.partial(s.repeats_closed, match.case_id, match.closed_at))

    async def _count_callers_cases(self) -> None:
        """初信初访 (edition 10): is this the caller's first case in the district, or their fifth?"""
        s, person = self._state, self._input.complaint.complainant
        if s.edition < Edition.first_complaints or person is None:
            return
        query = CallerQuery(
            case_id=s.case_id,
            phone=person.phone,
            district_code=s.place.district if s.place else None,
            district=self._input.complaint.location.district,
            received_at=s.received_at,
        )
        s.caller = await _look_up(Records.caller_history, query)

    async def _find_earlier_case(self, query: RepeatQuery) -> RepeatMatch | None:
        return await _look_up(Records.find_earlier_case, query)

    # ---- closing and continuing as new ---------------------------------------------------

    async def _drain(self) -> None:
        """Let every update handler and notice finish, and the read model catch up: before
        closing or continuing as new."""
        while True:
            await workflow.wait_condition(lambda: workflow.all_handlers_finished() and not self._lock.locked())
            if await self._notices.settle():
                continue
            await workflow.wait_condition(self._projection.caught_up)
            if workflow.all_handlers_finished() and not self._lock.locked() and self._notices.quiet():
                break
        await self._projection.stop()

    def _time_to_continue(self) -> bool:
        # A notice still retrying, or a read-model write, would hold up the move to a new run.
        info = workflow.info()
        long = (
            info.is_continue_as_new_suggested() or info.get_current_history_length() >= self._input.max_history_events
        )
        return long and self._notices.quiet() and self._projection.caught_up()


async def _look_up(method: Callable[[Records, Q], Awaitable[R]], query: Q) -> R:
    """One indexed read of the read model: a local activity, no round trip through the server."""
    return await workflow.execute_local_activity_method(
        method,
        query,
        start_to_close_timeout=LOOKUP_TIMEOUT,
        retry_policy=PATIENT,
        local_retry_threshold=LOCAL_RETRY_THRESHOLD,
    )


def _edition() -> Edition:
    """The rules a new case runs under: the newest edition this history knows (models/editions.py).
    Asked once, when the case starts; a case continued as new carries its edition on."""
    for edition in sorted(PATCHES, reverse=True):
        if workflow.patched(PATCHES[edition]):
            return edition
    return Edition.first


def _handler(row: Update) -> Any:
    """The update named by the row, and its validator (which refuses without leaving an event)."""

    async def handle(self: ComplaintCase, cmd: Command) -> CaseState:
        return await self._update(row, cmd)

    def validate(self: ComplaintCase, cmd: Command) -> None:
        self._check(row, cmd)

    handle.__annotations__ = {"cmd": row.command, "return": CaseState}
    validate.__annotations__ = {"cmd": row.command, "return": None}
    handle.__name__ = handle.__qualname__ = row.name
    update = workflow.update(name=row.name)(handle)
    update.validator(validate)
    return update


for _row in UPDATES.values():
    setattr(ComplaintCase, _row.name, _handler(_row))
workflow.defn(name=WORKFLOW_TYPE)(ComplaintCase)
