"""What a policy promised a simulated case, and whether the work kept it.

The engine's own rules, applied as the workflow applies them: the milestones each anchor starts
(`MilestoneRule.applies`, the policy table), their deadlines (`sla.durations.deadline`), a
suspension moving the resolve deadline (`sla.durations.shifted`), an extension replacing it, a
resolve breach escalating and starting clocks (`breach_actions`: in 13710, the overdue reports),
a second dissatisfied follow-up escalating (`reopen_escalates`), a resolution settling the
department's steps (`DEPARTMENT_STEPS`), a transfer taking the first department's steps off its
books. At the
end of the period a milestone still owed and past due is late; one not yet due is not counted.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from simulation.clock import INF, Deadlines
from simulation.model import Case
from sla.durations import working_days
from sla.policies import DEPARTMENT_STEPS, MilestoneRule, breach_actions, reopen_escalates

DAY = 86400.0
MAX_CYCLES = 60  # recurring reports of one case: far more than a period holds


@dataclass(slots=True)
class Promise:
    name: str
    anchor: str
    anchor_at: float
    due: float
    done: float = INF  # INF: not done (by the end of the period)
    moved: bool = False  # a transfer took it off the department's books: not counted

    def outcome(self, end: float) -> str | None:
        """met, late, or None (not counted: moved away, or not yet due at the end)."""
        if self.moved:
            return None
        if self.done <= end:
            return "met" if self.done <= self.due else "late"
        return "late" if self.due <= end else None


@dataclass
class Verdict:
    """One case under one policy."""

    promises: list[Promise] = field(default_factory=list)
    escalated_at: float | None = None
    extension: tuple[float, float] | None = None  # asked at, the deadline granted
    suspended: bool = False  # the resolve clock stopped (it had not run out when the stop came)
    closed_at: float | None = None
    resolutions: list[float] = field(default_factory=list)  # when each round was resolved, under this policy
    visits: list[float] = field(default_factory=list)  # and visited


class Rules:
    """A policy's table, with the rules each anchor starts on each track looked up once."""

    def __init__(self, rules: tuple[MilestoneRule, ...]) -> None:
        self.rules = rules
        self._starts: dict[tuple[str, str], list[MilestoneRule]] = {}

    def started_by(self, anchor: str, track: str) -> list[MilestoneRule]:
        found = self._starts.get((anchor, track))
        if found is None:  # summons (吹哨) are not simulated: no per-department rules
            found = self._starts[(anchor, track)] = [
                r for r in self.rules if r.applies(anchor, track) and not r.per_department
            ]
        return found

    def named(self, name: str) -> MilestoneRule:
        return next(r for r in self.rules if r.name == name)


def judge(case: Case, rules: Rules, book: Deadlines, end: float) -> Verdict:
    v = Verdict()
    track, category = case.track, case.category

    def plan(anchor: str, at: float) -> list[Promise]:
        made = [Promise(r.name, anchor, at, book.due(r, track, category, at)) for r in rules.started_by(anchor, track)]
        v.promises.extend(made)
        return made

    rule_of = rules.named

    def escalate(at: float) -> None:
        if v.escalated_at is None and at <= end:
            v.escalated_at = at
            for p in plan("escalation", at):
                p.done = at + case.leader_delay

    accepted = {p.name: p for p in plan("acceptance", case.arrival)}
    _done(accepted.get("acknowledge"), case.acknowledged_at)
    _done(accepted.get("dispatch"), case.dispatched_at)
    for s in case.sessions:
        owed = {p.name: p for p in plan("assignment", s.assigned_at)}
        for name, at in (("contact", s.contact_at), ("verify", s.verify_at), ("reply", s.reply_at)):
            _done(owed.get(name), at)
        _done(owed.get("opinion"), s.opinion_at)
        if s.transferred_at is not None:
            for p in owed.values():
                if p.done > s.transferred_at:
                    p.moved = True
        elif "progress_report" in accepted:  # 13710: the department's reply is its progress report
            _done(accepted["progress_report"], s.reply_at)

    resolve = accepted.get("resolve")
    waited = 0.0  # how much later than the work itself the leader's turn made things (see below)
    for round_no in range(len(case.resolutions) + 1):
        if resolve is None:
            break
        resolved = case.resolutions[round_no] + waited if round_no < len(case.resolutions) else INF
        if round_no == 0:
            v.extension, v.suspended = _first_deadline_moves(
                case, resolve, rule_of("resolve"), book, track, category, resolved, end
            )
        # An escalated case is resolved by its leader only (the access rules): not before the
        # leader is assigned. So a policy that escalates can make a resolution later.
        resolved = _after_the_leader(v, case, resolved)
        if resolved > resolve.due:  # breached: its timer fired at the deadline
            actions = breach_actions(rule_of("resolve").on_breach)
            if actions.escalates:
                escalate(resolve.due)
            for anchor in actions.starts:
                _reports(plan(anchor, resolve.due), plan, resolved, end)
            resolved = _after_the_leader(v, case, resolved)
        if round_no < len(case.resolutions):
            waited = resolved - case.resolutions[round_no]
        resolve.done = resolved
        v.resolutions.append(resolved)
        for p in v.promises:  # the resolution settles the department's steps still owed
            if p.name in DEPARTMENT_STEPS and p.done == INF and not p.moved and resolved <= end:
                p.done = resolved
        if resolved == INF:
            break
        follow_up = next((p for p in plan("resolution", resolved) if p.name == "follow_up"), None)
        if round_no >= len(case.follow_ups):
            break
        visited, dissatisfied = case.follow_ups[round_no]
        visited += waited
        v.visits.append(visited)
        _done(follow_up, visited)
        if visited > end:
            break
        if not dissatisfied:
            _close(v, visited)
            break
        if reopen_escalates(round_no + 1):
            escalate(visited)
        resolve = next((p for p in plan("reopen", visited) if p.name == "resolve"), None)
    return v


