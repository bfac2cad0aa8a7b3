"""Evidence over HTTP (issue 38, gateway-contract.md "Evidence"): an upload judged by its content
and kept in the evidence store, the case's list with addresses signed for 10 minutes, and the
fetch of one such address. The `attach` update that records an upload on the case is the table's
like any other (POST /v1/cases/{id}/attach)."""

from __future__ import annotations

import asyncio
import secrets
import tempfile
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.requests import ClientDisconnect

from gateway.auth import caller, gateway, role_in
from gateway.problems import ApiProblem, responses
from gateway.v1 import CaseId, _engine, file_case_as
from gateway.views import CaseFiling, must_see, sees_personal_data, state_as_seen
from models.commands import FILERS
from models.evidence import Attachment, Bounds, Kind
from readmodel.evidence import record_upload, uploads_of
from readmodel.evidence_links import grant, opened
from readmodel.tables import UploadRow
from runtime import logs
from runtime.blobs import BlobMissing, Blobs
from starter import InvalidInput, Rejected, act, state
from starter.evidence import Judged, Refused, judge
from starter.identities import Identity

log = logs.get("evidence")
router = APIRouter(prefix="/v1", tags=["evidence"])
KEPT: dict[int | str, dict[str, Any]] = {201: {"description": "Kept: its id (the SHA-256 of the kept bytes) and facts"}}
SERVED: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file as the engine kept it",
        "content": {t: {} for t in ("image/jpeg", "application/pdf", "audio/wav", "audio/mpeg", "audio/mp4")},
    }
}
SUFFIX = {"image/jpeg": "jpg", "application/pdf": "pdf", "audio/wav": "wav", "audio/mpeg": "mp3", "audio/mp4": "m4a"}


def multipart(required: list[str], **properties: dict[str, Any]) -> dict[str, Any]:
    """OpenAPI's description of a multipart/form-data body (the routes read the form themselves)."""
    schema = {"type": "object", "required": required, "properties": properties}
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}}


def bounds_of(request: Request) -> Bounds:
    c = gateway(request).config
    mib = 1 << 20
    return Bounds(
        photo=c.evidence_max_photo_mib * mib,
        document=c.evidence_max_document_mib * mib,
        recording=c.evidence_max_recording_mib * mib,
        per_case=c.evidence_per_case,
    )


def blobs(request: Request) -> Blobs:
    return gateway(request).evidence


@router.post(
    "/cases/{case_id}/attachments",
    status_code=201,
    summary="Upload a photo, PDF or recording for a case; then `attach` records it",
    responses=KEPT | responses(401, 404, 413, 415, 422, 429, 503),
    openapi_extra=multipart(["file"], file={"type": "string", "format": "binary"}),
)
async def upload(case_id: CaseId, request: Request, identity: Identity = Depends(caller)) -> JSONResponse:
    g = gateway(request)
    must_see(await _engine(state(g.client, case_id)), identity)
    limits = bounds_of(request)
    if len(await asyncio.to_thread(uploads_of, g.read_model.engine, case_id)) >= limits.per_case:
        raise ApiProblem(413, f"the case holds {limits.per_case} uploads, the most it may")
    try:
        form = await request.form(max_files=1, max_fields=2, max_part_size=limits.largest + 1)
    except ClientDisconnect:
        raise ApiProblem(413, f"file: cut off, or over {limits.largest // (1 << 20)} MiB") from None
    except Exception as err:  # the multipart parser's own refusals (a part too large, no boundary)
        raise ApiProblem(422, f"file: a multipart/form-data body with one part named file ({err})") from None
    part = form.get("file")
    if not isinstance(part, UploadFile):
        raise ApiProblem(422, "file: a multipart/form-data body with one part named file")
    row = await keep_upload(request, case_id, part, identity.id)
    return JSONResponse(_facts(row), status_code=201)


