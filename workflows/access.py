"""Who may do what, and when: the contract's access table, checked by every update validator.

Pure code on the case state, so the same rule serves the validator, the CLI and the tests.
"""

from __future__ import annotations

from collections.abc import Callable

from models import (
    OPEN_STATUSES,
    Actor,
    CaseState,
    CaseStatus,
    Command,
    RequestExtension,
    Role,
    SummonDepartments,
    Transfer,
)


class Rejected(ValueError):
    """An update the case refuses: the message says why."""


class NotAllowed(Rejected):
    """Refused for who asks, not for where the case stands: this actor may not do this."""


class Stale(Rejected):
    """The sender saw an older version of the case than the one it is now."""


HANDLING = (CaseStatus.dispatched, CaseStatus.handling)


def _status(state: CaseState, update: str, allowed: tuple[CaseStatus, ...]) -> None:
    if state.status in (CaseStatus.closed, CaseStatus.merged):
        raise Rejected(f"{update}: case {state.case_id} is {state.status.value}; nothing more can be done")
    if state.status not in allowed:
        wanted = " or ".join(s.value for s in allowed)
        raise Rejected(f"{update}: case is {state.status.value}; {update} needs it {wanted}")


def _is_leader(state: CaseState, actor: Actor) -> bool:
    return state.escalated and actor.role == Role.leader and state.leader is not None and actor.id == state.leader.id


def _is_handler(state: CaseState, actor: Actor) -> bool:
    return actor.role == Role.handler and actor.department is not None and actor.department == state.department


def _department_or_leader(state: CaseState, actor: Actor, update: str) -> None:
    if _is_handler(state, actor) or _is_leader(state, actor):
        return
    who = f"a handler of {state.department}"
    if state.escalated:
        who += f" or the case's leader ({state.leader.id})" if state.leader else " (no leader is assigned yet)"
    raise NotAllowed(f"{update}: {_describe(actor)} may not; only {who} may")


def _roles(actor: Actor, update: str, *roles: Role) -> None:
    if actor.role not in roles:
        names = " or ".join(r.value for r in roles)
        raise NotAllowed(f"{update}: {_describe(actor)} may not; only a {names} may")


def _describe(actor: Actor) -> str:
    return f"{actor.role.value} {actor.id}" + (f" of {actor.department}" if actor.department else "")


def may_dispatch(state: CaseState, cmd: Command) -> None:
    _roles(cmd.actor, "dispatch", Role.dispatcher, Role.supervisor)
    if state.status == CaseStatus.dispatched or state.status == CaseStatus.handling:
        raise Rejected(f"dispatch: already dispatched to {state.department}; use transfer to hand it over")
    _status(state, "dispatch", (CaseStatus.received,))


def _department_action(update: str) -> Callable[[CaseState, Command], None]:
    def check(state: CaseState, cmd: Command) -> None:
        _status(state, update, HANDLING)
        _department_or_leader(state, cmd.actor, update)

    check.__name__ = f"may_{update}"
    return check


may_record_contact = _department_action("record_contact")
may_record_verification = _department_action("record_verification")
may_reply = _department_action("reply")
may_submit_opinion = _department_action("submit_opinion")
may_report_progress = _department_action("report_progress")


def may_transfer(state: CaseState, cmd: Command) -> None:
    _department_action("transfer")(state, cmd)
    assert isinstance(cmd, Transfer)
    if cmd.to_department == state.department:
        raise Rejected(f"transfer: to_department {cmd.to_department} is already the assigned department")


def may_request_extension(state: CaseState, cmd: Command) -> None:
    _department_action("request_extension")(state, cmd)
    assert isinstance(cmd, RequestExtension)
    if state.pending_extension is not None:
        raise Rejected("request_extension: a request is already pending; wait for decide_extension")
    resolve = state.open_milestones("resolve")
    if not resolve:
        raise Rejected("request_extension: the case has no open resolve deadline")
    if resolve[-1].breached:
        raise Rejected(
            f"request_extension: the resolve deadline {resolve[-1].due_at.isoformat()} has already passed; "
            "an extension cannot undo a breach"
        )
    if cmd.until <= resolve[-1].due_at:
        raise Rejected(
            f"request_extension: until {cmd.until.isoformat()} must be later than "
            f"the current deadline {resolve[-1].due_at.isoformat()}"
        )


def _supervisor_decides(update: str, state: CaseState, cmd: Command, pending: object, what: str) -> None:
    _roles(cmd.actor, update, Role.supervisor)
    _status(state, update, HANDLING)
    if pending is None:
        raise Rejected(f"{update}: no {what} request is pending")


def _handler_or_supervisor(state: CaseState, actor: Actor, update: str) -> None:
    if not (_is_handler(state, actor) or actor.role == Role.supervisor):
        raise NotAllowed(
            f"{update}: {_describe(actor)} may not; only a handler of {state.department} or a supervisor may"
        )


def may_decide_extension(state: CaseState, cmd: Command) -> None:
    _supervisor_decides("decide_extension", state, cmd, state.pending_extension, "extension")


