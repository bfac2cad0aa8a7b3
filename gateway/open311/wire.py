"""Open311's wire format: the same answer as JSON or as XML, and the specification's error list."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

from fastapi import Request
from fastapi.responses import JSONResponse, Response

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
            # GeoReport v2 "Formats": the discovery lists text/xml, so that is what XML is served as.
            media_type="text/xml",
            headers=headers,
        )
    return JSONResponse(body, status_code=status, headers=headers)


OPEN311_ERRORS = {401: 403, 409: 400, 412: 400, 413: 400, 415: 400, 422: 400}


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
