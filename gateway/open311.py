"""Open311 GeoReport v2 under /open311/v2, in JSON (.json) and XML (.xml).

Services are the engine's categories. Requests are created at once (type `realtime`), so a token
is the request's own id. The GETs are public, as the specification makes them, and carry no
personal data: a request's `description` is the complaint's title (the full description may name
people, and is kept encrypted); no name, phone or email ever leaves here.
"""

# No `from __future__ import annotations`: FastAPI reads the form model from the annotations.

import secrets
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from typing import Annotated, Any
from xml.etree import ElementTree

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlmodel import Session, col, select

from gateway.auth import Gateway, gateway, public
from gateway.problems import ApiProblem
from models import CaseState, Category, Policy, Role, Track
from models.case import FINISHED
from readmodel.store import OPEN, utc
from readmodel.tables import CaseRow, MilestoneRow
from sla import BUSINESS_TZ
from sla.durations import Duration
from sla.policies import rules_for
from starter import InvalidInput, UnknownCase, file_complaint, state, validate_case_input

router = APIRouter(prefix="/open311/v2", tags=["open311"])
SPEC = "http://wiki.open311.org/GeoReport_v2"
MAX_DAYS = 90
MAX_RESULTS = 1000
FILERS = (Role.dispatcher, Role.supervisor, Role.community)


class Format(StrEnum):
    json = "json"
    xml = "xml"


SERVICE_NAMES = {  # service_name (Chinese first), group
    "urban_management": ("城市管理", "城市管理"),
    "property": ("物业管理", "住房和物业"),
    "labour": ("劳动保障", "民生"),
    "education": ("教育", "民生"),
    "medical": ("医疗卫生", "民生"),
    "veterans": ("退役军人事务", "民生"),
    "urban_renewal": ("城市更新", "住房和物业"),
    "environment": ("生态环境", "城市管理"),
    "traffic": ("交通", "城市管理"),
    "housing": ("住房和租赁", "住房和物业"),
    "other": ("其他诉求", "其他"),
}
MILESTONE_NAMES = {
    "acknowledge": "受理告知",
    "dispatch": "分拨",
    "contact": "电话联系",
    "verify": "核实情况",
    "reply": "答复",
    "opinion": "处理意见书",
    "resolve": "办结",
    "progress_report": "进展报告",
    "follow_up": "回访",
}
UNITS = {"minutes": "分钟", "hours": "小时", "days": "天", "working_days": "个工作日", "months": "个月"}
STATUS_NOTES = {
    "received": "已受理，待分拨",
    "dispatched": "已派至{department}",
    "handling": "{department}办理中",
    "resolved": "已办结，待回访",
    "closed": "已回访，销号",
    "merged": "已并入诉求 {merged_into} 一并办理",
}
OPEN311_ERRORS = {401: 403, 409: 400, 412: 400, 413: 400, 415: 400, 422: 400}


def _duration(d: Duration) -> str:
    return f"{d.amount}{UNITS.get(d.unit.value, d.unit.value)}"


def service_notice(policy: str, track: str, category: str) -> str:
    """The case's promises, from the policy table (the same rules that set its deadlines)."""
    parts = []
    for anchor, after in (("acceptance", "受理起"), ("assignment", "派单起"), ("resolution", "办结起")):
        for rule in rules_for(policy, anchor, track):
            name = MILESTONE_NAMES.get(rule.name)
            if name:
                parts.append(f"{name}{_duration(rule.duration_for(track, category))}内（{after}）")
    return f"已受理（{policy}）：" + "；".join(parts) + "。"


# ---- answers in JSON or XML ------------------------------------------------------------------

# A list's element -> the element of each item, as the specification names them.
ITEMS = {
    "service_requests": "request",
    "services": "service",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}


def _xml(tag: str, value: Any) -> ElementTree.Element:
    element = ElementTree.Element(tag)
    if isinstance(value, dict):
        for key, item in value.items():
            element.append(_xml(key, item))
    elif isinstance(value, list):
        child = ITEMS.get(tag, "item")
        for item in value:
            element.append(_xml(child, item))
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = str(value)
    return element