async def keep_upload(
    request: Request, case_id: str, part: UploadFile, who: str, *, photos_only: bool = False
) -> UploadRow:
    """The part judged and kept, and recorded as an upload of the case (ApiProblem 413/415 naming
    why, and nothing kept). The caller has checked that `who` sees the case."""
    limits = bounds_of(request)
    name = part.filename or ""
    if "/" in name or "\\" in name or ".." in name or "\x00" in name:
        raise ApiProblem(422, "file: its name holds a path; send the file's own name only")
    with tempfile.TemporaryDirectory(prefix="upload-") as folder:
        received = Path(folder) / "received"
        await asyncio.to_thread(_copy, part, received, limits.photo if photos_only else limits.largest)
        return await _kept(request, case_id, Path(folder), who, "file: only photos here" if photos_only else None)


async def _kept(request: Request, case_id: str, folder: Path, who: str, not_a_photo: str | None = None) -> UploadRow:
    """The file received into `folder` judged, kept and recorded as an upload of the case;
    ApiProblem naming why not (`not_a_photo`: the refusal of any other kind, where only photos go)."""
    try:
        judged = await asyncio.to_thread(judge, folder / "received", bounds_of(request))
    except Refused as err:
        raise ApiProblem(err.status, str(err)) from None
    if not_a_photo is not None and judged.kind != Kind.photo:
        raise ApiProblem(415, not_a_photo)
    row = await asyncio.to_thread(_keep, blobs(request), judged, folder, case_id, who)
    await asyncio.to_thread(record_upload, gateway(request).read_model.engine, row)
    log.info("evidence uploaded", identity=who, case_id=case_id, digest=row.digest, kind=row.kind)
    return row


def _copy(part: UploadFile, to: Path, limit: int) -> None:
    """The upload onto disk, a chunk at a time: never whole in memory."""
    copied = 0
    with to.open("wb") as out:
        while chunk := part.file.read(1 << 20):
            copied += len(chunk)
            if copied > limit:
                raise ApiProblem(413, f"file: over {limit // (1 << 20)} MiB")
            out.write(chunk)


def _keep(store: Blobs, judged: Judged, folder: Path, case_id: str, who: str) -> UploadRow:
    kept = folder / "received"  # a document or a recording: kept as it came
    if judged.data is not None:  # a photo: as the engine re-made it
        kept = folder / "kept"
        kept.write_bytes(judged.data)
    digest = store.put(kept)
    thumbnail = None
    if judged.thumbnail is not None:
        small = folder / "thumbnail"
        small.write_bytes(judged.thumbnail)
        thumbnail = store.put(small)
    return UploadRow(
        case_id=case_id,
        digest=digest,
        kind=judged.kind.value,
        media_type=judged.media_type,
        size=judged.size,
        thumbnail=thumbnail,
        width=judged.width,
        height=judged.height,
        duration_seconds=judged.duration_seconds,
        uploaded_by=who,
        at=datetime.now(timezone.utc),
    )


def _facts(row: UploadRow) -> dict[str, Any]:
    return {
        "id": row.digest,
        "kind": row.kind,
        "media_type": row.media_type,
        "size": row.size,
        "width": row.width,
        "height": row.height,
        "duration_seconds": row.duration_seconds,
        "thumbnail": row.thumbnail,
    }


