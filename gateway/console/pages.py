"""The console's pages: thin handlers that read the read model (or the case from Temporal), and
render a template; a supervisor's action goes through the engine's own update and its rules.

Who may see a page: an identity with a console password and role supervisor or auditor. Without
a session, the login page; with one of any other role, "not found", never a page.
"""

from __future__ import annotations

import asyncio
import csv
import io
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData
from temporalio.service import RPCError

from gateway.auth import gateway
from gateway.console import charts
from gateway.console.session import COOKIE, FLASH_COOKIE, LOGIN_COOKIE, Session, Sessions, same_token
from gateway.console.text import Words, choose
from gateway.views import case_answer, sees_personal_data
from models import CaseState, Role
from readmodel import board
from readmodel.hotspots import find_hotspots
from runtime import logs
from sla import BUSINESS_TZ
from starter import InvalidInput, Rejected, UnknownCase, act, complaint_of, state
from starter.identities import Identity

log = logs.get("console")
HERE = Path(__file__).parent
CONSOLE_ROLES = (Role.supervisor, Role.auditor)
ENGINE_TIMEOUT = 15.0
# What a supervisor may do from the case page: the update, and the form fields it takes.
ACTIONS = ("escalate", "assign_leader", "decide_extension", "decide_suspension")

router = APIRouter(prefix="/console", include_in_schema=False)
templates = Jinja2Templates(directory=str(HERE / "templates"))


def local(value: Any) -> Any:
    """A moment as Beijing time reads it (2026-11-25 14:05); anything else as it is."""
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        return value.astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M")
    return value


def plain(value: Any) -> str:
    """An event's detail as a person reads it: moments in Beijing time, mappings and lists flat."""
    if isinstance(value, dict):
        return "，".join(f"{k}: {plain(v)}" for k, v in value.items() if v is not None)
    if isinstance(value, list):
        return "；".join(plain(v) for v in value)
    return str(local(value))


templates.env.filters["local"] = local
templates.env.filters["plain"] = plain


@dataclass
class Viewer:
    identity: Identity
    session: Session
    words: Words

    @property
    def may_act(self) -> bool:
        return self.identity.role == Role.supervisor


def sessions(request: Request) -> Sessions:
    return request.app.state.console_sessions  # type: ignore[no-any-return]


def words_for(request: Request) -> Words:
    return Words(
        choose(
            request.query_params.get("lang"),
            request.cookies.get("console_lang"),
            request.headers.get("accept-language"),
        )
    )


def render(request: Request, name: str, words: Words, status: int = 200, **context: Any) -> HTMLResponse:
    context |= {"t": words, "lang": words.lang, "path": request.url.path, "query": dict(request.query_params)}
    response = templates.TemplateResponse(request, name, context, status_code=status)
    if request.query_params.get("lang") in ("zh", "en"):  # remember the choice
        response.set_cookie("console_lang", words.lang, max_age=365 * 86400, samesite="strict", path="/console")
    response.headers["Cache-Control"] = "no-store"  # pages carry personal data and live numbers
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def not_found(request: Request, words: Words | None = None) -> HTMLResponse:
    return render(request, "error.html", words or words_for(request), 404, title="not_found", text="not_found_text")


def viewer(request: Request) -> Viewer | Response:
    """Who is looking: a Viewer, or the answer to give instead (the login page, or not found)."""
    words = words_for(request)
    session = sessions(request).read(request.cookies.get(COOKIE))
    if session is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/console/login?{urlencode({'next': target})}", status_code=303)
    identity = gateway(request).identities.identities().get(session.identity)
    if identity is None or not identity.active or identity.role not in CONSOLE_ROLES or identity.password is None:
        return not_found(request, words)
    return Viewer(identity, session, words)


