"""The console's reports: the overview, the overdue board, the department league, the weekly trends
and the hotspots. Thin handlers: the numbers are readmodel's, the page a template's."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response
from temporalio.service import RPCError

from gateway.auth import gateway
from gateway.console import charts
from gateway.console.inputs import BadInput, csv_answer, period, unit, whole_number
from gateway.console.session import same_token
from gateway.console.viewer import Viewer, viewer
from gateway.console.web import not_found, render, router
from models import Role
from models.scope import seen_by, sees_all_of
from models.tree import LEVELS, Level
from readmodel import board
from readmodel.callbacks import callbacks_due
from readmodel.disputes import dispute_board, dispute_figures
from readmodel.hotspots import find_hotspots
from readmodel.similar import similar_alerts
from readmodel.webhooks import Webhooks
from runtime import logs
from sla import WorkingCalendar
from sla.policies import SIMILAR_WINDOW
from starter import InvalidInput, Rejected, jurisdictions

log = logs.get("console")
ENGINE_TIMEOUT = 30.0  # a task filed, dispatched and each member told


async def page(
    request: Request, v: Viewer, build: Callable[[Viewer, datetime], Any], template: str, *, csv_name: str | None = None
) -> Response:
    """The common path of a read-only page: the inputs, the numbers (off the event loop), the page."""
    now = datetime.now(timezone.utc)
    try:
        context = await asyncio.to_thread(build, v, now)
    except BadInput as err:
        return render(request, "error.html", v.words, 422, title="show", text=str(err), viewer=v, raw=True)
    if csv_name and request.query_params.get("format") == "csv":
        return csv_answer(csv_name, v.words, context["columns"], context["csv_rows"])
    return render(request, template, v.words, viewer=v, now=now, **context)


@router.get("/")
async def overview(request: Request, v: Viewer = Depends(viewer)) -> Response:
    def build(v: Viewer, now: datetime) -> dict[str, Any]:
        since, until, first, last = period(request, now)
        read_model = gateway(request).read_model
        o = board.overview(read_model, since=since, until=until, now=now, seen=v.seen)
        city = jurisdictions.tree()
        webhooks = [
            row for row in Webhooks(read_model.engine).overview() if sees_all_of(city, v.seen, seen_by(row[0].identity))
        ]
        red = board.red_cases(read_model, seen=v.seen)
        return {"o": o, "since": first, "until": last, "webhooks": webhooks, "red": red}

    return await page(request, v, build, "overview.html")


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
    "risk",
]


@router.get("/overdue")
async def overdue(request: Request, v: Viewer = Depends(viewer)) -> Response:
    def build(v: Viewer, now: datetime) -> dict[str, Any]:
        q = request.query_params
        filters = board.Filters(
            department=unit(request, v.identity.scope),
            street=q.get("street") or None,
            category=q.get("category") or None,
            seen=v.seen,
        )
        csv_wanted = q.get("format") == "csv"
        size = 100_000 if csv_wanted else whole_number(request, "page_size", 50, 1, 500)
        found = board.overdue_board(
            gateway(request).read_model,
            filters,
            page=whole_number(request, "page", 1, 1, 100_000),
            page_size=size,
            now=now,
        )
        return {
            "board": found,
            "filters": filters,
            "columns": BOARD_COLUMNS,
            "csv_rows": [r.as_row() for r in found.rows],
        }

    return await page(request, v, build, "overdue.html", csv_name="overdue")


CALLBACK_COLUMNS = ["case_id", "title", "category", "street", "department", "resolved_at", "follow_up_due", "phone"]


@router.get("/follow-ups")
async def follow_ups(request: Request, v: Viewer = Depends(viewer)) -> Response:
    """待回访: the hotline centre's callback list."""

    def build(v: Viewer, now: datetime) -> dict[str, Any]:
        q = request.query_params
        filters = board.Filters(
            department=unit(request, v.identity.scope),
            street=q.get("street") or None,
            category=q.get("category") or None,
            seen=v.seen,
        )
        size = 100_000 if q.get("format") == "csv" else whole_number(request, "page_size", 50, 1, 500)
        number = whole_number(request, "page", 1, 1, 100_000)
        g = gateway(request)
        due, total = callbacks_due(
            g.read_model,
            filters,
            calendar=WorkingCalendar.from_file(g.config.calendar_file),
            now=now,
            limit=size,
            offset=(number - 1) * size,
        )
        return {
            "board": board.Page(due, total, number, size),
            "filters": filters,
            "columns": CALLBACK_COLUMNS,
            "csv_rows": [c.as_row() for c in due],
        }

    return await page(request, v, build, "follow_ups.html", csv_name="follow-ups")


