"""What every HTTP face of the engine shares (the gateway, the codec server): errors as
application/problem+json (RFC 9457) and a rate limit per caller.

Anything a client sends ends in a 4xx naming the fault. A 500 means a bug of ours, and is logged
with its traceback.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from runtime import logs

log = logs.get("http")
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


def _loc(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path"):
        parts = parts[1:]
    elif parts and parts[0] == "header":
        parts = ["header", *parts[1:]]
    return ".".join(parts) or "(body)"


VALUE_ERROR = "Value error, "


def plain(message: str) -> str:
    """A validator's message as a person reads it: without pydantic's 'Value error, ' prefix."""
    return message.removeprefix(VALUE_ERROR)


def _field_error(error: Any, body: Any) -> tuple[str, str]:
    """(field, message) of one of FastAPI's validation errors. Broken JSON is located by line and
    column in the body (FastAPI gives a byte offset as if it were a field)."""
    if error.get("type") == "json_invalid":
        where = error.get("loc", ("body", 0))[-1]
        offset = where if isinstance(where, int) else 0
        text = body if isinstance(body, str) else ""
        line = text.count("\n", 0, offset) + 1
        column = offset - (text.rfind("\n", 0, offset) + 1) + 1
        why = (error.get("ctx") or {}).get("error", "not JSON")
        return "body", f"not valid JSON at line {line}, column {column}: {why}"
    return _loc(tuple(error.get("loc", ()))), plain(str(error.get("msg", "invalid")))


class Answer(Protocol):
    """Renders a problem as the path's clients expect it."""

    def __call__(
        self,
        request: Request,
        status: int,
        detail: str,
        errors: list[tuple[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response: ...


def install(app: FastAPI, others: dict[str, Answer] | None = None) -> Answer:
    """Answer every error as problem+json, except under the prefixes of `others` (Open311 has an
    error list of its own). Returns the renderer, for the handlers an app adds of its own."""
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
        errors = [_field_error(e, err.body) for e in err.errors()]
        return answer(request, 422, "; ".join(f"{f}: {m}" for f, m in errors), errors)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, err: HTTPException) -> Response:
        if err.status_code == 400:  # FastAPI's "error parsing the body": bad input like any other
            return answer(request, 422, f"the body: {err.detail}", [("(body)", "not a JSON (UTF-8) or form body")])
        return answer(request, err.status_code, str(err.detail), headers=dict(err.headers or {}))

    @app.exception_handler(Exception)
    async def _bug(request: Request, err: Exception) -> Response:
        return internal_error(request, err, answer)

    return answer


def internal_error(request: Request, err: Exception, answer: Answer) -> Response:
    """A bug of ours: logged with its traceback, answered 500 without detail."""
    log.error("unhandled error", path=redacted(request.url.path), error=repr(err), exc_info=err)
    return answer(request, 500, "an internal error; it is logged")


def redacted(path: str) -> str:
    """A path as logs may show it: a link's secret part never reaches a log."""
    return "/s/…" if path.startswith("/s/") else path


class RateLimiter:
    """A token bucket per caller: `rate` requests a second on average, `burst` at once."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, max(burst, 1)
        self._buckets: dict[str, tuple[float, float]] = {}  # who -> (tokens, when counted)

    def wait(self, who: str) -> float:
        """0 when `who` may go now (and takes a token), else the seconds until it may."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic()
        tokens, then = self._buckets.get(who, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - then) * self.rate)
        if tokens < 1:
            self._buckets[who] = (tokens, now)
            return (1 - tokens) / self.rate
        self._buckets[who] = (tokens - 1, now)
        if len(self._buckets) > 10_000:  # forget the full buckets of callers long quiet
            self._buckets = {k: v for k, v in self._buckets.items() if v[0] + (now - v[1]) * self.rate < self.burst}
        return 0.0

    def admit(self, who: str) -> None:
        """Raise 429 (with Retry-After) when `who` is over its rate."""
        wait = self.wait(who)
        if wait > 0:
            raise ApiProblem(
                429,
                f"rate limit: {self.rate:g} requests a second; try again in {wait:.1f} s",
                headers={"Retry-After": str(max(1, round(wait + 0.5)))},
            )
