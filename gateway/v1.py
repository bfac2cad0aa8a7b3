"""The native API under /v1: file a complaint, act on a case, read it, list cases, statistics.

Thin handlers over the engine's own `starter` API: validation, the access table and the status
rules all stay in the engine. What the gateway adds is HTTP: who is calling (the actor of every
update is the caller's identity), versions (ETag / If-Match), retries (Idempotency-Key, used as
the Temporal update id) and errors as problem+json.
"""

# No `from __future__ import annotations`: FastAPI reads the body model of each update route
# from the handler's annotations, set per update below.

import asyncio
import base64
import binascii
import secrets
from datetime import datetime, timezone
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.dependencies.models import Dependant
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field, create_model
from temporalio.client import Client

from gateway.auth import Gateway, caller, gateway, role_in
from gateway.problems import ApiProblem, responses, success
from gateway.views import (
    CaseAnswer,
    CaseFiling,
    CaseList,
    JurisdictionsAnswer,
    TimelineAnswer,
    case_answer,
    jurisdictions_seen,
    must_see,
    state_as_seen,
)
from models import Actor, CaseInput, CaseState, CaseStatus, Category
from models.base import ShortText
from models.commands import FILERS, NotAllowed, may_file
from models.dispute import KIND_FILTERS
from models.scope import seen_by
from models.scope import within as under
from models.tree import Level, Tree, UnitProblem
from readmodel.board import Filters
from readmodel.callbacks import callbacks_due
from readmodel.stats import GROUPS, compute, default_period, parse_moment
from sla import WorkingCalendar
from starter import (
    UPDATES,
    InvalidInput,
    accepted,
    act,
    complaint_of,
    file_complaint,
    jurisdictions,
    state,
    validate_case_input,
)
from starter.cases import CASE_ID_PATTERN
from starter.identities import Identity
from starter.supervise import CaseSummary, list_page, list_query, place_clause, seen_clause

ENGINE_TIMEOUT = 30.0  # seconds: past this, no worker answered and the caller gets 503 (and may retry)