@router.get("/disputes")
async def disputes(request: Request, v: Viewer = Depends(viewer)) -> Response:
    """矛盾纠纷: open mediations by their term, agreements awaiting confirmation or fulfilment,
    referrals; and the figures of the period (docs/disputes.md)."""

    def build(v: Viewer, now: datetime) -> dict[str, Any]:
        since, until, first, last = period(request, now)
        read_model = gateway(request).read_model
        return {
            "board": dispute_board(read_model, seen=v.seen),
            "figures": dispute_figures(read_model, since=since, until=until, by="kind", seen=v.seen),
            "since": first,
            "until": last,
        }

    return await page(request, v, build, "disputes.html")


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
    "solution_rate",
    "satisfaction_rate",
    "escalated",
    "overdue_now",
]


def _league_row(t: board.Tally) -> dict[str, Any]:
    return t.as_row() | {"department": t.name, "overdue_now": t.overdue}


@router.get("/departments")
async def departments(request: Request, v: Viewer = Depends(viewer)) -> Response:
    def build(v: Viewer, now: datetime) -> dict[str, Any]:
        since, until, first, last = period(request, now)
        minimum = whole_number(request, "min_cases", board.MIN_CASES, 0, 100_000)
        ranked, apart = board.league(
            gateway(request).read_model, since=since, until=until, now=now, min_cases=minimum, seen=v.seen
        )
        return {
            "ranked": ranked,
            "apart": apart,
            "min_cases": minimum,
            "since": first,
            "until": last,
            "columns": LEAGUE_COLUMNS,
            "csv_rows": [_league_row(t) for t in ranked + apart],
        }

    return await page(request, v, build, "departments.html", csv_name="departments")


PLACE_COLUMNS = ["area", *LEAGUE_COLUMNS[1:]]


@router.get("/places")
async def places(request: Request, v: Viewer = Depends(viewer)) -> Response:
    """辖区排名: the places under the viewer's scope (or a place inside it), one row each, so a
    city supervisor goes down to a district, a street, a community."""
    city = jurisdictions.tree()
    within = request.query_params.get("within") or v.identity.scope
    if within is not None and (within not in city.places or not city.contains(v.identity.scope, within)):
        return not_found(request, v.words)
    level = LEVELS[LEVELS.index(city.places[within].level) + 1] if within else Level.city
    if within is not None and city.places[within].level == Level.grid:
        return not_found(request, v.words)

    def build(v: Viewer, now: datetime) -> dict[str, Any]:
        since, until, first, last = period(request, now)
        counted = board.places_league(
            gateway(request).read_model,
            level=level.value,
            since=since,
            until=until,
            now=now,
            seen=v.seen,
            within=within,
            city=city,
        )
        rows: list[dict[str, Any]] = []
        for child in city.children(within):
            t = counted.pop(child.code, board.Tally(child.code))
            rows.append({"code": child.code, "name": child.name, "deeper": level != Level.grid, "t": t})
        for code, t in sorted(counted.items()):  # not placed this deep, or a place since removed from the tree
            name = v.words("not_placed_deeper") if code == board.NOT_PLACED else code
            rows.append({"code": code, "name": name, "deeper": False, "t": t})
        return {
            "rows": rows,
            "path": city.path(within) if within else [],
            "level": level.value,
            "since": first,
            "until": last,
            "columns": PLACE_COLUMNS,
            "csv_rows": [_league_row(r["t"]) | {"area": r["name"]} for r in rows],
        }

    return await page(request, v, build, "places.html", csv_name="places")


