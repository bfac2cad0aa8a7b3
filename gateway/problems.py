"""The gateway's errors: problem+json (runtime.http) with the engine's own faults mapped to a
status. Anything a client sends ends in a 4xx naming the fault; Temporal or the read model out of
reach is 503. A 500 means a bug of ours, and is logged with its traceback.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from sqlalchemy.exc import OperationalError
from temporalio.service import RPCError, RPCStatusCode

from runtime import logs
from runtime.http import PROBLEM, TITLES, Answer, ApiProblem, Problem, internal_error, problem, redacted
from runtime.http import install as install_problems
from starter import Forbidden, InvalidInput, Rejected, Stale, UnknownCase

log = logs.get("gateway")

__all__ = ["PROBLEM", "ApiProblem", "Problem", "install", "problem", "responses", "success", "unavailable"]


def success(model: Any, description: str, headers: dict[str, Any] | None = None) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` entry of a 200 answer."""
    return {200: {"model": model, "description": description} | ({"headers": headers} if headers else {})}


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:  # FastAPI's own type for `responses`
    """The OpenAPI `responses` entries for these problem statuses."""
    return {s: {"model": Problem, "description": TITLES[s], "content": {PROBLEM: {}}} for s in statuses}


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


def install(app: FastAPI, others: dict[str, Answer] | None = None) -> None:
    """Every error as problem+json (except under the prefixes of `others`), the engine's included."""
    answer = install_problems(app, others)

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
            log.warning("dependency unavailable", path=redacted(request.url.path), error=str(err))
            return answer(request, 503, why, headers={"Retry-After": "5"})
        if isinstance(err, RPCError) and err.status == RPCStatusCode.NOT_FOUND:
            return answer(request, 404, err.message)
        if isinstance(err, RPCError) and err.status == RPCStatusCode.INVALID_ARGUMENT:
            return answer(request, 422, err.message, [("(request)", err.message)])
        return internal_error(request, err, answer)

    # Handled here (not by the catch-all, which Starlette re-raises to the server).
    for kind in (RPCError, OperationalError, TimeoutError, RuntimeError):
        app.add_exception_handler(kind, _outside)  # type: ignore[arg-type]