def _query_names(dependant: Dependant) -> set[str]:
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def known_query(request: Request) -> None:
    """A query parameter the operation does not take is refused, named: a typo (?overdu=true) must
    not silently widen a list."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    known = _query_names(route.dependant)
    unknown = sorted({name for name in request.query_params if name not in known})
    if unknown:
        raise InvalidInput(
            f"{unknown[0] or '(empty name)'}: not a query parameter of this operation",
            [
                (name or "(empty name)", f"not a query parameter here; it takes {sorted(known) or 'none'}")
                for name in unknown
            ],
        )


router = APIRouter(prefix="/v1", tags=["cases"], dependencies=[Depends(known_query)])
CaseId = Annotated[str, Path(pattern=CASE_ID_PATTERN, description="The case id (the integrator's idempotency key)")]
ETAG_HEADER = {"ETag": {"description": 'The case version, quoted: "7"', "schema": {"type": "string"}}}


async def _engine(call: Any) -> Any:
    """An engine call bounded in time: a stopped worker is a 503, never a hung request."""
    async with asyncio.timeout(ENGINE_TIMEOUT):
        return await call


def _case(
    current: CaseState,
    identity: Identity,
    status: int = 200,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    body = state_as_seen(current, identity) | (extra or {})
    return JSONResponse(body, status_code=status, headers={"ETag": f'"{current.version}"'} | (headers or {}))


def _if_match(value: str | None) -> int | None:
    """The version an If-Match names; None for none or `*`."""
    if value is None or value.strip() == "*":
        return None
    tags = [v.strip() for v in value.split(",")]
    if len(tags) != 1:
        raise InvalidInput("If-Match: name one version", [("header.If-Match", 'name exactly one version, as "7"')])
    tag = tags[0].removeprefix("W/").strip('"')
    if not tag.isdigit():
        raise InvalidInput(
            f"If-Match: {value!r} is not a case version",
            [("header.If-Match", 'a case version, as "7" (the ETag of the case)')],
        )
    return int(tag)


# ---- filing ------------------------------------------------------------------------------


async def _filed_input(client: Client, case_id: str) -> CaseInput:
    """What the case with this id was started with (from its history: no worker needed)."""
    async for event in client.get_workflow_handle(case_id).fetch_history_events():
        payloads = event.workflow_execution_started_event_attributes.input.payloads
        [filed] = await client.data_converter.decode(payloads, [CaseInput])
        return filed  # type: ignore[no-any-return]
    raise ApiProblem(409, f"case {case_id} exists but its start could not be read")


async def _file(
    g: Gateway, case_id: str, body: CaseFiling, identity: Identity, location: str | None = None
) -> JSONResponse:
    filed, current = await file_case_as(g, case_id, body, identity)
    headers = {"Location": f"/v1/cases/{case_id}"} if location or filed.created else None
    return _case(current, identity, 201 if filed.created else 200, headers)


async def file_case_as(g: Gateway, case_id: str, body: CaseFiling, identity: Identity) -> tuple[Any, CaseState]:
    """File the complaint as this identity (refused outside its scope, or a different complaint
    under an id already taken): whether a new case was started, and the case as it stands."""
    case_input = validate_case_input(body.as_case_input())
    try:
        may_file(identity.actor, case_input.placement.place if case_input.placement else None)
    except NotAllowed as err:
        raise ApiProblem(403, str(err)) from None
    filed = await _engine(file_complaint(g.client, case_id, case_input, task_queue=g.config.task_queue))
    if not filed.created:
        earlier = await _engine(_filed_input(g.client, case_id))
        if earlier.complaint != case_input.complaint or earlier.policy != case_input.policy:
            raise ApiProblem(
                409,
                f"case {case_id} already holds a different complaint; "
                "a case id is filed once (choose another id, or POST /v1/cases)",
            )
    # A new case answers once the repeat look-up is done (bounded): merged, it says into which case.
    current = await _engine(accepted(g.client, case_id) if filed.created else state(g.client, case_id))
    return filed, current


FILE_RESPONSES = {
    201: {"model": CaseState, "description": "Filed: the new case", "headers": ETAG_HEADER},
    200: {"model": CaseState, "description": "That id already holds this same complaint", "headers": ETAG_HEADER},
} | responses(401, 403, 409, 413, 422, 429, 503)


@router.put(
    "/cases/{case_id}",
    status_code=201,
    response_model=None,
    responses=FILE_RESPONSES,
    summary="File a complaint under your own case id",
)
async def file_case(
    case_id: CaseId, body: CaseFiling, request: Request, identity: Identity = Depends(role_in(*FILERS))
) -> JSONResponse:
    return await _file(gateway(request), case_id, body, identity)


@router.post(
    "/cases",
    status_code=201,
    response_model=None,
    responses=FILE_RESPONSES,
    summary="File a complaint; the gateway makes the case id (in Location and the body)",
)
async def file_new_case(
    body: CaseFiling, request: Request, identity: Identity = Depends(role_in(*FILERS))
) -> JSONResponse:
    now = datetime.now(timezone.utc)
    return await _file(gateway(request), f"c{now:%Y%m%d}-{secrets.token_hex(5)}", body, identity, location="new")


# ---- reading -----------------------------------------------------------------------------


@router.get(
    "/cases/{case_id}",
    response_model=None,
    summary="A case's state, with the complaint as filed",
    responses=success(CaseAnswer, "The case", ETAG_HEADER) | responses(401, 404, 422, 429, 503),
)
async def read_case(case_id: CaseId, request: Request, identity: Identity = Depends(caller)) -> JSONResponse:
    g = gateway(request)
    current, complaint = await _engine(asyncio.gather(state(g.client, case_id), complaint_of(g.client, case_id)))
    return _case(current, identity, extra={"complaint": case_answer(current, complaint, identity)})


@router.get(
    "/cases/{case_id}/timeline",
    response_model=TimelineAnswer,
    summary="A case's timeline, from its history",
    responses=responses(401, 404, 422, 429, 503),
)
async def read_timeline(case_id: CaseId, request: Request, identity: Identity = Depends(caller)) -> TimelineAnswer:
    from starter.audit import case_from_temporal, runs_of

    g = gateway(request)
    runs = await _engine(runs_of(g.client, case_id))
    current = must_see(await _engine(case_from_temporal(g.client, case_id)), identity)
    return TimelineAnswer(case_id=case_id, status=current.status, runs=len(runs), timeline=current.timeline)


@router.get(
    "/cases",
    response_model=CaseList,
    summary="Open cases (or those of a status), through Temporal visibility",
    responses=responses(401, 404, 422, 429, 503),
)
async def list_open_cases(
    request: Request,
    identity: Identity = Depends(caller),
    status: CaseStatus | None = None,
    department: Annotated[str | None, Query(max_length=200)] = None,
    street: Annotated[str | None, Query(max_length=200)] = None,
    category: Category | None = None,
    overdue: bool = False,
    escalated: bool = False,
    due_within_hours: Annotated[float | None, Query(ge=0, le=24 * 366)] = None,
    kind: Annotated[
        str | None,
        Query(
            max_length=40,
            description="dispute: the cases taken to mediation; or one kind of dispute",
            json_schema_extra={"enum": list(KIND_FILTERS)},
        ),
    ] = None,
    follow_up_due: Annotated[
        bool,
        Query(
            description="the hotline's callback list (待回访): resolved two working days ago or more and still "
            "without a verdict; from the read model, oldest first; with department, street, category only"
        ),
    ] = False,
    within: Annotated[
        str | None,
        Query(max_length=40, description="a place code inside your scope: only the cases placed under it"),
    ] = None,
    page_size: Annotated[int, Query(ge=1, le=500)] = 100,
    next_page_token: Annotated[str | None, Query(max_length=4000)] = None,
) -> CaseList:
    from datetime import timedelta

    g = gateway(request)
    city = jurisdictions.tree()
    try:
        department = jurisdictions.unit_filter(department, identity.scope)
    except UnitProblem as err:
        raise InvalidInput(f"department: {err}", [("department", f"{err}; name it by its code or full name")]) from None
    within_clause = None
    if within is not None:
        within = _within(city, identity, within)
        within_clause = place_clause(city, within)
    if kind is not None and kind not in KIND_FILTERS:
        raise InvalidInput(f"kind: {kind!r}", [("kind", f"one of {', '.join(KIND_FILTERS)}")])
    try:
        token = base64.b64decode(next_page_token, altchars=b"-_", validate=True) if next_page_token else None
        if token == b"":
            raise ValueError("empty")
    except (binascii.Error, ValueError):
        raise InvalidInput(
            "next_page_token: not a token this API gave", [("next_page_token", "not a token this API gave")]
        ) from None
    if follow_up_due:
        mixed = [
            n for n, v in (("status", status), ("overdue", overdue), ("escalated", escalated), ("kind", kind)) if v
        ]
        mixed += ["due_within_hours"] if due_within_hours is not None else []
        if mixed:
            raise InvalidInput(
                f"{mixed[0]}: not with follow_up_due",
                [
                    (name, "not with follow_up_due (it lists resolved cases; filter by department, street, category)")
                    for name in mixed
                ],
            )
        filters = Filters(department, street, category.value if category else None, seen=seen_by(identity.actor, city))
        return await _callbacks(g, filters, page_size, token, within)
    query = list_query(
        status=status.value if status else None,
        department=department,
        street=street,
        street_codes=tuple(
            p.code for p in city.places.values() if street and p.level == Level.street and p.name == street
        ),
        seen=seen_clause(city, seen_by(identity.actor, city)),
        within=within_clause,
        category=category.value if category else None,
        overdue=overdue,
        escalated=escalated,
        due_within=timedelta(hours=due_within_hours) if due_within_hours is not None else None,
        kind=kind,
    )
    cases, following = await _engine(list_page(g.client, query, page_size, token))
    return CaseList(
        cases=cases,
        next_page_token=base64.urlsafe_b64encode(following).decode() if following else None,
    )


@router.get(
    "/jurisdictions",
    response_model=JurisdictionsAnswer,
    summary="The city's tree inside the caller's scope: places, units, stations",
    responses=responses(401, 422, 429),
)
async def read_jurisdictions(identity: Identity = Depends(caller)) -> JurisdictionsAnswer:
    return jurisdictions_seen(jurisdictions.tree(), identity.scope)


def _within(city: Tree, identity: Identity, code: str) -> str:
    """A place to narrow a list to: inside the caller's scope, or as unknown as a case outside it."""
    code = code.strip()
    place = city.places.get(code)
    if place is None or not city.contains(identity.scope, code):
        raise ApiProblem(404, f"within: no place {code} in your part of the tree")
    if place.level == Level.grid:
        raise InvalidInput(f"within: {code} is a grid", [("within", "a city, district, street or community code")])
    return code


