"""The Python API for integrators: file a complaint, act on a case, read its state."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import pydantic
from sqlalchemy.engine import Engine
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflow.v1 import WorkflowExecutionInfo
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client, WithStartWorkflowOperation, WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from models import Actor, CaseInput, CaseState, Command, Complaint, received_at_problem
from models.case_input import WORKFLOW_TYPE
from models.commands import UPDATES as COMMANDS
from models.risk import RiskRuleError
from models.scope import sees
from models.tree import LocationProblem, Tree
from models.updates import Attach, PlaceCase, PublishPhoto
from runtime import logs
from runtime.blobs import Blobs
from starter import jurisdictions, risk
from starter.converter import field_errors
from starter.evidence import attach_command, publish_command
from starter.jurisdictions import place_input
from starter.suggest import suggest_input

CASE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"
_CASE_ID = re.compile(CASE_ID_PATTERN)

# Update name -> payload model: the contract's updates, as the case's update table lists them.
UPDATES: dict[str, type[Command]] = {name: row.command for name, row in COMMANDS.items()}

log = logs.get("cases")


class InvalidInput(ValueError):
    """Refused at the edge, before anything reaches Temporal. The message names each bad field;
    `errors` holds them one by one, as (field, message)."""

    def __init__(self, message: str, errors: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors if errors is not None else [(message.split(":", 1)[0], message)]

    @classmethod
    def of(cls, err: pydantic.ValidationError, prefix: str = "") -> InvalidInput:
        errors = [(f"{prefix}{where}", message) for where, message in field_errors(err)]
        return cls("; ".join(f"{where}: {message}" for where, message in errors), errors)


class Rejected(Exception):
    """The case refused an update; the message says why. Nothing changed."""


class Forbidden(Rejected):
    """Refused for who asked: this actor may not do this to this case (the access table)."""


class Stale(Rejected):
    """The update named an older version of the case (expected_version) than the case now has."""


class UnknownCase(LookupError):
    """No case has that id."""


@dataclass
class Filed:
    case_id: str
    run_id: str | None
    created: bool  # False: a case with that id already existed, and nothing new was started


def validate_case_id(case_id: str) -> str:
    if not _CASE_ID.fullmatch(case_id or ""):
        raise InvalidInput(
            f"case_id: {case_id!r} must be 1-128 letters, digits or _.:- and start with a letter or digit"
        )
    return case_id


def validate_case_input(
    data: CaseInput | dict[str, Any], now: datetime | None = None, city: Tree | None = None
) -> CaseInput:
    """The input as the engine files it: valid, placed in the city's tree (a district outside it
    is refused, naming the field), under its district's policy when it names none."""
    try:
        case_input = data if isinstance(data, CaseInput) else CaseInput.model_validate(data)
    except pydantic.ValidationError as err:
        raise InvalidInput.of(err) from None
    if case_input.carried is not None:
        raise InvalidInput("carried: set by the engine only, when a case continues as new")
    for judged in ("risk", "suggestion"):  # a client's own (a CaseInput is judged again)
        if isinstance(data, dict) and data.get(judged) is not None:
            raise InvalidInput(
                f"{judged}: set by the engine only, from what the complaint says", [(judged, "set by the engine")]
            )
    problem = received_at_problem(case_input.complaint.received_at, now or datetime.now(timezone.utc))
    if problem:
        raise InvalidInput(problem, [("complaint.received_at", problem.split(": ", 1)[1])])
    city = city or jurisdictions.tree()
    try:
        placed = place_input(case_input, city)
    except LocationProblem as err:
        raise InvalidInput(f"{err.field}: {err}", [(err.field, str(err))]) from None
    return suggest_input(assess_input(placed), city)


def assess_input(case_input: CaseInput) -> CaseInput:
    """The input with the strong signal its words carry (risk.toml's rules, models/risk.py),
    judged here at the edge and carried in the case's history (edition 9)."""
    c = case_input.complaint
    try:
        rules = risk.rules()
    except RiskRuleError as err:  # changed since the start checked it: file the complaint all the same
        log.error("risk rules unusable; filed without a strong-signal judgement", error=str(err))
        return case_input
    return case_input.model_copy(update={"risk": rules.assess(c.title, c.description).mark()})


def validate_command(update: str, data: Command | dict[str, Any]) -> Command:
    if update not in UPDATES:
        raise InvalidInput(f"update: {update!r} is not one of {', '.join(UPDATES)}")
    model = UPDATES[update]
    if isinstance(data, model):
        return data
    try:
        return model.model_validate(data if isinstance(data, dict) else data.model_dump())
    except pydantic.ValidationError as err:
        raise InvalidInput.of(err) from None


