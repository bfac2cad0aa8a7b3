"""The case page: its deadlines as bars, the timeline, the complainant as this viewer may see
them; and a supervisor's actions, through the engine's own updates and their rules."""

from __future__ import annotations

import asyncio
import secrets
from datetime import datetime, timezone
from typing import Any

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response
from temporalio.service import RPCError

from gateway.auth import gateway
from gateway.console import charts
from gateway.console.session import FLASH_COOKIE, same_token
from gateway.console.text import Words
from gateway.console.viewer import Viewer, sessions, viewer
from gateway.console.web import not_found, render, router, secure
from gateway.evidence import addresses
from gateway.views import case_answer, sees_personal_data, state_as_seen
from models import CaseState
from runtime import logs
from starter import InvalidInput, Rejected, UnknownCase, act, complaint_of, state

log = logs.get("console")
ENGINE_TIMEOUT = 15.0
# What a supervisor may do from the case page: the update, and the form fields it takes.
ACTIONS = ("escalate", "assign_leader", "decide_extension", "decide_suspension", "send_link", "reassess_risk")
links_log = logs.get("links")  # who had a complainant's link sent: kept with the identity, never the link


def _bars(case: CaseState, now: datetime, words: Words) -> Any:
    bars = []
    for m in case.milestones:
        start = m.anchor_at or case.received_at
        if m.done_at is not None:
            end = m.done_at
        elif m.open:
            end = now
        else:  # settled when the case ended, or moved away by a transfer
            end = case.closed_at or m.breached_at or m.due_at
        bars.append(
            charts.Bar(words.milestone(m.name), start, m.due_at, max(end, start), m.outcome, words.spoken(m.duration))
        )
    labels = {k: words(k) for k in ("due_at", "breached", "taken_of")} | {"axis": words("chart_deadlines")}
    return charts.deadlines(bars, labels=labels, span=words.span)


async def _case_page(
    request: Request,
    v: Viewer,
    case_id: str,
    *,
    status: int = 200,
    message: str | None = None,
    error: str | None = None,
) -> Response:
    g = gateway(request)
    try:
        async with asyncio.timeout(ENGINE_TIMEOUT):
            case, complaint = await asyncio.gather(state(g.client, case_id), complaint_of(g.client, case_id))
    except (UnknownCase, InvalidInput):
        return not_found(request, v.words)
    except (RPCError, TimeoutError, RuntimeError) as err:
        log.warning("console: the engine does not answer", case_id=case_id, error=str(err))
        return render(request, "error.html", v.words, 503, title="unavailable", text="unavailable_text", viewer=v)
    if not v.seen.admits(case.where()):  # outside the viewer's scope: as an unknown case
        return not_found(request, v.words)
    now = datetime.now(timezone.utc)
    return render(
        request,
        "case.html",
        v.words,
        status,
        viewer=v,
        now=now,
        case=case,
        complaint=case_answer(case, complaint, v.identity),
        clear=sees_personal_data(v.identity, case),
        dispute=state_as_seen(case, v.identity)["dispute"],
        # Evidence's signed addresses (10 minutes), only for eyes that see the case in clear.
        evidence={a.id: addresses(request, case.case_id, a, v.identity) for a in case.attachments}
        if sees_personal_data(v.identity, case)
        else {},
        bars=_bars(case, now, v.words),
        message=message,
        error=error,
        nonce=secrets.token_urlsafe(16),
    )


@router.get("/cases/{case_id}")
async def case_page(request: Request, case_id: str, v: Viewer = Depends(viewer)) -> Response:
    flash = sessions(request).unseal(request.cookies.get(FLASH_COOKIE)) or {}
    if flash.get("case") != case_id or flash.get("who") != v.identity.id:
        flash = {}
    response = await _case_page(
        request,
        v,
        case_id,
        message="done" if flash.get("done") in ACTIONS else None,
        error=str(flash["error"]) if flash.get("error") else None,
    )
    if request.cookies.get(FLASH_COOKIE):
        response.delete_cookie(FLASH_COOKIE, path="/console")
    return response


def _payload(action: str, form: Any) -> dict[str, Any]:
    def text(name: str) -> str | None:
        value = str(form.get(name) or "").strip()
        return value or None

    if action == "escalate":
        return {"reason": text("reason")}
    if action == "assign_leader":
        return {"leader": {"id": text("leader_id"), "name": text("leader_name")}}
    if action == "send_link":
        return {}
    if action == "reassess_risk":
        level = text("level")
        return {"level": None if level == "none" else level, "reason": text("reason")}
    decision = form.get("approve")
    return {"approve": decision == "yes", "note": text("note")} if decision in ("yes", "no") else {"note": text("note")}


def _back(request: Request, v: Viewer, case_id: str, **flash: str) -> Response:
    """Post, redirect, get: back to the case page, which shows once what became of the form (so
    a reload never sends it again, and a refusal is a page like any other)."""
    response = RedirectResponse(f"/console/cases/{case_id}", status_code=303)
    sealed = sessions(request).seal({"case": case_id, "who": v.identity.id, **flash})
    response.set_cookie(
        FLASH_COOKIE, sealed, max_age=60, httponly=True, samesite="strict", secure=secure(request), path="/console"
    )
    return response


@router.post("/cases/{case_id}/{action}")
async def case_action(request: Request, case_id: str, action: str, v: Viewer = Depends(viewer)) -> Response:
    if action not in ACTIONS:
        return not_found(request, v.words)
    form = await request.form()
    if not same_token(str(form.get("csrf") or ""), v.session.csrf):
        return _back(request, v, case_id, error=v.words("csrf_failed"))
    nonce = str(form.get("nonce") or "")[:64]
    payload = _payload(action, form) | {"actor": v.identity.actor}
    g = gateway(request)
    try:
        async with asyncio.timeout(ENGINE_TIMEOUT):
            # The form's nonce is the update id: a double click or a resent form acts once.
            await act(
                g.client, case_id, action, payload, update_id=f"console:{v.identity.id}:{nonce}" if nonce else None
            )
    except InvalidInput as err:
        return _back(request, v, case_id, error="; ".join(f"{f}: {m}" for f, m in err.errors) or str(err))
    except Rejected as err:
        log.info("console action refused", identity=v.identity.id, case_id=case_id, action=action, reason=str(err))
        return _back(request, v, case_id, error=str(err))
    except UnknownCase:
        return not_found(request, v.words)
    except (RPCError, TimeoutError) as err:
        log.warning("console: the engine does not answer", case_id=case_id, error=str(err))
        return render(request, "error.html", v.words, 503, title="unavailable", text="unavailable_text", viewer=v)
    log.info("console action", identity=v.identity.id, case_id=case_id, action=action)
    if action == "send_link":
        links_log.info("complainant link sent", identity=v.identity.id, role=v.identity.role.value, case_id=case_id)
    return _back(request, v, case_id, done=action)