async def _callbacks(g: Gateway, filters: Filters, page_size: int, token: bytes | None, within: str | None) -> CaseList:
    """The callback list, a page at a time (the token: where the next page starts)."""
    if token is not None and not token.isdigit():
        raise InvalidInput(
            "next_page_token: not a token this API gave", [("next_page_token", "not a token this API gave")]
        )
    offset = int(token or b"0")
    calendar = WorkingCalendar.from_file(g.config.calendar_file)
    if within is not None:  # the place it narrows to: a scope of its own, inside the caller's
        filters = Filters(
            filters.department, filters.street, filters.category, seen=under(within, jurisdictions.tree())
        )
    due, total = await asyncio.to_thread(
        callbacks_due, g.read_model, filters, calendar=calendar, limit=page_size, offset=offset
    )
    following = offset + len(due)
    return CaseList(
        cases=[
            CaseSummary(
                case_id=c.case_id,
                status="resolved",
                department=c.department,
                street=c.street,
                category=c.category,
                next_deadline=c.follow_up_due,
                breaches=c.breaches,
                overdue=0,
                escalated=c.escalated,
                resolved_at=c.resolved_at,
            )
            for c in due
        ],
        next_page_token=base64.urlsafe_b64encode(str(following).encode()).decode() if following < total else None,
    )


Group = StrEnum("Group", {g: g for g in GROUPS})  # type: ignore[misc]