def place_command(cmd: PlaceCase, city: Tree) -> PlaceCase:
    """The `place` update as the case takes it: the code's place from the city down, named
    (whatever `place` a client sent is replaced), inside the actor's scope."""
    code = cmd.code.strip()
    found = city.places.get(code)
    if found is None:
        raise InvalidInput(f"code: {code!r} is no place of the city's tree", [("code", "no place of the city's tree")])
    codes = city.codes_of(code)
    if cmd.actor.scope is not None and cmd.actor.scope not in codes.codes():
        raise InvalidInput(f"code: {code} lies outside your scope {cmd.actor.scope}", [("code", "outside your scope")])
    community = city.places[codes.community].name if codes.community else None
    return cmd.model_copy(update={"code": code, "place": codes, "community_name": community})


async def name_units(
    client: Client, case_id: str, update: str, payload: dict[str, Any], city: Tree, *, listed_only: bool
) -> tuple[dict[str, Any], list[str]]:
    """The units an update names, read for the case they name them for (jurisdictions.read_units),
    the actor's unit too: the payload to send and its warnings. A case the actor does not see (or
    none) is left to the workflow, which answers as for an unknown id."""
    actor = payload.get("actor")
    plain = jurisdictions.plain_unit(actor, city)
    if update not in jurisdictions.UNIT_FIELDS and plain:
        return payload, []  # most updates: nothing to read, no look-up of the case
    case = await _seen_case(client, case_id, actor)
    if case is None:
        return payload, []
    if not plain:  # the CLI's actor.department=住建局, or an identity made before units were named
        district = case.place.district if case.place else None
        payload = payload | {"actor": jurisdictions.actor_unit(Actor.model_validate(actor), city, district)}
    try:
        return jurisdictions.read_units(update, payload, city, case.place, case.category, listed_only=listed_only)
    except jurisdictions.UnitsRefused as err:
        raise InvalidInput(str(err), err.errors) from None


async def _seen_case(client: Client, case_id: str, actor: Any) -> CaseState | None:
    """The case as the actor may see it, or None (unknown, not seen, or no valid actor yet)."""
    try:
        who = Actor.model_validate(actor)
        case = await state(client, case_id)
    except (pydantic.ValidationError, UnknownCase, InvalidInput, RPCError):
        return None
    return case if sees(who, case.where()) else None


def _start_options(case_id: str, task_queue: str, if_running: WorkflowIDConflictPolicy) -> dict[str, Any]:
    return {
        "id": case_id,
        "task_queue": task_queue,
        "result_type": CaseState,
        # The case id is the idempotency key: never a second case, even after the first closed.
        "id_reuse_policy": WorkflowIDReusePolicy.REJECT_DUPLICATE,
        "id_conflict_policy": if_running,
    }


async def file_complaint(
    client: Client, case_id: str, case_input: CaseInput | dict[str, Any], *, task_queue: str = "complaints"
) -> Filed:
    """Start the case, or find the one already started with that id (open or closed)."""
    validate_case_id(case_id)
    case_input = validate_case_input(case_input)
    try:
        handle = await client.start_workflow(
            WORKFLOW_TYPE, case_input, **_start_options(case_id, task_queue, WorkflowIDConflictPolicy.FAIL)
        )
    except WorkflowAlreadyStartedError as err:
        return Filed(case_id, err.run_id, created=False)
    return Filed(case_id, handle.result_run_id, created=True)


async def file_and_act(
    client: Client,
    case_id: str,
    case_input: CaseInput | dict[str, Any],
    update: str,
    payload: Command | dict[str, Any],
    *,
    task_queue: str = "complaints",
) -> CaseState:
    """Start the case and run its first update in one request (a hotline that dispatches at intake).

    The update reaches the case in its very first workflow task. If the case already runs, the
    update goes to it and no second case is started; a closed case is never started again.
    """
    validate_case_id(case_id)
    case_input = validate_case_input(case_input)
    command = validate_command(update, payload)
    start: WithStartWorkflowOperation[Any, CaseState] = WithStartWorkflowOperation(
        WORKFLOW_TYPE, case_input, **_start_options(case_id, task_queue, WorkflowIDConflictPolicy.USE_EXISTING)
    )
    try:
        return await client.execute_update_with_start_workflow(
            update, command, start_workflow_operation=start, result_type=CaseState
        )
    except WorkflowUpdateFailedError as err:
        raise _rejected(err) from None


