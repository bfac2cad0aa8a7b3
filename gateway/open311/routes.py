"""Open311 GeoReport v2 under /open311/v2, in JSON (.json) and XML (.xml).

Services are the engine's categories. Requests are created at once (type `realtime`), so a token
is the request's own id. The GETs are public, as the specification makes them, and carry no
personal data: a request's `description` is the complaint's title (the full description may name
people, and is kept encrypted); no name, phone or email ever leaves here.
"""

# No `from __future__ import annotations`: FastAPI reads the form model from the annotations.

import asyncio
import secrets
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import Response, StreamingResponse

from gateway.auth import Gateway, gateway, public
from gateway.evidence import fetch_media, keep_in_background, read_blob
from gateway.open311.forms import FORM_FIELDS, RequestForm, complaint_of, missing_fields
from gateway.open311.labels import GROUPS, SPEC, ZH, service_name, service_notice
from gateway.open311.requests import from_row, from_state
from gateway.open311.schema import Created311, Request311, Service, array_of, documented
from gateway.open311.wire import answer
from models import Category
from models.commands import FILERS, NotAllowed, may_file
from models.tree import Level, Place, PlaceCodes
from readmodel.public import MAX_RESULTS, public_cases, published_photos
from runtime.blobs import BlobMissing
from runtime.http import ApiProblem
from sla import BUSINESS_TZ
from starter import InvalidInput, UnknownCase, accepted, file_complaint, jurisdictions, state, validate_case_input
from starter.identities import Identity

router = APIRouter(prefix="/open311/v2", tags=["open311"])
MAX_DAYS = 90


class Format(StrEnum):
    json = "json"
    xml = "xml"


FormatPath = Annotated[Format, Path(description="json or xml")]


# ---- discovery and services ------------------------------------------------------------------


@router.get(
    "/discovery.{fmt}",
    dependencies=[Depends(public)],
    response_class=Response,
    responses=documented({"type": "object"}, "Where this endpoint is and what it speaks"),
)
async def discovery(fmt: FormatPath, request: Request) -> Response:
    base = str(request.base_url).rstrip("/") + router.prefix
    body = {
        "changeset": "2026-11-25T00:00:00+08:00",
        "contact": "区群众诉求服务中心 (the district's complaint centre)",
        "key_service": "API keys: ask the operators (python -m starter identity add)",
        "endpoints": [
            {
                "specification": SPEC,
                "url": base,
                "changeset": "2026-11-25T00:00:00+08:00",
                "type": "production",
                "formats": ["application/json", "text/xml"],
            }
        ],
        # One endpoint serves the whole city: each district is a jurisdiction_id (city-contract.md).
        "jurisdictions": [
            {"jurisdiction_id": p.code, "name": p.name}
            for p in jurisdictions.tree().places.values()
            if p.level == Level.district
        ],
    }
    return answer(fmt, "discovery", body)


JurisdictionQuery = Annotated[
    str | None, Query(max_length=40, description="a district code (discovery lists them); none: the whole city")
]


def _district(jurisdiction_id: str | None) -> Place | None:
    """The district a jurisdiction_id names (404 for one that names none)."""
    if jurisdiction_id is None:
        return None
    place = jurisdictions.tree().places.get(jurisdiction_id.strip())
    if place is None or place.level != Level.district:
        raise ApiProblem(404, f"jurisdiction_id {jurisdiction_id!r} not found; discovery lists the districts")
    return place


def _service(category: Category, district: Place | None = None) -> dict[str, Any]:
    name, group = service_name(category.value), GROUPS[category.value]
    promise = "按接诉即办时限办理"
    if district is not None:
        city = jurisdictions.tree()
        policy = city.policy_for(city.codes_of(district.code), None)
        notice = service_notice(policy.value, "routine", category.value).removeprefix(f"已受理（{policy.value}）：")
        promise = f"{district.name}按{policy.value}时限办理：{notice}"
    return {
        "service_code": category.value,
        "service_name": name,
        "description": f"{name}类诉求，{promise} ({category.value})",
        "metadata": True,
        "type": "realtime",
        "keywords": f"{name}, {category.value.replace('_', ' ')}",
        "group": group,
    }


@router.get(
    "/services.{fmt}",
    dependencies=[Depends(public)],
    response_class=Response,
    responses=documented(array_of(Service), "The services: the engine's categories"),
)
async def services(fmt: FormatPath, jurisdiction_id: JurisdictionQuery = None) -> Response:
    district = _district(jurisdiction_id)
    return answer(fmt, "services", [_service(c, district) for c in Category])


