"""The complainant's own page of their case, at the link in their SMS: /s/{token}.

Who is the actor here is never sent by anyone: it is the complainant of the case the verified
link opens (models.complainant_of). The link is the only URL that carries the token; forms post
back to it. A changed, expired or unknown token gets the same 404 page. No script: the page reads
and submits without one, and its CSP says so.
"""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import UploadFile
from temporalio.service import RPCError

from gateway.auth import gateway
from gateway.complainant.text import Words
from gateway.complainant.view import CasePage, case_page
from gateway.console.text import choose
from gateway.problems import ApiProblem
from models import complainant_of
from models.sentences import moment
from readmodel.evidence_links import grant
from readmodel.links import COMPLAINANT
from runtime import logs
from starter import InvalidInput, Rejected, UnknownCase, act

log = logs.get("complainant")
HERE = Path(__file__).parent
router = APIRouter(prefix="/s", include_in_schema=False)
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.filters["local"] = moment
CSRF_COOKIE = "s_csrf"
ENGINE_TIMEOUT = 15.0
MAX_TEXT = 500
SATISFACTION = ("satisfied", "basically_satisfied", "dissatisfied")
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; "
        "base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",  # the link never travels on to another site
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex, nofollow",
}


def _words(request: Request) -> Words:
    return Words(choose(request.query_params.get("lang"), None, request.headers.get("accept-language")))


def _render(request: Request, name: str, words: Words, status: int = 200, **context: Any) -> HTMLResponse:
    lang = words.lang
    context |= {"t": words, "lang": lang, "other": "en" if lang == "zh" else "zh"}
    response = templates.TemplateResponse(request, name, context, status_code=status, headers=HEADERS)
    return response


def _gone(request: Request, words: Words) -> HTMLResponse:
    """The one answer for every link that opens nothing: no hint of why."""
    return _render(request, "gone.html", words, 404)


def _admit(request: Request) -> None:
    gateway(request).limiter.admit(f"link:{request.client.host if request.client else '-'}")


async def _opened(request: Request, token: str) -> tuple[str, CasePage] | None:
    g = gateway(request)
    case_id = await asyncio.to_thread(g.read_model.open_link, token, g.links, COMPLAINANT)
    if case_id is None:
        return None
    page = await asyncio.to_thread(case_page, g.read_model, case_id)
    return (case_id, page) if page is not None else None


def _page(
    request: Request,
    words: Words,
    page: CasePage,
    status: int = 200,
    *,
    errors: list[str] | None = None,
    form: dict[str, str] | None = None,
    notice: str | None = None,
) -> HTMLResponse:
    csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    query = f"?lang={words.lang}" if request.query_params.get("lang") else ""
    keyring, who = gateway(request).links.keyring, complainant_of(page.case_id).id
    photos = [
        (
            f"/v1/evidence/{grant(keyring, page.case_id, d, who)}",
            f"/v1/evidence/{grant(keyring, page.case_id, th, who)}" if th else None,
            purpose,
        )
        for d, th, purpose in page.photos
    ]
    response = _render(
        request,
        "case.html",
        words,
        status,
        page=page,
        photos=photos,
        csrf=csrf,
        nonce=secrets.token_urlsafe(12),
        errors=errors or [],
        form=form or {},
        notice=notice,
        action=query,  # forms post back to the link itself
    )
    secure = request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"
    response.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="strict", secure=secure, path="/s/")
    return response


@router.get("/{token}")
async def read(request: Request, token: str) -> Response:
    _admit(request)
    words = _words(request)
    opened = await _opened(request, token)
    if opened is None:
        return _gone(request, words)
    done = request.query_params.get("done")
    return _page(request, words, opened[1], notice=f"done_{done}" if done in ("note", "verdict", "photo") else None)


def _text(form: Any, name: str) -> str:
    return str(form.get(name) or "").strip()


def _payload(form: Any, words: Words) -> tuple[str, dict[str, Any], list[str]]:
    """The update a form asks for, its payload, and what is wrong with it (named per field)."""
    if form.get("do") == "note":
        note = _text(form, "note")
        problems = [f"note: {words('required')}"] if not note else []
        problems += [f"note: {words('too_long')}"] if len(note) > MAX_TEXT else []
        return "add_note", {"note": note}, problems
    resolved, satisfaction, comment = _text(form, "resolved"), _text(form, "satisfaction"), _text(form, "comment")
    problems = [f"resolved: {words('required')}"] if resolved not in ("yes", "no") else []
    problems += [f"satisfaction: {words('required')}"] if satisfaction not in SATISFACTION else []
    problems += [f"comment: {words('too_long')}"] if len(comment) > MAX_TEXT else []
    payload = {"satisfaction": satisfaction, "resolved": resolved == "yes", "note": comment or None}
    return "record_follow_up", payload, problems


