"""Errors as application/problem+json (RFC 9457), one mapping from what went wrong to a status.

Anything a client sends ends in a 4xx naming the fault; Temporal or the read model out of reach
is 503. A 500 means a bug of ours, and is logged with its traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException
from temporalio.service import RPCError, RPCStatusCode

import logs
from starter import Forbidden, InvalidInput, Rejected, Stale, UnknownCase

log = logs.get("gateway")
PROBLEM = "application/problem+json"


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """What went wrong (RFC 9457); `errors` names every bad field of a 422."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None


TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Refused by the case",
    412: "The case has changed",
    413: "Body too large",
    415: "Unsupported media type",
    422: "Invalid input",
    429: "Too many requests",
    500: "Internal error",
    503: "Unavailable",
}


class ApiProblem(Exception):
    """Raise anywhere in a handler to answer with this problem."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        errors: list[tuple[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.detail, self.errors, self.headers = status, detail, errors, headers or {}


def problem(
    status: int, detail: str, *, errors: list[tuple[str, str]] | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = [{"field": f, "message": m} for f, m in errors]
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def success(model: Any, description: str, headers: dict[str, Any] | None = None) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` entry of a 200 answer."""
    return {200: {"model": model, "description": description} | ({"headers": headers} if headers else {})}


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:  # FastAPI's own type for `responses`
    """The OpenAPI `responses` entries for these problem statuses."""
    return {s: {"model": Problem, "description": TITLES[s], "content": {PROBLEM: {}}} for s in statuses}


def _loc(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path"):
        parts = parts[1:]
    elif parts and parts[0] == "header":
        parts = ["header", *parts[1:]]
    return ".".join(parts) or "(body)"


def unavailable(err: Exception) -> str | None:
    """Why Temporal or the read model is out of reach (a 503), or None for any other error."""
    if isinstance(err, RPCError) and err.status in (
        RPCStatusCode.UNAVAILABLE,
        RPCStatusCode.DEADLINE_EXCEEDED,
        RPCStatusCode.CANCELLED,
        RPCStatusCode.RESOURCE_EXHAUSTED,
    ):
        return f"Temporal did not answer: {err.message}"
    if isinstance(err, RPCError) and err.status == RPCStatusCode.UNIMPLEMENTED:
        return f"this Temporal server cannot do that ({err.message}); a dev server or cluster with visibility can"
    if isinstance(err, RuntimeError) and ("connect" in str(err).lower() or "transport" in str(err).lower()):
        return f"Temporal is out of reach: {err}"
    if isinstance(err, OperationalError):
        return "the read model's database did not answer"
    if isinstance(err, TimeoutError):
        return "no worker answered in time: is `python worker.py` running?"
    return None


# Paths whose errors take another form (Open311's error list): prefix -> renderer.
Renderer = Callable[[Request, int, str, "list[tuple[str, str]] | None", "dict[str, str] | None"], Response]


def install(app: FastAPI, others: dict[str, Renderer] | None = None) -> None:
    """Answer every error as problem+json, except under the prefixes of `others`."""
    others = others or {}

    def answer(
        request: Request,
        status: int,
        detail: str,
        errors: list[tuple[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        for prefix, render in others.items():
            if request.url.path.startswith(prefix):
                return render(request, status, detail, errors, headers)
        return problem(status, detail, errors=errors, headers=headers)

    @app.exception_handler(ApiProblem)
    async def _api(request: Request, err: ApiProblem) -> Response:
        return answer(request, err.status, err.detail, err.errors, err.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, err: RequestValidationError) -> Response:
        errors = [(_loc(tuple(e.get("loc", ()))), str(e.get("msg", "invalid"))) for e in err.errors()]
        return answer(request, 422, "; ".join(f"{f}: {m}" for f, m in errors), errors)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, err: HTTPException) -> Response:
        if err.status_code == 400:  # FastAPI's "error parsing the body": bad input like any other
            return answer(request, 422, f"the body: {err.detail}", [("(body)", "not a JSON (UTF-8) or form body")])
        return answer(request, err.status_code, str(err.detail), headers=dict(err.headers or {}))

    @app.exception_handler(InvalidInput)
    async def _input(request: Request, err: InvalidInput) -> Response:
        return answer(request, 422, str(err), err.errors)

    @app.exception_handler(UnknownCase)
    async def _unknown(request: Request, err: UnknownCase) -> Response:
        return answer(request, 404, str(err.args[0] if err.args else err))

    @app.exception_handler(Rejected)
    async def _rejected(request: Request, err: Rejected) -> Response:
        status = 403 if isinstance(err, Forbidden) else 412 if isinstance(err, Stale) else 409
        return answer(request, status, str(err))

    async def _outside(request: Request, err: Exception) -> Response:
        why = unavailable(err)
        if why is not None:
            log.warning("dependency unavailable", path=request.url.path, error=str(err))
            return answer(request, 503, why, headers={"Retry-After": "5"})
        if isinstance(err, RPCError) and err.status == RPCStatusCode.NOT_FOUND:
            return answer(request, 404, err.message)
        if isinstance(err, RPCError) and err.status == RPCStatusCode.INVALID_ARGUMENT:
            return answer(request, 422, err.message, [("(request)", err.message)])
        return await _bug(request, err)

    # Handled here (not by the catch-all below, which Starlette re-raises to the server).
    for kind in (RPCError, OperationalError, TimeoutError, RuntimeError):
        app.add_exception_handler(kind, _outside)  # type: ignore[arg-type]

    @app.exception_handler(Exception)
    async def _bug(request: Request, err: Exception) -> Response:
        log.error("unhandled error", path=request.url.path, error=repr(err), exc_info=err)
        return answer(request, 500, "an internal error; it is logged")