def _attribute(
    code: str,
    order: int,
    description: str,
    required: bool,
    datatype: str = "string",
    values: list[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    return {
        "variable": True,
        "code": code,
        "datatype": datatype,
        "required": required,
        "datatype_description": None,
        "order": order,
        "description": description,
        "values": [{"key": k, "name": n} for k, n in values or []],
    }


def _category(code: str) -> Category:
    try:
        return Category(code)
    except ValueError:
        raise ApiProblem(404, f"service_code {code!r} not found; see services.json") from None


@router.get(
    "/services/{service_code}.{fmt}",
    dependencies=[Depends(public)],
    response_class=Response,
    responses=documented({"type": "object"}, "What a request of this service must carry"),
)
async def service_definition(
    service_code: Annotated[str, Path(max_length=100)], fmt: FormatPath, jurisdiction_id: JurisdictionQuery = None
) -> Response:
    category = _category(service_code)
    district = _district(jurisdiction_id)
    attributes = [
        _attribute("district", 1, "区 (district); with a jurisdiction_id, that district", district is None),
        _attribute("street", 2, "街道 (street)", True),
        _attribute("community", 3, "社区 (community)", True),
        _attribute("grid", 4, "网格 (grid), if known", False),
        _attribute(
            "track",
            5,
            "办理类别 (track)",
            False,
            "singlevaluelist",
            [("routine", "常态类 routine"), ("fast", "快处类 fast"), ("major", "重大复杂 major")],
        ),
        _attribute("title", 6, "标题 (title); default: the start of the description", False),
    ]
    return answer(fmt, "service_definition", {"service_code": category.value, "attributes": attributes})


# ---- requests --------------------------------------------------------------------------------


@router.post(
    "/requests.{fmt}",
    response_class=Response,
    responses=documented(array_of(Created311), "Created: the request's id and its promises"),
)
async def create_request(fmt: FormatPath, request: Request, form: Annotated[RequestForm, Form()]) -> Response:
    g = gateway(request)
    if "api_key" in request.query_params:
        # GeoReport v2 "POST Service Request": api_key is a field of the POSTed form; a key in the
        # query string ends up in every proxy's access log.
        raise ApiProblem(
            403,
            "api_key: send it in the form body (application/x-www-form-urlencoded, beside service_code), "
            "not in the query string; or as Authorization: Bearer <key>",
            errors=[("api_key", "in the form body, not the query string")],
        )
    header = request.headers.get("authorization", "")
    identity = g.identities.admit(
        form.api_key or (header[7:] if header.lower().startswith("bearer ") else None), g.limiter
    )
    if identity.role not in FILERS:  # refused before its fields are read
        _may_file(identity, None)
    category = _category(form.service_code)
    district = _district(form.jurisdiction_id)
    errors = missing_fields(form, district.name if district else None)
    try:
        # No policy named: the district's own (city-contract.md).
        case_input = validate_case_input({"complaint": complaint_of(form, district.name if district else None)})
    except InvalidInput as err:  # named by the form's fields, each once
        named = {f for f, _ in errors}
        errors += [(FORM_FIELDS.get(f, f), m) for f, m in err.errors if FORM_FIELDS.get(f, f) not in named]
    if errors:
        raise InvalidInput("; ".join(f"{f}: {m}" for f, m in errors), errors)
    _may_file(identity, case_input.placement.place if case_input.placement else None)
    case_id = f"o{datetime.now(timezone.utc):%Y%m%d}-{secrets.token_hex(5)}"
    await file_complaint(g.client, case_id, case_input, task_queue=g.config.task_queue)
    if case_input.complaint.media_url:  # the photo, fetched once by the engine, after the answer
        keep_in_background(request, fetch_media(request, case_id, case_input.complaint.media_url, identity.actor))
    notice = service_notice(case_input.policy.value, case_input.complaint.track.value, category.value)
    current = await accepted(g.client, case_id)  # the repeat look-up, bounded: a merge is told at once
    if current.merged_into:
        notice = ZH.public_status("merged", merged_into=current.merged_into)
    return answer(
        fmt,
        "service_requests",
        # GeoReport v2 "POST Service Request": a token "only returned if service_request_id is not
        # available"; the id is, so the answer carries it alone.
        [{"service_request_id": case_id, "service_notice": notice, "account_id": None}],
    )


# Open311's own error answers (as every route here), and the photo itself.
MEDIA: dict[int | str, dict[str, Any]] = documented({}, "") | {
    200: {"description": "A photo a supervisor made public", "content": {"image/jpeg": {}}}
}


def _find(g: Gateway, **where: Any) -> list[Request311]:
    found = public_cases(g.read_model, **where)
    photos = published_photos(g.read_model, [row.case_id for row, _ in found])
    base = g.links.public_url
    return [
        from_row(
            row,
            due,
            f"{base}/open311/v2/media/{row.case_id}/{photos[row.case_id]}.jpg" if row.case_id in photos else None,
        )
        for row, due in found
    ]


@router.get(
    "/media/{service_request_id}/{digest}.jpg",
    dependencies=[Depends(public)],
    response_class=StreamingResponse,
    responses=MEDIA,
)
async def media(
    service_request_id: Annotated[str, Path(max_length=128)],
    digest: Annotated[str, Path(pattern="^[0-9a-f]{64}$")],
    request: Request,
) -> Response:
    """Open311's media_url: only a photo made public (publish_photo); anything else is unknown."""
    g = gateway(request)
    if published_photos(g.read_model, [service_request_id]).get(service_request_id) != digest:
        raise ApiProblem(404, "no such media")
    try:
        chunks = await asyncio.to_thread(read_blob, g.evidence, digest)
    except BlobMissing:
        raise ApiProblem(404, "no such media") from None
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "public, max-age=3600"}
    return StreamingResponse(chunks, media_type="image/jpeg", headers=headers)


def _moment(name: str, value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"{name}: {value!r} is not a w3 datetime", [(name, "a w3 datetime, as 2026-11-01T00:00:00+08:00")]
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=BUSINESS_TZ)


@router.get(
    "/requests.{fmt}",
    dependencies=[Depends(public)],
    response_class=Response,
    responses=documented(array_of(Request311), "Requests, newest first (at most 1000)"),
)
async def list_requests(
    fmt: FormatPath,
    request: Request,
    service_request_id: Annotated[str | None, Query(max_length=4000, description="comma-separated ids")] = None,
    service_code: Annotated[
        str | None, Query(max_length=400, description="one service code, or several comma-separated")
    ] = None,
    start_date: Annotated[str | None, Query(max_length=40)] = None,
    end_date: Annotated[str | None, Query(max_length=40)] = None,
    status: Annotated[str | None, Query(max_length=20, description="open, closed, or both comma-separated")] = None,
    jurisdiction_id: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    g = gateway(request)
    if service_request_id:
        ids = [i.strip() for i in service_request_id.split(",") if i.strip()][:MAX_RESULTS]
        found = _find(g, ids=ids)
        return answer(fmt, "service_requests", [c.model_dump() for c in found])
    statuses = {s.strip() for s in (status or "").split(",") if s.strip()}
    if statuses - {"open", "closed"}:
        raise InvalidInput("status: open or closed", [("status", "open or closed")])
    until = _moment("end_date", end_date) or datetime.now(timezone.utc)
    since = _moment("start_date", start_date) or until - timedelta(days=MAX_DAYS)
    if since > until:
        raise InvalidInput("start_date: after end_date", [("start_date", "must not be after end_date")])
    if until - since > timedelta(days=MAX_DAYS):
        raise InvalidInput(
            f"start_date: at most {MAX_DAYS} days before end_date",
            [("start_date", f"at most {MAX_DAYS} days before end_date")],
        )
    # GeoReport v2 "GET Service Requests": service_code "Specify the service type by calling the
    # unique ID of the service_code"; like service_request_id and status it may be a comma list,
    # and a repeated parameter counts as one list.
    codes = [c.strip() for v in request.query_params.getlist("service_code") for c in v.split(",") if c.strip()]
    found = _find(
        g,
        categories=[_category(c).value for c in codes] or None,
        status=statuses.pop() if len(statuses) == 1 else None,
        since=since,
        until=until,
    )
    return answer(fmt, "service_requests", [c.model_dump() for c in found])


async def _one(g: Gateway, case_id: str) -> Request311:
    found = _find(g, ids=[case_id])
    if found:
        return found[0]
    try:
        return from_state(await state(g.client, case_id))
    except (UnknownCase, InvalidInput):
        raise ApiProblem(404, f"service_request_id {case_id!r} not found") from None


@router.get(
    "/requests/{service_request_id}.{fmt}",
    dependencies=[Depends(public)],
    response_class=Response,
    responses=documented(array_of(Request311), "The request"),
)
async def read_request(
    service_request_id: Annotated[str, Path(max_length=128)], fmt: FormatPath, request: Request
) -> Response:
    found = await _one(gateway(request), service_request_id)
    return answer(fmt, "service_requests", [found.model_dump()])


@router.get(
    "/tokens/{token}.{fmt}",
    dependencies=[Depends(public)],
    response_class=Response,
    responses=documented(array_of(Created311), "The request the token stands for"),
)
async def read_token(token: Annotated[str, Path(max_length=128)], fmt: FormatPath, request: Request) -> Response:
    found = await _one(gateway(request), token)  # requests are created at once: a token is the request's id
    return answer(fmt, "service_requests", [{"service_request_id": found.service_request_id, "token": token}])


def _may_file(identity: Identity, place: PlaceCodes | None) -> None:
    try:
        may_file(identity.actor, place)
    except NotAllowed as err:
        raise ApiProblem(403, str(err)) from None
