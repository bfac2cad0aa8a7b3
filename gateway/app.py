"""The gateway's app: wiring in one place (the Temporal client, the read model, identities, limits).

One Temporal client per process, made in the lifespan and used only from the app's event loop.
It connects lazily, so the gateway starts (and says 503) while Temporal is still coming up.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client

from gateway import complainant, console, evidence, open311, problems, v1
from gateway.auth import Gateway, gateway
from readmodel import ReadModel, links_of, open_read_model
from runtime import logs, settings
from runtime.blobs import blobs_of
from runtime.http import RateLimiter
from starter import data_converter
from starter.codec import EncryptionCodec, keyring_from_settings
from starter.codec_server import CodecState, codec_app
from starter.identities import IdentityStore

log = logs.get("gateway")
MAX_BODY = 64 * 1024
UPLOAD = re.compile(r"/v1/cases/[^/]+/attachments|/v1/cases/with-evidence")  # evidence: multipart, streamed, bounded
COMPLAINANT_PAGE = re.compile(r"/s/[^/]+")  # the complainant's photo, posted to their link

DESCRIPTION = """HTTP for integrators in any language: file complaints, act on cases, read them.

Every request but `/healthz`, `/openapi.json`, `/docs` and Open311's GETs carries
`Authorization: Bearer <key>` (keys from `python -m starter identity add`). The caller's
identity is the actor of every update. Errors are `application/problem+json`.
"""


class BodyLimit:
    """413 for a body over MAX_BODY, whether it says its length or streams it. The body is read
    here (it is small by then) and handed on whole, so no handler ever sees part of one."""

    def __init__(self, app: ASGIApp, upload_limit: int = 200 << 20) -> None:
        self.app = app
        self.upload_limit = upload_limit  # an evidence upload's body at most: the largest file and its form

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        multipart = headers.get(b"content-type", b"").startswith(b"multipart/form-data")
        if scope["method"] == "POST" and (
            UPLOAD.fullmatch(scope["path"]) or (multipart and COMPLAINANT_PAGE.fullmatch(scope["path"]))
        ):
            # Streamed to disk, never held here; cut off past the largest file a form may carry, so
            # no body fills the disk before the handler's own bound (gateway/evidence.py) is read.
            if (
                headers.get(b"content-length", b"0").isdigit()
                and int(headers.get(b"content-length", b"0")) > self.upload_limit
            ):
                return await self._refuse(scope, receive, send, self.upload_limit)
            return await self.app(scope, self._counted(receive), send)
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
            return await self._refuse(scope, receive, send)
        body, more = bytearray(), True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return None
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > MAX_BODY:
                return await self._refuse(scope, receive, send)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()  # after the body: wait for a disconnect, as the server would
            sent = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)

    def _counted(self, receive: Receive) -> Receive:
        """The body as it comes, until it passes the limit: then the client is as gone."""
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            return {"type": "http.disconnect"} if seen > self.upload_limit else message

        return counted

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, limit: int = MAX_BODY) -> None:
        size = f"{limit // (1 << 20)} MiB" if limit >= 1 << 20 else f"{limit // 1024} KiB"
        answer = problems.problem(413, f"the body is over {size}")
        await answer(scope, receive, send)


def create_app(
    *, client: Client | None = None, read_model: ReadModel | None = None, config: settings.Settings | None = None
) -> FastAPI:
    """The gateway. Tests may hand in a client and a read model; otherwise the settings decide."""
    config = config or settings.load()
    identities = IdentityStore(config.identities_url)
    if not identities.identities() and config.identities_file.exists():
        # Identities moved from the file into the database (city-contract.md): say how to bring them.
        log.warning(
            "no identities in the database; an earlier version's file is there: "
            f"python -m starter identity import {config.identities_file}",
            identities=identities.where,
        )
    limiter = RateLimiter(config.rate_limit, config.rate_burst)
    codec = codec_app(CodecState(identities, limiter, EncryptionCodec(keyring_from_settings())), config.codec_origin)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        temporal = client or await Client.connect(
            config.temporal_address or f"localhost:{config.dev_server_port}",
            namespace=config.namespace,
            data_converter=data_converter(),
            lazy=True,
        )
        app.state.gateway = Gateway(
            config,
            temporal,
            read_model or open_read_model(config),
            identities,
            limiter,
            links_of(config),
            blobs_of(config.evidence_store, config.data_dir),
        )
        log.info(
            "gateway ready",
            temporal=config.temporal_address or f"localhost:{config.dev_server_port}",
            namespace=config.namespace,
            identities=identities.where,
        )
        yield
        console.shut_down(app)

    app = FastAPI(title="Complaint cases (接诉即办) gateway", version="1", description=DESCRIPTION, lifespan=lifespan)
    problems.install(app, {open311.router.prefix + "/": open311.error_answer})
    largest = max(config.evidence_max_photo_mib, config.evidence_max_document_mib, config.evidence_max_recording_mib)
    app.add_middleware(BodyLimit, upload_limit=(largest + 1) << 20)  # a file, and its form's few fields
    app.include_router(evidence.router)  # before /v1/cases/{id}/{update}, which would take its paths
    app.include_router(v1.router)
    app.include_router(open311.router)
    app.mount("/codec", codec)
    console.install(app, config)
    complainant.install(app)

    @app.get(
        "/healthz",
        tags=["operators"],
        summary="200 when Temporal and the read model answer",
        responses={
            503: {
                "description": "Names what does not answer",
                "model": problems.Problem,
                "content": {problems.PROBLEM: {}},
            }
        },
    )
    async def healthz(request: Request) -> JSONResponse:
        g = gateway(request)
        failing = {}
        try:
            await g.client.workflow_service.get_system_info(GetSystemInfoRequest(), timeout=timedelta(seconds=3))
        except Exception as err:  # anything at all: the answer is "Temporal does not answer", and why
            failing["temporal"] = f"{type(err).__name__}: {err}"
        try:
            await asyncio.wait_for(asyncio.to_thread(_ping, g.read_model), 3)
        except Exception as err:
            failing["read_model"] = f"{type(err).__name__}: {err}"
        if failing:
            return problems.problem(503, "; ".join(f"{k} does not answer ({v})" for k, v in failing.items()))
        return JSONResponse({"status": "ok", "temporal": "ok", "read_model": "ok"})

    return app


def _ping(read_model: ReadModel) -> Any:
    with read_model.engine.connect() as conn:
        return conn.execute(text("SELECT 1")).scalar()
