"""The codec endpoint for the Temporal Web UI (the codec-server protocol: POST /encode, /decode).

Only supervisors and auditors may use it, since a decode shows personal data in clear; every
decode is logged with who asked and the case ids the payloads belong to. CORS admits the one
configured UI origin, and only here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.middleware.cors import CORSMiddleware

from models import Role
from runtime import logs
from runtime.http import PROBLEM, ApiProblem, RateLimiter, install
from starter.codec import EncryptionCodec, payloads_from_json, payloads_to_json
from starter.identities import Identity, IdentityStore

log = logs.get("codec")
MAY_DECODE = (Role.supervisor, Role.auditor)


@dataclass
class CodecState:
    identities: IdentityStore
    limiter: RateLimiter
    codec: EncryptionCodec


_bearer = HTTPBearer(auto_error=False)


async def _key_holder(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
) -> Identity:
    state: CodecState = request.app.state.codec
    identity = state.identities.admit(credentials.credentials if credentials else None, state.limiter)
    if identity.role not in MAY_DECODE:
        raise ApiProblem(
            403, f"{identity.role.value} {identity.id} may not; only a supervisor or auditor may see payloads in clear"
        )
    if identity.scope is not None:
        # The Web UI shows every case of the namespace, and a payload does not say whose case it
        # is: only the whole city's eyes may decode (city-contract.md; scoped ones use the console).
        raise ApiProblem(
            403,
            f"{identity.role.value} {identity.id} sees {identity.scope} only; the codec decodes for the "
            "whole city's supervisors and auditors (use the console for your part)",
        )
    return identity


UNNAMED = "an update's input or a complaint as filed names no case, and the codec protocol does not say which workflow a payload came from"


def case_ids_in(value: Any, found: set[str] | None = None, depth: int = 0) -> set[str]:
    """The case ids a decoded payload names (a case state, a notice, a read-model snapshot ...)."""
    found = set() if found is None else found
    if depth > 6:
        return found
    if isinstance(value, dict):
        if isinstance(value.get("case_id"), str):
            found.add(value["case_id"])
        for item in value.values():
            case_ids_in(item, found, depth + 1)
    elif isinstance(value, list):
        for item in value[:100]:
            case_ids_in(item, found, depth + 1)
    return found


async def _body(request: Request) -> list[Any]:
    try:
        return payloads_from_json(await request.body())
    except Exception as err:  # protobuf's ParseError and the like: the body is not a codec request
        raise ApiProblem(400, f'not a codec request ({{"payloads": [...]}}): {err}') from None


def codec_app(state: CodecState, origin: str) -> FastAPI:
    """A small app of its own, mounted at /codec by the gateway (or served alone by
    `python -m starter codec-server`), so CORS for the UI's origin reaches nothing else."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.state.codec = state
    install(app)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=[origin],
        allow_credentials=True,
        allow_methods=["POST"],
        allow_headers=["Content-Type", "X-Namespace", "Authorization"],
    )

    @app.post("/encode")
    async def encode(request: Request, identity: Identity = Depends(_key_holder)) -> Response:
        payloads = await _body(request)
        return Response(payloads_to_json(await state.codec.encode(payloads)), media_type="application/json")

    @app.post("/decode")
    async def decode(request: Request, identity: Identity = Depends(_key_holder)) -> Response:
        payloads = await _body(request)
        try:
            decoded = await state.codec.decode(payloads)
        except Exception as err:  # a key we do not hold, a corrupt payload: say so, keep serving
            return JSONResponse(
                {
                    "type": "about:blank",
                    "title": "Bad request",
                    "status": 400,
                    "detail": f"cannot decode: {type(err).__name__}: {err}",
                },
                status_code=400,
                media_type=PROBLEM,
            )
        opened: set[str] = set()
        unnamed = 0
        for payload in decoded:
            try:
                named = case_ids_in(json.loads(payload.data))
            except (ValueError, UnicodeDecodeError):
                named = set()  # not JSON: nothing to name
            opened |= named
            unnamed += not named
        log.info(
            "payloads decoded",
            identity=identity.id,
            role=identity.role.value,
            namespace=request.headers.get("X-Namespace"),
            payloads=len(decoded),
            case_ids=sorted(opened),
            # The codec protocol sends payloads without the workflow they came from, and an
            # update's input or a complaint as filed carries no case id: the log says how many.
            **({"naming_no_case": unnamed, "why": UNNAMED} if unnamed else {}),
        )
        return Response(payloads_to_json(decoded), media_type="application/json")

    return app