def _after_the_leader(v: Verdict, case: Case, resolved: float) -> float:
    if v.escalated_at is None or v.escalated_at > resolved:
        return resolved
    return max(resolved, v.escalated_at + case.leader_delay + 1.0)


def _close(v: Verdict, at: float) -> None:
    """A satisfied visit closes the case: what is still owed is missed if its deadline has passed,
    else no longer owed (the engine's `CaseState.settle`)."""
    v.closed_at = at
    for p in v.promises:
        if p.done > at and not p.moved:
            if p.due <= at:
                p.done = INF
            else:
                p.moved = True


def _done(promise: Promise | None, at: float | None) -> None:
    if promise is not None and at is not None:
        promise.done = at


def _first_deadline_moves(
    case: Case,
    resolve: Promise,
    rule: MilestoneRule,
    book: Deadlines,
    track: str,
    category: str,
    resolved: float,
    end: float,
) -> tuple[tuple[float, float] | None, bool]:
    """A suspension stops the resolve clock (if it has not run out when the clock stops); an
    extension, asked a day before the deadline by a department that will not make it (once it has
    contacted the complainant), replaces it. Returns the extension (when asked, the new deadline)
    and whether the clock stopped. What would be asked after the period's end never happens."""
    duration = rule.duration_for(track, category)
    contacted = max((s.contact_at or INF) for s in case.sessions[-1:]) if case.sessions else INF
    asked: tuple[float, float] | None = None

    def extend() -> None:
        nonlocal asked
        request = max(resolve.due - DAY, contacted)
        if case.extension and asked is None and resolved > request and request < min(resolve.due, end):
            resolve.due = book.of(working_days(case.extension), resolve.due)
            asked = (request, resolve.due)

    stopped_clock = False
    if case.suspended is not None and case.suspended[0] < end:
        stopped, resumed = case.suspended
        if resolve.due - DAY < stopped:
            extend()
        if stopped < resolve.due and stopped < resolved:
            resolve.due = book.shifted(resolve.due, duration, stopped, resumed)
            stopped_clock = True
    extend()
    return asked, stopped_clock


def _reports(started: list[Promise], plan: object, settled: float, end: float) -> None:
    """Recurring reports (13710's monthly progress on an overdue major case): each due one starts
    the next at its deadline, until the resolution settles the one then owed."""
    pending = [p for p in started if p.name == "progress_report"]
    for _ in range(MAX_CYCLES):
        if not pending:
            return
        report = pending.pop()
        if report.due >= settled or report.due > end:
            return
        following = plan("progress_cycle", report.due)  # type: ignore[operator]
        pending += [p for p in following if p.name == "progress_report"]


def promises(verdicts: list[Verdict]) -> Iterator[Promise]:
    for v in verdicts:
        yield from v.promises