async def execution_status(client: Client, case_id: str) -> WorkflowExecutionStatus | None:
    """The case's workflow status (of its latest run)."""
    status = (await execution_info(client, case_id)).status
    return WorkflowExecutionStatus(status) if status else None


async def execution_info(client: Client, case_id: str) -> WorkflowExecutionInfo:
    """The latest run's description, read without decoding its search attributes (the
    time-skipping test server cannot encode an unset datetime attribute, as a closed case's
    NextDeadline is). RPCError NOT_FOUND if there is no such case."""
    response = await client.workflow_service.describe_workflow_execution(
        DescribeWorkflowExecutionRequest(namespace=client.namespace, execution=WorkflowExecution(workflow_id=case_id))
    )
    return response.workflow_execution_info


async def act(
    client: Client,
    case_id: str,
    update: str,
    payload: Command | dict[str, Any],
    *,
    update_id: str | None = None,
    listed_only: bool = False,
    warnings: list[str] | None = None,
    uploads: Engine | None = None,
    evidence: Blobs | None = None,
) -> CaseState:
    """Run one update on a case; the case's new state, or Rejected with the reason.

    The units it names are read first (name_units; `listed_only`: COMPLAINTS_UNITS=listed), and
    their warnings added to `warnings`. With an update_id, the update is applied at most once per
    case and id: a retry with the same id returns the first answer (Temporal's update id).
    `uploads`: the database `attach` finds the case's uploads in (default: COMPLAINTS_DB_URL's);
    `evidence`: the store a covered photo is made from and kept in (default: the settings')."""
    if update in UPDATES:
        given = payload.model_dump() if isinstance(payload, Command) else payload
        named, told = await name_units(client, case_id, update, given, jurisdictions.tree(), listed_only=listed_only)
        if warnings is not None:
            warnings.extend(told)
        if named is not given:
            payload = named
    command = validate_command(update, payload)
    if isinstance(command, PlaceCase):
        command = place_command(command, jurisdictions.tree())
    if isinstance(command, Attach):
        command = attach_command(case_id, command, uploads)
    if isinstance(command, PublishPhoto):
        command = publish_command(case_id, command, evidence, uploads)
    handle = client.get_workflow_handle(validate_case_id(case_id))
    try:
        return await handle.execute_update(update, command, id=update_id, result_type=CaseState)
    except WorkflowUpdateFailedError as err:
        raise _rejected(err) from None
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
        # Either no such case, or one that has ended: say which.
        try:
            status = await execution_status(client, case_id)
        except RPCError:
            raise UnknownCase(f"no case {case_id}") from None
        raise Rejected(
            f"{update}: case {case_id} has ended ({status.name.lower() if status else 'unknown'}); "
            "nothing more can be done"
        ) from None


_REFUSALS: dict[str | None, type[Rejected]] = {"NotAllowed": Forbidden, "Stale": Stale}


def _rejected(err: WorkflowUpdateFailedError) -> Rejected:
    cause = err.cause
    if isinstance(cause, ApplicationError) and cause.type == "InvalidInput":
        raise InvalidInput(cause.message) from None  # the payload failed the engine's own decoding
    if isinstance(cause, ApplicationError) and cause.type == "Unseen":
        raise UnknownCase(cause.message) from None  # outside the caller's scope: as an unknown id
    kind = _REFUSALS.get(cause.type if isinstance(cause, ApplicationError) else None, Rejected)
    return kind(getattr(cause, "message", None) or str(cause or err))


async def state(client: Client, case_id: str) -> CaseState:
    handle = client.get_workflow_handle(validate_case_id(case_id))
    try:
        return await handle.query("state", result_type=CaseState)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise UnknownCase(f"no case {case_id}") from None
        raise


ACCEPTANCE_WAIT = 2.0  # seconds a filing's answer waits for the repeat look-up (then answers as it stands)


async def accepted(client: Client, case_id: str, wait: float = ACCEPTANCE_WAIT) -> CaseState:
    """The case once it is accepted or merged (CaseState.accepted), or as it stands after `wait`
    seconds: a filing merged into an open case answers with `merged_into` at once."""
    deadline = asyncio.get_running_loop().time() + wait
    pause = 0.02
    while True:
        current = await state(client, case_id)
        if current.accepted() or asyncio.get_running_loop().time() >= deadline:
            return current
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.2)


async def complaint_of(client: Client, case_id: str) -> Complaint:
    """The complaint as filed, personal data included: for those who handle or supervise the case."""
    handle = client.get_workflow_handle(validate_case_id(case_id))
    try:
        return await handle.query("complaint", result_type=Complaint)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise UnknownCase(f"no case {case_id}") from None
        raise