class StatsAnswer(BaseModel):
    since: datetime
    until: datetime
    by: str | None
    rows: list[dict[str, Any]] = Field(
        description="One row per group, then the total (as `python -m starter stats --json`)"
    )


@router.get(
    "/stats",
    response_model=StatsAnswer,
    summary="Rates and counts from the read model",
    responses=responses(401, 404, 422, 429, 503),
)
async def read_stats(
    request: Request,
    identity: Identity = Depends(caller),
    by: Group | None = None,
    since: Annotated[str | None, Query(description="ISO date or time; a bare date is in Asia/Shanghai")] = None,
    until: Annotated[str | None, Query(description="ISO date or time; default now")] = None,
    within: Annotated[
        str | None, Query(max_length=40, description="a place code inside your scope: only the cases under it")
    ] = None,
) -> StatsAnswer:
    from sla import WorkingCalendar

    g = gateway(request)
    city = jurisdictions.tree()
    if within is not None:
        within = _within(city, identity, within)
    moments = {}
    for name, value in (("since", since), ("until", until)):
        try:
            moments[name] = parse_moment(value) if value else None
        except ValueError as err:
            raise InvalidInput(f"{name}: {err}", [(name, str(err))]) from None
    start, end = default_period(moments["since"], moments["until"])
    if start >= end:
        raise InvalidInput("since: must be before until", [("since", "must be before until")])
    calendar = WorkingCalendar.from_file(g.config.calendar_file)
    group = by.value if by else None
    rows = await asyncio.to_thread(
        compute,
        g.read_model,
        since=start,
        until=end,
        by=group,
        calendar=calendar,
        city=city,
        seen=seen_by(identity.actor, city),
        within=within,
    )
    return StatsAnswer(since=start, until=end, by=group, rows=[r.as_json() for r in rows])


# ---- updates -----------------------------------------------------------------------------


def _add_update_route(update: str) -> None:
    model = UPDATES[update]
    # The payload as the contract has it, with `actor` optional: the caller's identity is the actor.
    fields: dict[str, Any] = {
        "actor": (Actor | None, Field(default=None, description="Leave out: the caller is the actor"))
    }
    if update == "dispatch":  # city-contract.md: without a department, the district's routing table's unit
        fields["department"] = (
            ShortText | None,
            Field(default=None, description="A unit's code, name or alias; leave out for the routing table's"),
        )
    body_model = create_model(f"{model.__name__}Body", __base__=model, **fields)

    async def run(
        case_id: CaseId,
        body: Any,
        request: Request,
        identity: Identity = Depends(caller),
        if_match: Annotated[
            str | None, Header(alias="If-Match", max_length=100, description='The version you saw (the ETag): "7"')
        ] = None,
        idempotency_key: Annotated[
            str | None,
            Header(
                alias="Idempotency-Key",
                pattern=r"^[!-~]{1,200}$",
                description="A retry with the same key gets the first answer",
            ),
        ] = None,
    ) -> JSONResponse:
        g = gateway(request)
        actor = identity.actor
        if body.actor is not None and body.actor.model_copy(update={"scope": actor.scope}) != actor:
            raise ApiProblem(
                403,
                f"the actor of an update is the caller ({actor.role.value} {actor.id}); "
                f"the body names {body.actor.role.value} {body.actor.id}",
            )
        payload = body.model_dump(exclude={"actor"}) | {"actor": actor}
        expected = _if_match(if_match)
        if expected is not None:
            payload["expected_version"] = expected
        warnings: list[str] = []
        listed_only = g.config.units == "listed"
        current = await _engine(
            act(
                g.client,
                case_id,
                update,
                payload,
                update_id=idempotency_key,
                listed_only=listed_only,
                warnings=warnings,
                uploads=g.read_model.engine,  # where `attach` finds the case's uploads
                evidence=g.evidence,  # where `publish_photo` makes a covered copy
            )
        )
        return _case(current, identity, extra={"warnings": warnings} if warnings else None)

    run.__annotations__["body"] = body_model
    run.__name__ = update
    router.add_api_route(
        f"/cases/{{case_id}}/{update}",
        run,
        methods=["POST"],
        response_model=None,
        name=update,
        summary=f"The case contract's `{update}`, acted by the caller",
        responses=success(CaseState, "The case after the update", ETAG_HEADER)
        | responses(401, 403, 404, 409, 412, 413, 422, 429, 503),
    )


for _update in UPDATES:
    _add_update_route(_update)


@router.post("/cases/{case_id}/{update}", include_in_schema=False)
async def unknown_update(case_id: CaseId, update: Annotated[str, Path(max_length=100)]) -> None:
    """A misspelt update is told which there are, not a bare 404."""
    known = ", ".join(UPDATES)
    raise ApiProblem(404, f"no update is called {update!r}; the updates are: {known}", errors=[("update", known)])