@router.post(
    "/cases/with-evidence",
    status_code=201,
    summary="File a complaint and its photos, documents or recordings in one multipart request",
    responses=KEPT | responses(401, 403, 409, 413, 415, 422, 429, 503),
    openapi_extra=multipart(
        ["filing"],
        filing={"type": "string", "description": "the filing as JSON (POST /v1/cases's body)"},
        file={"type": "array", "items": {"type": "string", "format": "binary"}},
        purpose={"type": "array", "items": {"type": "string"}},
    ),
)
async def file_with_evidence(request: Request, identity: Identity = Depends(role_in(*FILERS))) -> JSONResponse:
    """The case is filed first, whatever becomes of its files: a complaint is never lost for a
    photo. Each file is then kept and attached (its `purpose`, in order; `problem` by default);
    one refused is named in `refused` and the others go on."""
    g, limits = gateway(request), bounds_of(request)
    try:
        form = await request.form(
            max_files=limits.per_case, max_fields=limits.per_case + 2, max_part_size=limits.largest + 1
        )
    except ClientDisconnect:
        raise ApiProblem(413, f"file: cut off, or over {limits.largest // (1 << 20)} MiB") from None
    except Exception as err:
        raise ApiProblem(422, f"filing: a multipart/form-data body with a filing part and file parts ({err})") from None
    try:
        body = CaseFiling.model_validate_json(str(form.get("filing") or ""))
    except ValidationError as err:
        raise InvalidInput.of(err, "filing.") from None
    files = [p for p in form.getlist("file") if isinstance(p, UploadFile)]
    purposes = [str(p) for p in form.getlist("purpose")]
    case_id = f"c{datetime.now(timezone.utc):%Y%m%d}-{secrets.token_hex(5)}"
    await file_case_as(g, case_id, body, identity)
    refused: list[dict[str, str]] = []
    for n, part in enumerate(files):
        purpose = purposes[n] if n < len(purposes) else "problem"
        try:
            row = await keep_upload(request, case_id, part, identity.id)
            attach = {
                "attachment": row.digest,
                "kind": row.kind,
                "purpose": purpose,
                "actor": identity.actor.model_dump(mode="json"),
            }
            await _engine(act(g.client, case_id, "attach", attach, uploads=g.read_model.engine))
        except (ApiProblem, Rejected, InvalidInput) as err:
            refused.append({"file": part.filename or f"file {n + 1}", "why": str(getattr(err, "detail", None) or err)})
    current = await _engine(state(g.client, case_id))
    return JSONResponse(
        state_as_seen(current, identity) | {"refused": refused},
        status_code=201,
        headers={"Location": f"/v1/cases/{case_id}", "ETag": f'"{current.version}"'},
    )


def addresses(request: Request, case_id: str, a: Attachment, identity: Identity) -> dict[str, str | None]:
    """The attachment's signed addresses for this identity (10 minutes)."""
    keyring = gateway(request).links.keyring
    url = f"/v1/evidence/{grant(keyring, case_id, a.id, identity.id)}"
    thumb = f"/v1/evidence/{grant(keyring, case_id, a.thumbnail, identity.id)}" if a.thumbnail else None
    return {"url": url, "thumbnail_url": thumb}


@router.get(
    "/cases/{case_id}/attachments",
    summary="The case's attachments; signed addresses for those who see its personal data in clear",
    responses=responses(401, 404, 422, 429, 503),
)
async def attachments(case_id: CaseId, request: Request, identity: Identity = Depends(caller)) -> JSONResponse:
    g = gateway(request)
    case = must_see(await _engine(state(g.client, case_id)), identity)
    clear = sees_personal_data(identity, case)
    listed = []
    for a in case.attachments:
        item: dict[str, Any] = a.model_dump(mode="json", exclude={"seq"}) | {"event": a.seq}
        item |= addresses(request, case_id, a, identity) if clear else {"url": None, "thumbnail_url": None}
        listed.append(item)
    return JSONResponse({"case_id": case_id, "attachments": listed})