TREND_COLUMNS = [
    "weeks",
    "accepted",
    "resolved",
    "resolution_rate",
    "on_time_rate",
    "solution_rate",
    "satisfaction_rate",
]


@router.get("/trends")
async def trends(request: Request, v: Viewer = Depends(viewer)) -> Response:
    def build(v: Viewer, now: datetime) -> dict[str, Any]:
        weeks = board.trends(
            gateway(request).read_model, weeks=whole_number(request, "weeks", 12, 2, 104), now=now, seen=v.seen
        )
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
                charts.Series(t("solution_rate"), pct("solution")),
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

    return await page(request, v, build, "trends.html", csv_name="trends")


HOTSPOT_COLUMNS = ["category", "street", "community", "people", "first_at", "last_at", "cases"]


@router.post("/hotspots/similar/{key}/hand")
async def hand_similar(request: Request, key: str, v: Viewer = Depends(viewer)) -> Response:
    """A supervisor hands a 类案预警 of their scope to a unit as one 源头治理 task; then its page."""
    from starter.source_tasks import hand

    form = await request.form()
    if v.identity.role != Role.supervisor or not same_token(str(form.get("csrf") or ""), v.session.csrf):
        return not_found(request, v.words)
    now = datetime.now(timezone.utc)
    g = gateway(request)
    found = await asyncio.to_thread(
        similar_alerts, g.read_model, since=now - SIMILAR_WINDOW, until=now + timedelta(minutes=1), seen=v.seen
    )
    cluster = next((c for c in found if c.key == key), None)
    unit_name = str(form.get("unit") or "").strip()
    if cluster is None or not unit_name:  # gone since, or never in this viewer's sight: as unknown
        return not_found(request, v.words)
    try:
        async with asyncio.timeout(ENGINE_TIMEOUT):
            handed = await hand(g.client, cluster, unit_name, v.identity.actor, task_queue=g.config.task_queue)
    except (InvalidInput, Rejected) as err:
        return render(request, "error.html", v.words, 422, title="refused", text=str(err), viewer=v, raw=True)
    except (RPCError, TimeoutError) as err:
        log.warning("console: the engine does not answer", key=key, error=str(err))
        return render(request, "error.html", v.words, 503, title="unavailable", text="unavailable_text", viewer=v)
    log.info("类案 handed as a source task", identity=v.identity.id, task_id=handed.task_id, unit=handed.department)
    return RedirectResponse(f"/console/cases/{handed.task_id}", status_code=303)


@router.get("/hotspots")
async def hotspots(request: Request, v: Viewer = Depends(viewer)) -> Response:
    def build(v: Viewer, now: datetime) -> dict[str, Any]:
        since, until, first, last = period(request, now)
        found = find_hotspots(
            gateway(request).read_model,
            since=since,
            until=until,
            threshold=whole_number(request, "threshold", 3, 2, 1000),
            window=timedelta(days=whole_number(request, "window_days", 7, 1, 90)),
            seen=v.seen,
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
        # 类案预警: what people said alike across communities, the last SIMILAR_WINDOW up to the period's end.
        similar = similar_alerts(gateway(request).read_model, since=until - SIMILAR_WINDOW, until=until, seen=v.seen)
        city = jurisdictions.tree()
        return {
            "found": found,
            "similar": similar,
            # A supervisor hands a 类案 to one of its district's units as one 源头治理 task.
            "task_units": {
                c.key: [u.name for u in city.units_of(c.first.district_code or "")]
                for c in similar
                if v.identity.role == Role.supervisor
            },
            "similar_days": SIMILAR_WINDOW.days,
            "since": first,
            "until": last,
            "columns": HOTSPOT_COLUMNS,
            "csv_rows": rows,
        }

    return await page(request, v, build, "hotspots.html", csv_name="hotspots")