def _secure(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


# ---- login -----------------------------------------------------------------------------------


class LoginGuard:
    """After 5 failed logins for an identity or from an address in 15 minutes, refuse for the rest."""

    LIMIT, WINDOW = 5, 15 * 60

    def __init__(self) -> None:
        self._failures: dict[str, list[float]] = {}

    def blocked(self, *keys: str) -> bool:
        now = time.monotonic()
        return any(len([t for t in self._failures.get(k, []) if now - t < self.WINDOW]) >= self.LIMIT for k in keys)

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        for k in keys:
            self._failures[k] = [t for t in self._failures.get(k, []) if now - t < self.WINDOW] + [now]

    def succeeded(self, identity: str) -> None:
        self._failures.pop(f"id:{identity}", None)


def _login_page(request: Request, words: Words, status: int = 200, error: str | None = None) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    nxt = request.query_params.get("next") or ""
    response = render(request, "login.html", words, status, csrf=token, error=error, next=nxt)
    response.set_cookie(
        LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=_secure(request), path="/console/login"
    )
    return response


@router.get("/login")
async def login_form(request: Request) -> Response:
    return _login_page(request, words_for(request))


@router.post("/login")
async def login(request: Request) -> Response:
    words = words_for(request)
    form = await request.form()
    if not same_token(str(form.get("csrf") or ""), request.cookies.get(LOGIN_COOKIE)):
        return _login_page(request, words, 400, "csrf_failed")
    who, password = str(form.get("identity") or "")[:100], str(form.get("password") or "")[:1000]
    address = request.client.host if request.client else "-"
    guard: LoginGuard = request.app.state.console_logins
    if guard.blocked(f"id:{who}", f"ip:{address}"):
        return _login_page(request, words, 429, "login_throttled")
    g = gateway(request)
    identity = await asyncio.to_thread(g.identities.by_password, who, password) if who and password else None
    if identity is None or identity.role not in CONSOLE_ROLES:
        guard.failed(f"id:{who}", f"ip:{address}")
        log.info("console login refused", identity=who, address=address)
        return _login_page(request, words, 401, "login_failed")
    guard.succeeded(who)
    cookie, _ = sessions(request).issue(identity.id)
    nxt = str(form.get("next") or "")
    target = nxt if nxt.startswith("/console/") and not nxt.startswith("/console/login") else "/console/"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE, cookie, httponly=True, samesite="strict", secure=_secure(request), path="/", max_age=8 * 3600
    )
    response.delete_cookie(LOGIN_COOKIE, path="/console/login")
    log.info("console login", identity=identity.id, role=identity.role.value)
    return response


async def posted(request: Request) -> tuple[Viewer, FormData] | Response:
    """Who sent a form, and the form, if its CSRF token is the session's; else the answer to give."""
    v = viewer(request)
    if isinstance(v, Response):
        return v
    form = await request.form()
    if not same_token(str(form.get("csrf") or ""), v.session.csrf):
        return render(request, "error.html", v.words, 400, title="csrf_failed", text="csrf_failed", viewer=v)
    return v, form


@router.post("/logout")
async def logout(request: Request) -> Response:
    sent = await posted(request)
    if isinstance(sent, Response):
        return sent
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


# ---- the period and other inputs -------------------------------------------------------------


class BadInput(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def _day(request: Request, name: str) -> date | None:
    value = request.query_params.get(name)
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadInput(name, f"{value[:40]!r} is not a date such as 2026-11-01") from None


def _int(request: Request, name: str, default: int, low: int, high: int) -> int:
    value = request.query_params.get(name)
    if not value:
        return default
    if not value.isdigit() or not low <= int(value) <= high:
        raise BadInput(name, f"{value[:40]!r} is not a whole number from {low} to {high}")
    return int(value)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=BUSINESS_TZ)


def period(request: Request, now: datetime) -> tuple[datetime, datetime, date, date]:
    """since .. until (whole days in Asia/Shanghai, until included); the last 30 days by default."""
    today = now.astimezone(BUSINESS_TZ).date()
    until = _day(request, "until") or today
    since = _day(request, "since") or until - timedelta(days=29)
    if since > until:
        raise BadInput("since", "must not be after until")
    if (until - since).days > 3 * 366:
        raise BadInput("since", "a period of at most three years")
    return _midnight(since), min(_midnight(until + timedelta(days=1)), now + timedelta(seconds=1)), since, until