@router.get(
    "/evidence/{token}",
    summary="One attachment, by an address the list signed (10 minutes); no key needed",
    response_class=StreamingResponse,
    responses=SERVED | responses(403, 404, 422, 429),
)
async def evidence(token: str, request: Request) -> Response:
    g = gateway(request)
    found = opened(g.links.keyring, token)
    if found is None:
        raise ApiProblem(
            403, "this address is not one the engine signed, or it has expired: list the attachments again"
        )
    store = blobs(request)
    media_type, name = "image/jpeg", found.digest[:16]
    for row in await asyncio.to_thread(uploads_of, g.read_model.engine, found.case_id):
        if row.digest == found.digest:
            media_type = row.media_type
        elif row.thumbnail == found.digest:
            name += "-thumbnail"
    try:
        chunks: Iterator[bytes] = await asyncio.to_thread(read_blob, store, found.digest)
    except BlobMissing:
        raise ApiProblem(404, "the file is no longer in the evidence store") from None
    log.info("evidence served", identity=found.identity, case_id=found.case_id, digest=found.digest)
    headers = {
        "Content-Disposition": f'inline; filename="{name}.{SUFFIX.get(media_type, "bin")}"',
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
    return StreamingResponse(chunks, media_type=media_type, headers=headers)


def read_blob(store: Blobs, digest: str) -> Iterator[bytes]:
    """The blob's chunks, its first one read already (so a missing blob is a 404, not a cut answer)."""
    chunks = store.open(digest)
    first = next(chunks, b"")

    def all_of() -> Iterator[bytes]:
        yield first
        yield from chunks

    return all_of()


# ---- Open311's media_url: fetched once by the engine ---------------------------------------------

FETCH_TIMEOUT = 10.0  # seconds for the whole fetch: a slow host gets nothing more


def public_host(url: str, allowed: frozenset[str]) -> str | None:
    """Why the engine will not fetch this address, or None: http(s) only, no credentials, and a
    host that resolves to public addresses only (no loopback, private, link-local or reserved
    range: the engine is not a way into the city's own network), unless the operator allows it
    (COMPLAINTS_WEBHOOK_ALLOW_HTTP_HOSTS, as for webhooks)."""
    import ipaddress
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        return "media_url: expected http(s)://host/path"
    if parts.username or parts.password:
        return "media_url: no user or password in the address"
    if host in allowed:
        return None
    try:
        found = {str(info[4][0]) for info in socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)}
    except (OSError, UnicodeError):
        return f"media_url: {host} does not resolve"
    if not found or not all(ipaddress.ip_address(a.split("%")[0]).is_global for a in found):
        return f"media_url: {host} is not a public address"
    return None


async def fetch_media(request: Request, case_id: str, url: str, actor: Any) -> str | None:
    """The photo at an Open311 request's media_url, fetched once (no redirects, a public host, the
    photo bound, FETCH_TIMEOUT), kept and attached as the problem's photo; its digest, or None
    (logged why: a complaint never fails for its photo)."""
    import httpx

    g, limits = gateway(request), bounds_of(request)
    why = await asyncio.to_thread(public_host, url, g.config.webhook_allow_http_hosts)
    if why:
        log.warning("media_url not fetched", case_id=case_id, reason=why)
        return None
    try:
        with tempfile.TemporaryDirectory(prefix="media-") as folder:
            received, size = Path(folder) / "received", 0
            async with asyncio.timeout(FETCH_TIMEOUT), httpx.AsyncClient(follow_redirects=False) as http:
                async with http.stream("GET", url) as answer:
                    if answer.status_code != 200:
                        raise ApiProblem(422, f"media_url: answered {answer.status_code}")
                    with received.open("wb") as out:
                        async for chunk in answer.aiter_bytes(1 << 16):
                            size += len(chunk)
                            if size > limits.photo:
                                raise ApiProblem(413, f"media_url: over {limits.photo >> 20} MiB")
                            out.write(chunk)
            row = await _kept(request, case_id, Path(folder), actor.id, "media_url: not a photo")
        body = {"attachment": row.digest, "kind": "photo", "purpose": "problem", "actor": actor.model_dump(mode="json")}
        await _engine(act(g.client, case_id, "attach", body, uploads=g.read_model.engine))
    except (ApiProblem, httpx.HTTPError, TimeoutError, Rejected, InvalidInput) as err:
        log.warning("media_url not kept", case_id=case_id, reason=str(getattr(err, "detail", None) or err))
        return None
    log.info("media_url kept", case_id=case_id, digest=row.digest)
    return row.digest


_running: set[asyncio.Task[Any]] = set()  # held, so the loop does not drop a fetch half-way


def keep_in_background(request: Request, work: Any) -> None:
    """Work that must not hold the answer up (a media_url fetch): run on, held until it ends."""
    task = asyncio.get_running_loop().create_task(work)
    _running.add(task)
    task.add_done_callback(_running.discard)