def may_resolve(state: CaseState, cmd: Command) -> None:
    _status(state, "resolve", HANDLING)
    if state.escalated:
        if state.leader is None:
            raise Rejected("resolve: the case is escalated and no leader is assigned yet; only that leader may resolve")
        if not _is_leader(state, cmd.actor):
            raise NotAllowed(f"resolve: the case is escalated; only its leader {state.leader.id} may resolve it")
    else:
        _department_or_leader(state, cmd.actor, "resolve")
    # 1030: the department phones the complainant before anything else; no resolution without it.
    if state.has_complainant and not state.contacted():
        raise Rejected(
            f"resolve: {state.department} has not recorded contact with the complainant yet; "
            "record_contact first (a failed attempt counts: record it with reached=false and a note)"
        )


def may_record_follow_up(state: CaseState, cmd: Command) -> None:
    _status(state, "record_follow_up", (CaseStatus.resolved,))
    _handler_or_supervisor(state, cmd.actor, "record_follow_up")


def may_escalate(state: CaseState, cmd: Command) -> None:
    _roles(cmd.actor, "escalate", Role.supervisor)
    _status(state, "escalate", OPEN_STATUSES)
    if state.escalated:
        raise Rejected(f"escalate: the case is already escalated ({state.escalation_reason})")


def may_assign_leader(state: CaseState, cmd: Command) -> None:
    _roles(cmd.actor, "assign_leader", Role.supervisor)
    _status(state, "assign_leader", OPEN_STATUSES)
    if not state.escalated:
        raise Rejected("assign_leader: the case is not escalated; escalate it first")


def may_request_suspension(state: CaseState, cmd: Command) -> None:
    _status(state, "request_suspension", HANDLING)
    if not _is_handler(state, cmd.actor):
        raise NotAllowed(
            f"request_suspension: {_describe(cmd.actor)} may not; only a handler of {state.department} may"
        )
    if state.suspended:
        raise Rejected("request_suspension: the resolve clock is already stopped")
    if state.pending_suspension is not None:
        raise Rejected("request_suspension: a request is already pending; wait for decide_suspension")
    resolve = state.open_milestones("resolve")
    if not resolve or resolve[-1].breached:
        raise Rejected("request_suspension: there is no running resolve deadline to stop")


def may_decide_suspension(state: CaseState, cmd: Command) -> None:
    _supervisor_decides("decide_suspension", state, cmd, state.pending_suspension, "suspension")


def may_resume(state: CaseState, cmd: Command) -> None:
    _status(state, "resume", OPEN_STATUSES)
    _handler_or_supervisor(state, cmd.actor, "resume")
    if not state.suspended:
        raise Rejected("resume: the resolve clock is not stopped")


def _summoned(state: CaseState) -> set[str]:
    return {m.name.removeprefix("report_in:") for m in state.milestones if m.open and m.name.startswith("report_in:")}


def may_summon_departments(state: CaseState, cmd: Command) -> None:
    _status(state, "summon_departments", OPEN_STATUSES)
    actor = cmd.actor
    if not (actor.role == Role.supervisor or (actor.role == Role.community and actor.department == state.community)):
        raise NotAllowed(
            f"summon_departments: {_describe(actor)} may not; only the case's community "
            f"({state.community}) or a supervisor may"
        )
    assert isinstance(cmd, SummonDepartments)
    already = _summoned(state) & set(cmd.departments)
    if already:
        raise Rejected(f"summon_departments: {', '.join(sorted(already))} already summoned and not yet reported")


def may_report_in(state: CaseState, cmd: Command) -> None:
    _status(state, "report_in", OPEN_STATUSES)
    owed = _summoned(state)
    if cmd.actor.role != Role.handler or cmd.actor.department not in owed:
        who = ", ".join(sorted(owed)) or "none is summoned"
        raise NotAllowed(f"report_in: {_describe(cmd.actor)} may not; only a handler of a summoned department ({who})")


RULES: dict[str, Callable[[CaseState, Command], None]] = {
    "dispatch": may_dispatch,
    "record_contact": may_record_contact,
    "record_verification": may_record_verification,
    "reply": may_reply,
    "submit_opinion": may_submit_opinion,
    "report_progress": may_report_progress,
    "transfer": may_transfer,
    "request_extension": may_request_extension,
    "decide_extension": may_decide_extension,
    "resolve": may_resolve,
    "record_follow_up": may_record_follow_up,
    "escalate": may_escalate,
    "assign_leader": may_assign_leader,
    "request_suspension": may_request_suspension,
    "decide_suspension": may_decide_suspension,
    "resume": may_resume,
    "summon_departments": may_summon_departments,
    "report_in": may_report_in,
}


def check(update: str, state: CaseState, cmd: Command) -> None:
    """Raise Rejected with the reason when `cmd` may not run on `state`: NotAllowed for who asks
    (checked first, so nothing is told to those who may not act), Stale when the sender saw an
    older version, else the case's own reason."""
    if cmd.actor.role == Role.auditor:
        raise NotAllowed(f"{update}: {_describe(cmd.actor)} may not; an auditor reads cases and changes nothing")
    stale = cmd.expected_version is not None and cmd.expected_version != state.version
    try:
        RULES[update](state, cmd)
    except NotAllowed:
        raise
    except Rejected:
        if not stale:
            raise
    if stale:
        raise Stale(
            f"{update}: the case is at version {state.version}, not {cmd.expected_version}; "
            "read it again and decide on what it is now"
        )