def answer(fmt: str, root: str, body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """`body` as JSON, or as XML under `root` (a list's items named by the singular of root)."""
    if fmt == "xml":
        text = ElementTree.tostring(_xml(root, body), encoding="unicode")
        return Response(
            f'<?xml version="1.0" encoding="utf-8"?>\n{text}',
            status_code=status,
            media_type="application/xml",
            headers=headers,
        )
    return JSONResponse(body, status_code=status, headers=headers)


def error_answer(
    request: Request,
    status: int,
    detail: str,
    errors: list[tuple[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """The specification's error list (one entry per bad field), in the format the path asks for."""
    status = OPEN311_ERRORS.get(status, status)
    fmt = "xml" if request.url.path.endswith(".xml") else "json"
    items = [f"{f}: {m}" for f, m in errors] if errors else [detail]
    return answer(fmt, "errors", [{"code": status, "description": d} for d in items], status, headers)


# ---- OpenAPI description of the answers --------------------------------------------------------


class Error311(BaseModel):
    code: int
    description: str


class Service(BaseModel):
    service_code: str
    service_name: str
    description: str
    metadata: bool
    type: str
    keywords: str
    group: str


class Request311(BaseModel):
    service_request_id: str
    status: str
    status_notes: str | None
    service_name: str
    service_code: str
    description: str | None
    agency_responsible: str | None
    service_notice: str
    requested_datetime: str
    updated_datetime: str
    expected_datetime: str | None
    address: str | None
    address_id: str | None = None
    zipcode: str | None = None
    lat: float | None
    long: float | None
    media_url: str | None = None


class Created311(BaseModel):
    service_request_id: str
    service_notice: str
    account_id: str | None = None
    token: str | None = None


def _doc(model: Any, description: str) -> dict[int | str, dict[str, Any]]:
    errors = {
        "content": {
            "application/json": {"schema": {"type": "array", "items": Error311.model_json_schema()}},
            "application/xml": {},
        }
    }
    return {
        200: {"description": description, "content": {"application/json": {"schema": model}, "application/xml": {}}},
        400: {"description": "Bad request", **errors},
        403: {"description": "No or bad api_key", **errors},
        404: {"description": "Unknown service or request", **errors},
        429: {"description": "Too many requests", **errors},
        503: {"description": "Unavailable", **errors},
    }


def _array(model: type[BaseModel]) -> dict[str, Any]:
    return {"type": "array", "items": model.model_json_schema()}


FormatPath = Annotated[Format, Path(description="json or xml")]


# ---- discovery and services ------------------------------------------------------------------


@router.get(
    "/discovery.{fmt}",
    dependencies=[Depends(public)],
    response_class=Response,
    responses=_doc({"type": "object"}, "Where this endpoint is and what it speaks"),
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
    }
    return answer(fmt, "discovery", body)


def _service(category: Category) -> dict[str, Any]:
    name, group = SERVICE_NAMES[category.value]
    return {
        "service_code": category.value,
        "service_name": name,
        "description": f"{name}类诉求，按接诉即办时限办理 ({category.value})",
        "metadata": True,
        "type": "realtime",
        "keywords": f"{name}, {category.value.replace('_', ' ')}",
        "group": group,
    }


@router.get(
    "/services.{fmt}",
    dependencies=[Depends(public)],
    response_class=Response,
    responses=_doc(_array(Service), "The services: the engine's categories"),
)
async def services(fmt: FormatPath) -> Response:
    return answer(fmt, "services", [_service(c) for c in Category])


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
    responses=_doc({"type": "object"}, "What a request of this service must carry"),
)
async def service_definition(service_code: Annotated[str, Path(max_length=100)], fmt: FormatPath) -> Response:
    category = _category(service_code)
    attributes = [
        _attribute("district", 1, "区 (district)", True),
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


class RequestForm(BaseModel):
    """POST requests, form-encoded, as the specification names the fields."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    api_key: str | None = Field(default=None, max_length=200)
    jurisdiction_id: str | None = Field(default=None, max_length=200)
    service_code: str = Field(max_length=100)
    lat: float | None = None
    long: float | None = None
    address_string: str | None = Field(default=None, max_length=200)
    address_id: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=254)
    device_id: str | None = Field(default=None, max_length=200)
    account_id: str | None = Field(default=None, max_length=200)
    first_name: str | None = Field(default=None, max_length=50)
    last_name: str | None = Field(default=None, max_length=50)
    phone: str | None = Field(default=None, max_length=40)
    description: str | None = Field(default=None, max_length=5000)
    media_url: str | None = Field(default=None, max_length=2000)
    district: str | None = Field(default=None, alias="attribute[district]", max_length=200)
    street: str | None = Field(default=None, alias="attribute[street]", max_length=200)
    community: str | None = Field(default=None, alias="attribute[community]", max_length=200)
    grid: str | None = Field(default=None, alias="attribute[grid]", max_length=200)
    track: Track | None = Field(default=None, alias="attribute[track]")
    title: str | None = Field(default=None, alias="attribute[title]", max_length=200)

    @field_validator("*", mode="before")
    @classmethod
    def _utf8(cls, value: Any) -> Any:
        """Text sent as raw UTF-8 instead of percent-encoded (curl -d does) arrives read as
        Latin-1: read it again as the UTF-8 it was. Anything else stays as it came."""
        if isinstance(value, str) and any("\x80" <= ch <= "\xff" for ch in value):
            try:
                return value.encode("latin-1").decode("utf-8")
            except (UnicodeEncodeError, UnicodeDecodeError):
                return value
        return value


# Engine field -> the form field that feeds it, so an error names what the client sent.
FORM_FIELDS = {
    "complaint.location.district": "attribute[district]",
    "complaint.location.street": "attribute[street]",
    "complaint.location.community": "attribute[community]",
    "complaint.location.grid": "attribute[grid]",
    "complaint.location.address": "address_string",
    "complaint.location.lat": "lat",
    "complaint.location.long": "long",
    "complaint.title": "attribute[title]",
    "complaint.description": "description",
    "complaint.media_url": "media_url",
    "complaint.complainant.phone": "phone",
    "complaint.complainant.email": "email",
    "complaint.complainant.name": "first_name",
    "complaint.track": "attribute[track]",
}


def _name(form: RequestForm) -> str:
    parts = [p.strip() for p in (form.last_name, form.first_name) if p and p.strip()]
    if not parts:
        return "匿名"  # anonymous callers are served too; the phone is what the follow-up needs
    chinese = all(ord(ch) > 0x2E80 for p in parts for ch in p)
    return "".join(parts) if chinese else " ".join(reversed(parts))


def missing_fields(form: RequestForm) -> list[tuple[str, str]]:
    """What the engine needs that the form left out (Open311 makes these optional)."""
    missing = [
        (f, why)
        for f, value, why in (
            ("description", form.description, "required: what happened"),
            ("phone", form.phone, "required: the follow-up visit (回访) calls the complainant"),
            ("attribute[district]", form.district, "required (see the service definition)"),
            ("attribute[street]", form.street, "required (see the service definition)"),
            ("attribute[community]", form.community, "required (see the service definition)"),
        )
        if not (value and value.strip())
    ]
    if (form.lat is None) != (form.long is None):
        missing.append(("lat" if form.lat is None else "long", "lat and long go together"))
    if form.lat is None and not form.address_string and not form.address_id:
        missing.append(("lat", "a location is required: lat and long, or address_string"))
    return missing


def complaint_of(form: RequestForm) -> dict[str, Any]:
    description = (form.description or "").strip()
    title = (form.title or "").strip() or (description.splitlines() or [""])[0][:40]
    return {
        "channel": "online",
        "category": form.service_code,
        "track": (form.track or Track.routine).value,
        "title": title,
        "description": description,
        "media_url": form.media_url or None,
        "complainant": {"name": _name(form), "phone": form.phone, "email": form.email or None},
        "location": {
            "district": form.district,
            "street": form.street,
            "community": form.community,
            "grid": form.grid or None,
            "address": form.address_string or form.address_id or None,
            "lat": form.lat,
            "long": form.long,
        },
    }


@router.post(
    "/requests.{fmt}",
    response_class=Response,
    responses=_doc(_array(Created311), "Created: the request's id and its promises"),
)
async def create_request(fmt: FormatPath, request: Request, form: Annotated[RequestForm, Form()]) -> Response:
    g = gateway(request)
    header = request.headers.get("authorization", "")
    identity = g.identities.admit(
        form.api_key or (header[7:] if header.lower().startswith("bearer ") else None), g.limiter
    )
    if identity.role not in FILERS:
        raise ApiProblem(403, f"{identity.role.value} {identity.id} may not file requests")
    category = _category(form.service_code)
    errors = missing_fields(form)
    try:
        case_input = validate_case_input({"complaint": complaint_of(form), "policy": Policy.p1030.value})
    except InvalidInput as err:  # named by the form's fields, each once
        named = {f for f, _ in errors}
        errors += [(FORM_FIELDS.get(f, f), m) for f, m in err.errors if FORM_FIELDS.get(f, f) not in named]
    if errors:
        raise InvalidInput("; ".join(f"{f}: {m}" for f, m in errors), errors)
    case_id = f"o{datetime.now(timezone.utc):%Y%m%d}-{secrets.token_hex(5)}"
    await file_complaint(g.client, case_id, case_input, task_queue=g.config.task_queue)
    notice = service_notice(case_input.policy.value, case_input.complaint.track.value, category.value)
    return answer(
        fmt,
        "service_requests",
        [{"service_request_id": case_id, "service_notice": notice, "account_id": None, "token": case_id}],
    )


@dataclass
class PublicCase:
    """A request as Open311 shows it: nothing personal."""

    service_request_id: str
    status: str
    status_notes: str | None
    service_name: str
    service_code: str
    description: str | None
    agency_responsible: str | None
    service_notice: str
    requested_datetime: str
    updated_datetime: str
    expected_datetime: str | None
    address: str | None
    address_id: None
    zipcode: None
    lat: float | None
    long: float | None
    media_url: None

    @classmethod
    def make(
        cls,
        *,
        case_id: str,
        status: str,
        category: str,
        policy: str,
        track: str,
        department: str | None,
        merged_into: str | None,
        title: str | None,
        received_at: datetime,
        updated_at: datetime,
        resolve_due: datetime | None,
        place: list[str | None],
        lat: float | None,
        long: float | None,
    ) -> "PublicCase":
        notes = STATUS_NOTES.get(status, status).format(department=department or "-", merged_into=merged_into or "-")
        return cls(
            service_request_id=case_id,
            status="open" if status in OPEN else "closed",
            status_notes=notes,
            service_name=SERVICE_NAMES.get(category, (category, ""))[0],
            service_code=category,
            description=title,
            agency_responsible=department,
            service_notice=service_notice(policy, track, category),
            requested_datetime=_t(received_at),
            updated_datetime=_t(updated_at),
            expected_datetime=_t(resolve_due) if resolve_due else None,
            address=" ".join(p for p in place if p) or None,
            address_id=None,
            zipcode=None,
            lat=lat,
            long=long,
            media_url=None,
        )

    @classmethod
    def from_row(cls, row: CaseRow, resolve_due: datetime | None) -> "PublicCase":
        return cls.make(
            case_id=row.case_id,
            status=row.status,
            category=row.category,
            policy=row.policy,
            track=row.track,
            department=row.department,
            merged_into=row.merged_into,
            title=row.title,
            received_at=row.received_at,
            updated_at=row.updated_at,
            resolve_due=resolve_due,
            place=[row.district, row.street, row.community, row.address],
            lat=row.lat,
            long=row.long,
        )

    @classmethod
    def from_state(cls, s: CaseState) -> "PublicCase":
        """A case the read model has not caught up with yet: from the engine itself."""
        received = s.timeline[0].detail if s.timeline and s.timeline[0].kind == "received" else {}
        place = received.get("location", {})
        resolve = s.milestone("resolve")
        return cls.make(
            case_id=s.case_id,
            status=s.status.value,
            category=s.category.value,
            policy=s.policy.value,
            track=s.track.value,
            department=s.department,
            merged_into=s.merged_into,
            title=received.get("title"),
            received_at=s.received_at,
            updated_at=s.timeline[-1].at if s.timeline else s.received_at,
            resolve_due=resolve.due_at if resolve else None,
            place=[place.get("district"), place.get("street"), place.get("community"), place.get("address")],
            lat=place.get("lat"),
            long=place.get("long"),
        )


def _t(moment: datetime) -> str:
    return (utc(moment) or moment).astimezone(BUSINESS_TZ).isoformat(timespec="seconds")


def _find(
    g: Gateway,
    *,
    ids: list[str] | None = None,
    category: str | None = None,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[PublicCase]:
    query = select(CaseRow)
    if ids is not None:
        query = query.where(col(CaseRow.case_id).in_(ids))
    if category:
        query = query.where(col(CaseRow.category) == category)
    if status == "open":
        query = query.where(col(CaseRow.status).in_(OPEN))
    elif status == "closed":
        query = query.where(col(CaseRow.status).in_([s.value for s in FINISHED]))
    if since is not None:
        query = query.where(col(CaseRow.received_at) >= since)
    if until is not None:
        query = query.where(col(CaseRow.received_at) <= until)
    query = query.order_by(col(CaseRow.received_at).desc()).limit(MAX_RESULTS)
    with Session(g.read_model.engine) as session:
        rows = list(session.exec(query).all())
        due: dict[str, datetime] = {}
        if rows:
            milestones = session.exec(
                select(MilestoneRow)
                .where(col(MilestoneRow.case_id).in_([r.case_id for r in rows]), col(MilestoneRow.name) == "resolve")
                .order_by(col(MilestoneRow.seq))
            ).all()
            due = {m.case_id: m.due_at for m in milestones}  # the latest resolve clock wins
    return [PublicCase.from_row(r, due.get(r.case_id)) for r in rows]


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
    responses=_doc(_array(Request311), "Requests, newest first (at most 1000)"),
)
async def list_requests(
    fmt: FormatPath,
    request: Request,
    service_request_id: Annotated[str | None, Query(max_length=4000, description="comma-separated ids")] = None,
    service_code: Annotated[str | None, Query(max_length=100)] = None,
    start_date: Annotated[str | None, Query(max_length=40)] = None,
    end_date: Annotated[str | None, Query(max_length=40)] = None,
    status: Annotated[str | None, Query(max_length=20, description="open, closed, or both comma-separated")] = None,
    jurisdiction_id: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    g = gateway(request)
    if service_request_id:
        ids = [i.strip() for i in service_request_id.split(",") if i.strip()][:MAX_RESULTS]
        found = _find(g, ids=ids)
        return answer(fmt, "service_requests", [asdict(c) for c in found])
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
    if service_code:
        _category(service_code)
    found = _find(
        g, category=service_code, status=statuses.pop() if len(statuses) == 1 else None, since=since, until=until
    )
    return answer(fmt, "service_requests", [asdict(c) for c in found])


async def _one(g: Gateway, case_id: str) -> PublicCase:
    found = _find(g, ids=[case_id])
    if found:
        return found[0]
    try:
        return PublicCase.from_state(await state(g.client, case_id))
    except (UnknownCase, InvalidInput):
        raise ApiProblem(404, f"service_request_id {case_id!r} not found") from None


@router.get(
    "/requests/{service_request_id}.{fmt}",
    dependencies=[Depends(public)],
    response_class=Response,
    responses=_doc(_array(Request311), "The request"),
)
async def read_request(
    service_request_id: Annotated[str, Path(max_length=128)], fmt: FormatPath, request: Request
) -> Response:
    found = await _one(gateway(request), service_request_id)
    return answer(fmt, "service_requests", [asdict(found)])


@router.get(
    "/tokens/{token}.{fmt}",
    dependencies=[Depends(public)],
    response_class=Response,
    responses=_doc(_array(Created311), "The request the token stands for"),
)
async def read_token(token: Annotated[str, Path(max_length=128)], fmt: FormatPath, request: Request) -> Response:
    found = await _one(gateway(request), token)  # requests are created at once: a token is the request's id
    return answer(fmt, "service_requests", [{"service_request_id": found.service_request_id, "token": token}])
