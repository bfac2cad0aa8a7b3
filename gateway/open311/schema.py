"""Open311's answers as the OpenAPI description shows them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


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
    """GeoReport v2 "POST Service Request" response: service_request_id, or a token only when the
    id is not available yet. Ours always is, so no token."""

    service_request_id: str
    service_notice: str
    account_id: str | None = None


def documented(model: Any, description: str) -> dict[int | str, dict[str, Any]]:
    errors = {
        "content": {
            "application/json": {"schema": {"type": "array", "items": Error311.model_json_schema()}},
            "text/xml": {},
        }
    }
    return {
        200: {"description": description, "content": {"application/json": {"schema": model}, "text/xml": {}}},
        400: {"description": "Bad request", **errors},
        403: {"description": "No or bad api_key", **errors},
        404: {"description": "Unknown service or request", **errors},
        429: {"description": "Too many requests", **errors},
        503: {"description": "Unavailable", **errors},
    }


def array_of(model: type[BaseModel]) -> dict[str, Any]:
    return {"type": "array", "items": model.model_json_schema()}