@router.post("/{token}")
async def act_on(request: Request, token: str) -> Response:
    _admit(request)
    words = _words(request)
    opened = await _opened(request, token)
    if opened is None:
        return _gone(request, words)
    case_id, page = opened
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        return await _photo(request, token, words, case_id, page)
    form = await request.form()
    sent = {k: str(v)[: MAX_TEXT * 2] for k, v in form.items() if isinstance(v, str)}
    csrf = str(form.get("csrf") or "")
    if not csrf or not secrets.compare_digest(csrf, request.cookies.get(CSRF_COOKIE) or ""):
        return _page(request, words, page, 400, errors=[words("form_expired")], form=sent)
    update, payload, problems = _payload(form, words)
    if problems:
        return _page(request, words, page, 422, errors=problems, form=sent)
    nonce = _text(form, "nonce")[:40]
    try:
        async with asyncio.timeout(ENGINE_TIMEOUT):
            # The actor is the complainant of the case this link opens: nothing sent can change it.
            # The form's nonce is the update id: a page sent twice acts once.
            await act(
                gateway(request).client,
                case_id,
                update,
                payload | {"actor": complainant_of(case_id)},
                update_id=f"s:{update}:{nonce}" if nonce else None,
            )
    except (Rejected, InvalidInput) as err:
        log.info("complainant's form refused", case_id=case_id, update=update, reason=str(err))
        fresh = await asyncio.to_thread(case_page, gateway(request).read_model, case_id) or page
        return _page(request, words, fresh, 409, errors=[words("refused")])
    except (UnknownCase, RPCError, TimeoutError, RuntimeError) as err:
        log.warning("complainant's page: the engine does not answer", case_id=case_id, error=str(err))
        return _render(request, "unavailable.html", words, 503)
    log.info("complainant acted", case_id=case_id, update=update)
    query = {"done": "note" if update == "add_note" else "verdict"}
    if request.query_params.get("lang"):
        query["lang"] = words.lang
    return RedirectResponse(f"/s/{token}?{urlencode(query)}", status_code=303)


async def _photo(request: Request, token: str, words: Words, case_id: str, page: CasePage) -> Response:
    """A photo from the complainant's phone (issue 38): kept as the engine re-made it, and
    attached as theirs, of the problem. No script: a plain file input, the camera on a phone."""
    from gateway.evidence import bounds_of, keep_upload

    g = gateway(request)
    limits = bounds_of(request)
    try:
        form = await request.form(max_files=1, max_fields=3, max_part_size=limits.photo + 1)
    except Exception:  # cut off, or a part over the bound
        return _page(request, words, page, 413, errors=[words("photo_too_large")])
    csrf = str(form.get("csrf") or "")
    if not csrf or not secrets.compare_digest(csrf, request.cookies.get(CSRF_COOKIE) or ""):
        return _page(request, words, page, 400, errors=[words("form_expired")])
    part = form.get("file")
    if not isinstance(part, UploadFile):
        return _page(request, words, page, 422, errors=[f"file: {words('required')}"])
    try:
        row = await keep_upload(request, case_id, part, complainant_of(case_id).id, photos_only=True)
        async with asyncio.timeout(ENGINE_TIMEOUT):
            body = {"attachment": row.digest, "kind": "photo", "purpose": "problem"}
            await act(
                g.client, case_id, "attach", body | {"actor": complainant_of(case_id)}, uploads=g.read_model.engine
            )
    except ApiProblem as err:
        return _page(request, words, page, err.status, errors=[words("photo_refused")])
    except (Rejected, InvalidInput) as err:
        log.info("complainant's photo refused", case_id=case_id, reason=str(err))
        return _page(request, words, page, 409, errors=[words("refused")])
    except (UnknownCase, RPCError, TimeoutError, RuntimeError) as err:
        log.warning("complainant's page: the engine does not answer", case_id=case_id, error=str(err))
        return _render(request, "unavailable.html", words, 503)
    log.info("complainant attached a photo", case_id=case_id, digest=row.digest)
    query = {"done": "photo"} | ({"lang": words.lang} if request.query_params.get("lang") else {})
    return RedirectResponse(f"/s/{token}?{urlencode(query)}", status_code=303)
