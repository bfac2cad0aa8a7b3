"""ComplaintCase: one complaint, from acceptance to the follow-up visit that closes it.

Every promise of the policy is a milestone with a deadline fixed when its anchor happens. The
main loop sleeps until the earliest open deadline (or until an update changes the clocks) and
records a breach the moment one passes. Updates change the case; the state lives in the object,
built in __init__, so an update may arrive in the same task as the start.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities import Notifier, Planner, PlanRequest, Records, ShiftRequest
    from models import (
        Actor,
        AssignLeader,
        CaseInput,
        CaseState,
        CaseStatus,
        Command,
        Complaint,
        DecideExtension,
        DecideSuspension,
        Dispatch,
        Escalate,
        Milestone,
        Notice,
        NoticeKind,
        RecordContact,
        RecordFollowUp,
        RecordVerification,
        Reply,
        ReportIn,
        ReportProgress,
        RequestExtension,
        RequestSuspension,
        Resolve,
        Resume,
        Satisfaction,
        SubmitOpinion,
        SummonDepartments,
        TimelineEvent,
        Transfer,
        received_at_problem,
    )
    from models.records import CaseSnapshot, RepeatComplaint, RepeatMatch, RepeatQuery
    from sla.policies import REOPENS_TO_ESCALATE, SETTLED_BY_RESOLUTION
    from workflows import access, metrics
    from workflows import search_attributes as attributes

PLAN_TIMEOUT = timedelta(seconds=30)
NOTICE_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5))
NOTICE_GIVE_UP = timedelta(days=1)
# The read model may be down for a while: keep trying, never give up on a write.
RECORD_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))
LOOKUP_TIMEOUT = timedelta(seconds=10)
# A look-up that fails waits for its retry on a timer, not inside the workflow task: a read-model
# outage never holds up the case's updates.
LOCAL_RETRY_THRESHOLD = timedelta(milliseconds=500)
FINISHED = (CaseStatus.closed, CaseStatus.merged)
# What a signal to a case that is no longer running fails with (the SDK's failure type).
CLOSED_MEANWHILE = "ExternalWorkflowExecutionNotFound"


def answer(handler: Callable[[ComplaintCase, Any], Awaitable[CaseState]]) -> Callable[..., Awaitable[CaseState]]:
    """An update's answer: the case after it, its timeline holding only the events this update
    added (the contract), so the answer recorded in history with every update stays small."""

    @functools.wraps(handler)
    async def answered(self: ComplaintCase, cmd: Any) -> CaseState:
        info = workflow.current_update_info()
        key = info.id if info else ""
        self._answers[key] = []
        try:
            state = await handler(self, cmd)
            return state.model_copy(update={"timeline": list(self._answers[key])})
        finally:
            del self._answers[key]

    return answered


@workflow.defn(name="ComplaintCase")
class ComplaintCase:
    @workflow.init
    def __init__(self, input: CaseInput) -> None:
        self._input = input
        self._answers: dict[str, list[TimelineEvent]] = {}  # update id -> the events it added
        self._lock = asyncio.Lock()  # clock changes happen one at a time, in arrival order
        self._notices: list[asyncio.Task[None]] = []
        self._notice_seq = 0
        self._clocks_changed = False
        self._records: asyncio.Task[None] | None = None  # keeps the read model in step
        self._records_stop = False
        self._published: dict[str, Any] = {}
        self._timer: asyncio.Task[None] | None = None
        self._timer_at: datetime | None = None  # when self._timer fires
        if input.carried is not None:
            self._state = input.carried.model_copy(update={"runs": input.carried.runs + 1})
            self._accepted = True
            # What the previous run wrote to the read model (it drained before continuing as new).
            self._recorded_version, self._recorded_events = self._state.version, len(self._state.timeline)
            return
        self._recorded_version, self._recorded_events = 0, 0
        complaint = input.complaint
        problem = received_at_problem(complaint.received_at, workflow.info().start_time, max_age_days=10_000)
        if problem:
            raise ApplicationError(f"invalid CaseInput: {problem}", type="InvalidInput", non_retryable=True)
        received_at = complaint.received_at or workflow.now()
        self._state = CaseState(
            case_id=workflow.info().workflow_id,
            policy=input.policy,
            track=complaint.track,
            category=complaint.category,
            received_at=received_at,
            community=complaint.location.community,
            has_complainant=complaint.complainant is not None,
        )
        self._accepted = False
        self._event(
            "received",
            None,
            at=received_at,
            channel=complaint.channel.value,
            title=complaint.title,
            location=complaint.location.model_dump(exclude_none=True),
        )

    @workflow.run
    async def run(self, input: CaseInput) -> CaseState:
        if input.carried is None:
            await self._look_for_earlier_case()
        # After the look-up: the first write to the read model carries its outcome too.
        self._records = asyncio.create_task(self._keep_records())
        if self._state.status == CaseStatus.merged:
            await self._drain()
            self._publish()
            return self._state
        async with self._clock():
            pass  # accepts the case: fixes the acceptance deadlines
        if input.carried is None:
            metrics.case_accepted(self._state)
            if input.complaint.complainant is None:
                # Found on patrol: nobody to tell, so acceptance is the acknowledgement.
                self._complete(
                    "acknowledge", self._state.received_at, self._event("acknowledged", None, to="nobody: grid patrol")
                )
            else:
                self._spawn(self._acknowledge())
        while self._state.status not in FINISHED:
            self._publish()
            await self._sleep_until_next_deadline()
            async with self._clock():
                await self._watch_deadlines()
            if self._state.status not in FINISHED and self._time_to_continue():
                await self._drain()
                workflow.continue_as_new(self._input.model_copy(update={"carried": self._state}))
        await self._drain()
        self._publish()
        return self._state

    @workflow.query
    def state(self) -> CaseState:
        return self._state

    @workflow.query
    def complaint(self) -> Complaint:
        """The complaint as filed (personal data included: the gateway masks it by role)."""
        return self._input.complaint

    @workflow.signal
    def record_repeat(self, repeat: RepeatComplaint) -> None:
        """A new complaint repeats this open case: it was merged here."""
        s = self._state
        self._event(
            "repeat_complaint",
            None,
            case_id=repeat.case_id,
            title=repeat.title,
            received_at=repeat.received_at.isoformat(),
        )
        if s.department:
            self._notify(
                f"department:{s.department}",
                NoticeKind.repeat,
                "repeat",
                repeat_case_id=repeat.case_id,
                title=repeat.title,
            )

    # ---- updates -------------------------------------------------------------------------

    @workflow.update
    @answer
    async def dispatch(self, cmd: Dispatch) -> CaseState:
        at = workflow.now()
        s = self._state
        s.department = cmd.department
        s.first_department = s.first_department or cmd.department  # 首问首办: stays accountable
        s.status = CaseStatus.dispatched
        event = self._event("dispatched", cmd.actor, department=cmd.department)
        async with self._clock():
            self._complete("dispatch", at, event)
            await self._plan("assignment", at, department=cmd.department)
        self._notify(f"department:{cmd.department}", NoticeKind.assignment, "assignment", department=cmd.department)
        return s

    @dispatch.validator
    def _check_dispatch(self, cmd: Dispatch) -> None:
        self._check("dispatch", cmd)

    @workflow.update
    @answer
    async def record_contact(self, cmd: RecordContact) -> CaseState:
        return await self._department_step("contact", "contacted", cmd, note=cmd.note, reached=cmd.reached)

    @record_contact.validator
    def _check_record_contact(self, cmd: RecordContact) -> None:
        self._check("record_contact", cmd)

    @workflow.update
    @answer
    async def record_verification(self, cmd: RecordVerification) -> CaseState:
        return await self._department_step("verify", "verified", cmd, findings=cmd.findings)

    @record_verification.validator
    def _check_record_verification(self, cmd: RecordVerification) -> None:
        self._check("record_verification", cmd)

    @workflow.update
    @answer
    async def reply(self, cmd: Reply) -> CaseState:
        return await self._department_step("reply", "replied", cmd, message=cmd.message)

    @reply.validator
    def _check_reply(self, cmd: Reply) -> None:
        self._check("reply", cmd)

    @workflow.update
    @answer
    async def submit_opinion(self, cmd: SubmitOpinion) -> CaseState:
        return await self._department_step(
            "opinion", "opinion_filed", cmd, findings=cmd.findings, handling=cmd.handling, next_steps=cmd.next_steps
        )

    @submit_opinion.validator
    def _check_submit_opinion(self, cmd: SubmitOpinion) -> None:
        self._check("submit_opinion", cmd)

    @workflow.update
    @answer
    async def report_progress(self, cmd: ReportProgress) -> CaseState:
        # Each report meets the earliest progress report owed (13710: the 3-day one, then monthly).
        return await self._department_step("progress_report", "progress_reported", cmd, every=False, note=cmd.note)

    @report_progress.validator
    def _check_report_progress(self, cmd: ReportProgress) -> None:
        self._check("report_progress", cmd)

    @workflow.update
    @answer
    async def transfer(self, cmd: Transfer) -> CaseState:
        at = workflow.now()
        s = self._state
        previous = s.department
        s.department = cmd.to_department
        s.status = CaseStatus.dispatched
        self._event(
            "transferred",
            cmd.actor,
            from_department=previous,
            to_department=cmd.to_department,
            explanation=cmd.explanation,
        )
        async with self._clock():
            for m in s.milestones:
                # The new department owes its own contact, verification, reply and opinion.
                if m.open and m.department == previous:
                    m.superseded = True
            await self._plan("assignment", at, department=cmd.to_department)
        self._notify(
            f"department:{cmd.to_department}",
            NoticeKind.assignment,
            "transfer_in",
            from_department=previous or "",
            explanation=cmd.explanation,
        )
        self._notify_complainant(
            NoticeKind.transfer, "transfer", department=cmd.to_department, explanation=cmd.explanation
        )
        return s

    @transfer.validator
    def _check_transfer(self, cmd: Transfer) -> None:
        self._check("transfer", cmd)

    @workflow.update
    @answer
    async def request_extension(self, cmd: RequestExtension) -> CaseState:
        s = self._state
        self._start_handling()
        s.pending_extension = cmd
        self._event("extension_requested", cmd.actor, reason=cmd.reason, until=cmd.until.isoformat())
        self._notify(
            "supervisor",
            NoticeKind.assignment,
            "extension_requested",
            department=s.department or "",
            until=cmd.until.isoformat(),
        )
        return s

    @request_extension.validator
    def _check_request_extension(self, cmd: RequestExtension) -> None:
        self._check("request_extension", cmd)

    @workflow.update
    @answer
    async def decide_extension(self, cmd: DecideExtension) -> CaseState:
        s = self._state
        request = s.pending_extension
        assert request is not None  # the validator saw it, and nothing awaits in between
        s.pending_extension = None
        async with self._clock():
            resolve = s.open_milestones("resolve")
            if cmd.approve and resolve and not resolve[-1].breached:
                previous = resolve[-1].due_at
                resolve[-1].due_at = request.until
                self._clocks_changed = True
                self._event(
                    "extension_approved",
                    cmd.actor,
                    note=cmd.note,
                    previous_due_at=previous.isoformat(),
                    due_at=request.until.isoformat(),
                )
            else:
                self._event(
                    "extension_refused",
                    cmd.actor,
                    note=cmd.note,
                    why=None if not cmd.approve else "the resolve deadline passed before the decision",
                )
        return s

    @decide_extension.validator
    def _check_decide_extension(self, cmd: DecideExtension) -> None:
        self._check("decide_extension", cmd)

    @workflow.update
    @answer
    async def resolve(self, cmd: Resolve) -> CaseState:
        at = workflow.now()
        s = self._state
        s.status = CaseStatus.resolved
        s.resolved_at = at
        event = self._event("resolved", cmd.actor, resolution=cmd.resolution)
        async with self._clock():
            self._complete("resolve", at, event)
            self._record_settled(event, s.settle("resolution", at, SETTLED_BY_RESOLUTION))
            await self._plan("resolution", at)
        return s

    @resolve.validator
    def _check_resolve(self, cmd: Resolve) -> None:
        self._check("resolve", cmd)

    @workflow.update
    @answer
    async def record_follow_up(self, cmd: RecordFollowUp) -> CaseState:
        at = workflow.now()
        s = self._state
        s.satisfaction = cmd.satisfaction
        event = self._event("followed_up", cmd.actor, satisfaction=cmd.satisfaction.value, note=cmd.note)
        async with self._clock():
            self._complete("follow_up", at, event)
            if cmd.satisfaction != Satisfaction.dissatisfied:
                s.status = CaseStatus.closed  # 销号
                s.closed_at = at
                closed = self._event("closed", None, satisfaction=cmd.satisfaction.value)
                self._record_settled(closed, s.settle("closed", at))  # nothing stays promised on a closed case
                return s
            s.reopen_count += 1
            s.status = CaseStatus.handling
            s.resolved_at = None
            self._event("reopened", None, reopen_count=s.reopen_count)
            await self._plan("reopen", at)
            if s.reopen_count >= REOPENS_TO_ESCALATE:
                await self._escalate(f"dissatisfied follow-up number {s.reopen_count}", None, at)
        return s

    @record_follow_up.validator
    def _check_record_follow_up(self, cmd: RecordFollowUp) -> None:
        self._check("record_follow_up", cmd)

    @workflow.update
    @answer
    async def escalate(self, cmd: Escalate) -> CaseState:
        at = workflow.now()
        async with self._clock():
            await self._escalate(cmd.reason, cmd.actor, at)
        return self._state

    @escalate.validator
    def _check_escalate(self, cmd: Escalate) -> None:
        self._check("escalate", cmd)

    @workflow.update
    @answer
    async def assign_leader(self, cmd: AssignLeader) -> CaseState:
        at = workflow.now()
        s = self._state
        previous = s.leader
        s.leader = cmd.leader
        event = self._event(
            "leader_assigned", cmd.actor, leader=cmd.leader.model_dump(), replaces=previous.id if previous else None
        )
        async with self._clock():
            self._complete("leader", at, event)
        self._notify(
            f"leader:{cmd.leader.id}",
            NoticeKind.escalation,
            "leader_assigned",
            leader=cmd.leader.name,
            reason=s.escalation_reason or "",
        )
        return s

    @assign_leader.validator
    def _check_assign_leader(self, cmd: AssignLeader) -> None:
        self._check("assign_leader", cmd)

    @workflow.update
    @answer
    async def request_suspension(self, cmd: RequestSuspension) -> CaseState:
        s = self._state
        self._start_handling()
        s.pending_suspension = cmd
        self._event("suspension_requested", cmd.actor, reason=cmd.reason)
        self._notify(
            "supervisor",
            NoticeKind.assignment,
            "suspension_requested",
            department=s.department or "",
            reason=cmd.reason,
        )
        return s

    @request_suspension.validator
    def _check_request_suspension(self, cmd: RequestSuspension) -> None:
        self._check("request_suspension", cmd)

    @workflow.update
    @answer
    async def decide_suspension(self, cmd: DecideSuspension) -> CaseState:
        at = workflow.now()
        s = self._state
        request = s.pending_suspension
        s.pending_suspension = None
        async with self._clock():
            running = [m for m in s.open_milestones("resolve") if not m.breached]
            if cmd.approve and running:
                for m in running:
                    m.paused_since = at  # 中止计时: the clock stands still from now
                s.suspended = True
                self._clocks_changed = True
                self._event("suspended", cmd.actor, note=cmd.note, reason=request.reason if request else None)
            else:
                self._event(
                    "suspension_refused",
                    cmd.actor,
                    note=cmd.note,
                    why=None if not cmd.approve else "the resolve deadline passed before the decision",
                )
        return s

    @decide_suspension.validator
    def _check_decide_suspension(self, cmd: DecideSuspension) -> None:
        self._check("decide_suspension", cmd)

    @workflow.update
    @answer
    async def resume(self, cmd: Resume) -> CaseState:
        at = workflow.now()
        s = self._state
        s.suspended = False
        async with self._clock():
            moved = []
            for m in s.milestones:
                if m.paused_since is None:
                    continue
                stopped_at, m.paused_since = m.paused_since, None
                m.paused_seconds += (at - stopped_at).total_seconds()
                shifted = await workflow.execute_local_activity_method(
                    Planner.shift_deadline,
                    ShiftRequest(due_at=m.due_at, unit=m.unit, stopped_at=stopped_at, resumed_at=at),
                    start_to_close_timeout=PLAN_TIMEOUT,
                )
                delta = shifted.due_at - m.due_at
                moved.append({"milestone": m.name, "from": m.due_at.isoformat(), "to": shifted.due_at.isoformat()})
                m.due_at, m.estimated = shifted.due_at, m.estimated or shifted.estimated
                m.warn_at = [w + delta for w in m.warn_at]
            self._clocks_changed = True
            self._event("resumed", cmd.actor, at=at, note=cmd.note, moved=moved)
        return s

    @resume.validator
    def _check_resume(self, cmd: Resume) -> None:
        self._check("resume", cmd)

    @workflow.update
    @answer
    async def summon_departments(self, cmd: SummonDepartments) -> CaseState:
        at = workflow.now()
        s = self._state
        self._event(
            "summoned",
            cmd.actor,
            notice_no=cmd.notice_no,
            departments=cmd.departments,
            reason=cmd.reason,
            meet_at=cmd.meet_at.isoformat() if cmd.meet_at else None,
        )
        async with self._clock():
            await self._plan("summons", at, departments=cmd.departments)
        for department in cmd.departments:
            self._notify(
                f"department:{department}",
                NoticeKind.summons,
                "summons",
                notice_no=cmd.notice_no,
                community=s.community or "",
                reason=cmd.reason,
            )
        return s

    @summon_departments.validator
    def _check_summon_departments(self, cmd: SummonDepartments) -> None:
        self._check("summon_departments", cmd)

    @workflow.update
    @answer
    async def report_in(self, cmd: ReportIn) -> CaseState:
        at = workflow.now()
        event = self._event("reported_in", cmd.actor, department=cmd.actor.department, note=cmd.note)
        async with self._clock():
            self._complete(f"report_in:{cmd.actor.department}", at, event)
        return self._state

    @report_in.validator
    def _check_report_in(self, cmd: ReportIn) -> None:
        self._check("report_in", cmd)

    # ---- the clocks ----------------------------------------------------------------------

    @asynccontextmanager
    async def _clock(self) -> AsyncIterator[None]:
        """Hold the clocks. Whoever comes first (run or an early update) accepts the case."""
        async with self._lock:
            if not self._accepted:
                self._accepted = True
                await self._plan("acceptance", self._state.received_at)
            yield

    async def _plan(
        self, anchor: str, at: datetime, department: str | None = None, departments: list[str] | None = None
    ) -> None:
        s = self._state
        planned = await workflow.execute_local_activity_method(
            Planner.plan_milestones,
            PlanRequest(
                policy=s.policy.value,
                track=s.track.value,
                category=s.category.value,
                anchor=anchor,
                at=at,
                department=department,
                departments=departments,
            ),
            start_to_close_timeout=PLAN_TIMEOUT,
        )
        s.milestones.extend(planned)
        s.version += 1
        self._clocks_changed = True

    def _complete(self, name: str, at: datetime, event: TimelineEvent | None, *, every: bool = True) -> None:
        """Mark the open milestone(s) of that name done; a breached one still takes a late completion."""
        done = self._state.open_milestones(name)
        if not every:
            done = sorted(done, key=lambda m: m.due_at)[:1]
        for m in done:
            m.done_at = at
            if m.repeat_anchor and not m.breached:
                self._spawn_plan(m.repeat_anchor, m.due_at)
        if event is not None and done:
            event.detail["milestones"] = [
                {"name": m.name, "due_at": m.due_at.isoformat(), "met": not m.breached} for m in done
            ]
        self._state.version += 1
        self._clocks_changed = True

    def _spawn_plan(self, anchor: str, at: datetime) -> None:
        async def plan_next() -> None:
            async with self._clock():
                await self._plan(anchor, at)

        self._spawn(plan_next())

    def _next_warning(self, m: Milestone) -> datetime | None:
        return m.warn_at[m.warnings_sent] if m.warnings_sent < len(m.warn_at) else None

    async def _sleep_until_next_deadline(self) -> None:
        self._clocks_changed = False
        running = self._state.running_milestones()
        pending = [m.due_at for m in running] + [w for m in running if (w := self._next_warning(m)) is not None]
        wait = min(pending) - workflow.now() if pending else None
        if wait is not None and wait <= timedelta(0):
            return
        await self._sleep(min(pending) if pending else None)

    async def _sleep(self, wake_at: datetime | None) -> None:
        """Sleep until wake_at, or until the case changes. A timer that fires too early costs one
        idle wake; one that fires too late would miss a breach. So a running timer is kept while
        it fires no later than wake_at, instead of a new timer (and a cancelled one) per update."""
        if self._timer is not None and self._timer.done():
            self._timer = None  # it fired: this wake was its own
        if wake_at is not None and (self._timer is None or self._timer_at is None or self._timer_at > wake_at):
            if self._timer is not None:
                self._timer.cancel()
            self._timer_at = wake_at
            self._timer = asyncio.create_task(asyncio.sleep((wake_at - workflow.now()).total_seconds()))
        version, timer = self._state.version, self._timer
        await workflow.wait_condition(
            lambda: (
                self._clocks_changed
                or self._state.version != version
                or self._state.status in FINISHED
                or (timer is not None and timer.done())
                or self._time_to_continue()
            )
        )

    def _record_warnings(self, now: datetime) -> None:
        """临期预警: the department is told before the deadline, at the policy's fractions."""
        s = self._state
        for m in self._state.running_milestones():
            fired = []
            while (w := self._next_warning(m)) is not None and w <= now and m.due_at > now:
                m.warnings_sent += 1
                fired.append(w)
            if not fired:
                continue
            m.warned = True
            department = s.owner(m)
            metrics.warning(s, m.name, department)
            self._event("warning", None, milestone=m.name, due_at=m.due_at.isoformat(), department=department)
            self._notify(
                f"department:{department}" if department else "supervisor",
                NoticeKind.warning,
                "warning",
                milestone=m.name,
                due_at=m.due_at.isoformat(),
            )

    async def _watch_deadlines(self) -> None:
        """Time has passed: warn of deadlines near, and record those passed the moment they pass."""
        now = workflow.now()
        s = self._state
        self._record_warnings(now)
        for m in sorted((m for m in self._state.running_milestones() if m.due_at <= now), key=lambda m: m.due_at):
            m.breached = True
            m.breached_at = now
            s.breaches.append(m.name)
            department = s.owner(m)
            metrics.breach(s, m.name, department)
            self._event("breach", None, milestone=m.name, due_at=m.due_at.isoformat(), department=department)
            for recipient in ("supervisor", *([f"department:{department}"] if department else [])):
                self._notify(recipient, NoticeKind.breach, "breach", milestone=m.name, due_at=m.due_at.isoformat())
            for action in m.on_breach:
                if action == "escalate":
                    await self._escalate(f"{m.name} deadline {m.due_at.isoformat()} passed", None, now)
                elif action.startswith("anchor:"):
                    await self._plan(action.removeprefix("anchor:"), m.due_at)
            if m.repeat_anchor:
                await self._plan(m.repeat_anchor, m.due_at)

    async def _escalate(self, reason: str, actor: Actor | None, at: datetime) -> None:
        """领导包案. Call holding the clocks."""
        s = self._state
        if s.escalated:
            self._event("escalation_reason", actor, reason=reason)
            return
        s.escalated = True
        s.escalation_reason = reason
        self._event("escalated", actor, reason=reason)
        await self._plan("escalation", at)
        self._notify("supervisor", NoticeKind.escalation, "escalation", reason=reason)

    # ---- repeat complaints and the read model --------------------------------------------

    async def _look_for_earlier_case(self) -> None:
        """The same complainant (or grid) about the same thing: merge into an open case, or
        escalate from the start when it repeats one closed recently."""
        s = self._state
        query = RepeatQuery(case_id=s.case_id, complaint=self._input.complaint, received_at=s.received_at)
        match = await self._find_earlier_case(query)
        while match is not None and match.open:
            try:
                await workflow.get_external_workflow_handle(match.case_id).signal(
                    ComplaintCase.record_repeat,
                    RepeatComplaint(case_id=s.case_id, title=self._input.complaint.title, received_at=s.received_at),
                )
            except ApplicationError as err:
                if err.type != CLOSED_MEANWHILE:
                    # Not "it closed": fail this task (retried, and `list --stuck` shows it), never guess.
                    raise RuntimeError(f"telling case {match.case_id} of a repeat failed: {err}") from err
                # It closed meanwhile and gave up its claim: look again, it may be someone else's now.
                query = query.model_copy(update={"gone": [*query.gone, match.case_id]})
                match = await self._find_earlier_case(query)
            else:
                s.status = CaseStatus.merged
                s.merged_into = match.case_id
                s.settle("merged", workflow.now())  # its clocks never started: nothing is owed
                self._event("merged", None, into=match.case_id)
                metrics.case_merged(s)
                self._notify_complainant(NoticeKind.acknowledgement, "merged", into=match.case_id)
                return
        if match is None:
            return
        s.repeat_of = match.case_id
        self._event(
            "repeat_of", None, case_id=match.case_id, closed_at=match.closed_at.isoformat() if match.closed_at else None
        )
        async with self._clock():
            await self._escalate(
                f"repeats case {match.case_id}, closed "
                f"{match.closed_at.date().isoformat() if match.closed_at else 'recently'}",
                None,
                workflow.now(),
            )

    async def _find_earlier_case(self, query: RepeatQuery) -> RepeatMatch | None:
        # One indexed read: a local activity, no round trip through the server.
        return await workflow.execute_local_activity_method(
            Records.find_earlier_case,
            query,
            start_to_close_timeout=LOOKUP_TIMEOUT,
            retry_policy=RECORD_RETRY,
            local_retry_threshold=LOCAL_RETRY_THRESHOLD,
        )

    async def _keep_records(self) -> None:
        """Write each change to the read model, one snapshot at a time, in order."""
        while True:
            await workflow.wait_condition(lambda: self._state.version > self._recorded_version or self._records_stop)
            s = self._state
            if s.version <= self._recorded_version:
                return
            version, events = s.version, len(s.timeline)
            await workflow.execute_activity_method(
                Records.record_case,
                CaseSnapshot(
                    complaint=self._input.complaint,
                    state=s.model_copy(update={"timeline": []}),
                    events=s.timeline[self._recorded_events :],
                    first_seq=self._recorded_events,
                    run_id=workflow.info().run_id,
                ),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RECORD_RETRY,
            )
            self._recorded_version, self._recorded_events = version, events

    def _publish(self) -> None:
        """Bring the case's search attributes up to date (only what changed)."""
        current = attributes.values(self._state, self._input.complaint)
        changes = attributes.updates(current, self._published)
        if changes:
            workflow.upsert_search_attributes(changes)
            self._published = current

    def _recorded(self) -> bool:
        return self._records is None or self._state.version <= self._recorded_version

    # ---- helpers -------------------------------------------------------------------------

    async def _department_step(
        self, milestone: str, kind: str, cmd: Command, *, every: bool = True, **detail: Any
    ) -> CaseState:
        at = workflow.now()
        self._start_handling()
        event = self._event(kind, cmd.actor, **detail)
        async with self._clock():
            self._complete(milestone, at, event, every=every)
        return self._state

    @staticmethod
    def _record_settled(event: TimelineEvent, settled: list[Milestone]) -> None:
        if settled:
            event.detail["settled"] = [
                {"name": m.name, "how": m.settled, "due_at": m.due_at.isoformat(), "department": m.department}
                for m in settled
            ]

    def _start_handling(self) -> None:
        if self._state.status == CaseStatus.dispatched:
            self._state.status = CaseStatus.handling

    def _check(self, update: str, cmd: Command) -> None:
        try:
            access.check(update, self._state, cmd)
        except access.Rejected as err:  # its type (Rejected, NotAllowed, Stale) tells the caller which
            raise ApplicationError(str(err), type=type(err).__name__, non_retryable=True) from None

    def _event(self, kind: str, actor: Actor | None, *, at: datetime | None = None, **detail: Any) -> TimelineEvent:
        event = TimelineEvent(
            at=at or workflow.now(), kind=kind, actor=actor, detail={k: v for k, v in detail.items() if v is not None}
        )
        self._state.timeline.append(event)
        self._state.version += 1
        update = workflow.current_update_info()  # asyncio tasks carry it: the handler's own events
        if update is not None and update.id in self._answers:
            self._answers[update.id].append(event)
        due = attributes.next_deadline(self._state)
        workflow.logger.info(
            f"case {kind}",
            extra={
                "case_event": kind,
                "actor": actor.id if actor else "engine",
                "deadline": due.isoformat() if due else None,
            },
        )
        return event

    async def _acknowledge(self) -> None:
        """Tell the complainant the case is accepted; that meets the acknowledge milestone."""
        complaint = self._input.complaint
        assert complaint.complainant is not None
        sent = await self._send(
            Notice(
                case_id=self._state.case_id,
                recipient="complainant",
                kind=NoticeKind.acknowledgement,
                address=complaint.complainant.phone,
                template="acknowledgement",
                params={"case_id": self._state.case_id, "title": complaint.title},
            )
        )
        if sent:
            self._complete("acknowledge", workflow.now(), self._event("acknowledged", None, to="complainant"))

    def _notify(self, recipient: str, kind: NoticeKind, template: str, **params: str) -> None:
        """A notice as a template and its parameters: the notifier writes the text (config/notices.toml)."""
        self._spawn(
            self._send(
                Notice(
                    case_id=self._state.case_id,
                    recipient=recipient,
                    kind=kind,
                    template=template,
                    params={"case_id": self._state.case_id, **params},
                )
            )
        )

    def _notice_id(self) -> str:
        self._notice_seq += 1
        return f"{workflow.info().run_id}/{self._notice_seq}"

    def _notify_complainant(self, kind: NoticeKind, template: str, **params: str) -> None:
        complainant = self._input.complaint.complainant
        if complainant is not None:
            self._spawn(
                self._send(
                    Notice(
                        case_id=self._state.case_id,
                        recipient="complainant",
                        kind=kind,
                        template=template,
                        params={"case_id": self._state.case_id, **params},
                        address=complainant.phone,
                    )
                )
            )

    async def _send(self, notice: Notice) -> bool:
        notice.id = self._notice_id()
        try:
            await workflow.execute_activity_method(
                Notifier.send_notice,
                notice,
                start_to_close_timeout=timedelta(seconds=30),
                schedule_to_close_timeout=NOTICE_GIVE_UP,
                retry_policy=NOTICE_RETRY,
            )
            return True
        except ActivityError as err:
            # A notice that could not be sent in a day is recorded, never allowed to stop the case.
            # (`notice_kind`: `kind` is the event's own. Until this was found by mypy, a notice
            # given up raised TypeError here and failed the case's workflow task in a loop.)
            self._event(
                "notice_failed",
                None,
                recipient=notice.recipient,
                notice_kind=notice.kind.value,
                error=str(err.cause or err),
            )
            metrics.notice_abandoned(notice.kind.value)
            return False

    def _spawn(self, coro: Any) -> None:
        self._notices.append(asyncio.create_task(coro))

    async def _drain(self) -> None:
        """Let every update handler and notice finish, and the read model catch up: before
        closing or continuing as new."""
        while True:
            await workflow.wait_condition(lambda: workflow.all_handlers_finished() and not self._lock.locked())
            pending = [t for t in self._notices if not t.done()]
            self._notices = pending
            if pending:
                await asyncio.gather(*pending)
                continue
            await workflow.wait_condition(self._recorded)
            if (
                workflow.all_handlers_finished()
                and not self._lock.locked()
                and not any(not t.done() for t in self._notices)
            ):
                break
        if self._records is not None:
            self._records_stop = True
            await self._records

    def _quiet(self) -> bool:
        # A notice still retrying, or a read-model write, would hold up the move to a new run.
        return all(t.done() for t in self._notices) and self._recorded()

    def _time_to_continue(self) -> bool:
        return self._history_is_long() and self._quiet()

    def _history_is_long(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested() or info.get_current_history_length() >= self._input.max_history_events
        )
