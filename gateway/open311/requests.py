"""A request as Open311 shows it (schema.Request311): status, department, promises and place; nothing
personal. From the read model's row, or from the engine while the read model catches up."""

from __future__ import annotations

from datetime import datetime

from gateway.open311.labels import ZH, service_name, service_notice
from gateway.open311.schema import Request311
from models import CaseState
from readmodel.tables import OPEN, CaseRow, utc
from sla import BUSINESS_TZ


def _request(
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
    media_url: str | None = None,
) -> Request311:
    notes = ZH.public_status(status, department=department, merged_into=merged_into)
    return Request311(
        service_request_id=case_id,
        status="open" if status in OPEN else "closed",
        status_notes=notes,
        service_name=service_name(category),
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
        media_url=media_url,
    )


def from_row(row: CaseRow, resolve_due: datetime | None, media_url: str | None = None) -> Request311:
    return _request(
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
        media_url=media_url,  # a photo a supervisor made public, or none
    )


def from_state(s: CaseState) -> Request311:
    """A case the read model has not caught up with yet: from the engine itself."""
    received = s.timeline[0].detail if s.timeline and s.timeline[0].kind == "received" else {}
    place = received.get("location", {})
    resolve = s.milestone("resolve")
    return _request(
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