def csv_answer(name: str, words: Words, columns: list[str], rows: list[dict[str, Any]]) -> Response:
    """A table as CSV: headings in the page's language, UTF-8 with a BOM (so Excel reads Chinese)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([words(c) for c in columns])
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return Response(
        "\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}-{date.today().isoformat()}.csv"'},
    )


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "1" if value else "0"
    return "" if value is None else value


async def page(
    request: Request, build: Callable[[Viewer, datetime], Any], template: str, *, csv_name: str | None = None
) -> Response:
    """The common path of a read-only page: who, the inputs, the numbers (off the event loop), the page."""
    v = viewer(request)
    if isinstance(v, Response):
        return v
    now = datetime.now(timezone.utc)
    try:
        context = await asyncio.to_thread(build, v, now)
    except BadInput as err:
        return render(request, "error.html", v.words, 422, title="show", text=str(err), viewer=v, raw=True)
    if csv_name and request.query_params.get("format") == "csv":
        return csv_answer(csv_name, v.words, context["columns"], context["csv_rows"])
    return render(request, template, v.words, viewer=v, now=now, **context)


# ---- the pages -------------------------------------------------------------------------------


@router.get("/")
async def overview(request: Request) -> Response:
    def build(v: Viewer, now: datetime) -> dict[str, Any]:
        since, until, first, last = period(request, now)
        o = board.overview(gateway(request).read_model, since=since, until=until, now=now)
        return {"o": o, "since": first, "until": last}

    return await page(request, build, "overview.html")


BOARD_COLUMNS = [
    "case_id",
    "title",
    "category",
    "street",
    "department",
    "status",
    "milestone",
    "due_at",
    "hours_late",
    "overdue_milestones",
    "escalated",
    "leader",
]


@router.get("/overdue")
async def overdue(request: Request) -> Response:
    def build(v: Viewer, now: datetime) -> dict[str, Any]:
        q = request.query_params
        filters = board.Filters(
            department=q.get("department") or None, street=q.get("street") or None, category=q.get("category") or None
        )
        csv_wanted = q.get("format") == "csv"
        size = 100_000 if csv_wanted else _int(request, "page_size", 50, 1, 500)
        found = board.overdue_board(
            gateway(request).read_model, filters, page=_int(request, "page", 1, 1, 100_000), page_size=size, now=now
        )
        return {
            "board": found,
            "filters": filters,
            "columns": BOARD_COLUMNS,
            "csv_rows": [r.as_row() for r in found.rows],
        }

    return await page(request, build, "overdue.html", csv_name="overdue")


LEAGUE_COLUMNS = [
    "department",
    "accepted",
    "resolved",
    "resolution_rate",
    "met",
    "late",
    "open_overdue",
    "on_time_rate",
    "visited",
    "satisfaction_rate",
    "escalated",
    "overdue_now",
]


def _league_row(t: board.Tally) -> dict[str, Any]:
    return t.as_row() | {"department": t.name, "overdue_now": t.overdue}


@router.get("/departments")
async def departments(request: Request) -> Response:
    def build(v: Viewer, now: datetime) -> dict[str, Any]:
        since, until, first, last = period(request, now)
        minimum = _int(request, "min_cases", board.MIN_CASES, 0, 100_000)
        ranked, apart = board.league(gateway(request).read_model, since=since, until=until, now=now, min_cases=minimum)
        return {
            "ranked": ranked,
            "apart": apart,
            "min_cases": minimum,
            "since": first,
            "until": last,
            "columns": LEAGUE_COLUMNS,
            "csv_rows": [_league_row(t) for t in ranked + apart],
        }

    return await page(request, build, "departments.html", csv_name="departments")


TREND_COLUMNS = ["weeks", "accepted", "resolved", "resolution_rate", "on_time_rate", "satisfaction_rate"]


@router.get("/trends")
async def trends(request: Request) -> Response:
    def build(v: Viewer, now: datetime) -> dict[str, Any]:
        weeks = board.trends(gateway(request).read_model, weeks=_int(request, "weeks", 12, 2, 104), now=now)
        labels = [w.name for w in weeks]
        t = v.words

        def pct(which: str) -> list[float | None]:
            return [None if (r := w.ratio(which)) is None else round(r * 100, 2) for w in weeks]

        volume = charts.lines(
            labels,
            [
                charts.Series(t("accepted"), [float(w.accepted) for w in weeks]),
                charts.Series(t("resolved"), [float(w.resolved) for w in weeks]),
            ],
            title=t("chart_accepted"),
        )
        rates = charts.lines(
            labels,
            [
                charts.Series(t("on_time_rate"), pct("on_time")),
                charts.Series(t("satisfaction_rate"), pct("satisfaction")),
            ],
            title=t("chart_rates"),
            percent=True,
        )
        return {
            "weeks": weeks,
            "volume": volume,
            "rates": rates,
            "columns": TREND_COLUMNS,
            "csv_rows": [w.as_row() | {"weeks": w.name} for w in weeks],
        }

    return await page(request, build, "trends.html", csv_name="trends")


HOTSPOT_COLUMNS = ["category", "street", "community", "people", "first_at", "last_at", "cases"]


@router.get("/hotspots")
async def hotspots(request: Request) -> Response:
    def build(v: Viewer, now: datetime) -> dict[str, Any]:
        since, until, first, last = period(request, now)
        found = find_hotspots(
            gateway(request).read_model,
            since=since,
            until=until,
            threshold=_int(request, "threshold", 3, 2, 1000),
            window=timedelta(days=_int(request, "window_days", 7, 1, 90)),
        )
        rows = [
            {
                "category": h.category,
                "street": h.street,
                "community": h.community,
                "people": h.people,
                "first_at": h.first_at.isoformat(),
                "last_at": h.last_at.isoformat(),
                "cases": " ".join(h.case_ids),
            }
            for h in found
        ]
        return {"found": found, "since": first, "until": last, "columns": HOTSPOT_COLUMNS, "csv_rows": rows}

    return await page(request, build, "hotspots.html", csv_name="hotspots")


# ---- the case ---------------------------------------------------------------------------------


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
        bars.append(charts.Bar(words.milestone(m.name), start, m.due_at, max(end, start), m.outcome))
    return charts.deadlines(bars, labels={"due_at": words("due_at"), "breached": words("breached")})


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
        bars=_bars(case, now, v.words),
        message=message,
        error=error,
        nonce=secrets.token_urlsafe(16),
    )


@router.get("/cases/{case_id}")
async def case_page(request: Request, case_id: str) -> Response:
    v = viewer(request)
    if isinstance(v, Response):
        return v
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
    decision = form.get("approve")
    return {"approve": decision == "yes", "note": text("note")} if decision in ("yes", "no") else {"note": text("note")}


def _back(request: Request, v: Viewer, case_id: str, **flash: str) -> Response:
    """Post, redirect, get: back to the case page, which shows once what became of the form (so
    a reload never sends it again, and a refusal is a page like any other)."""
    response = RedirectResponse(f"/console/cases/{case_id}", status_code=303)
    sealed = sessions(request).seal({"case": case_id, "who": v.identity.id, **flash})
    response.set_cookie(
        FLASH_COOKIE, sealed, max_age=60, httponly=True, samesite="strict", secure=_secure(request), path="/console"
    )
    return response


@router.post("/cases/{case_id}/{action}")
async def case_action(request: Request, case_id: str, action: str) -> Response:
    v = viewer(request)
    if isinstance(v, Response):
        return v
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
    return _back(request, v, case_id, done=action)
