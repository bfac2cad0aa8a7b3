"""The console's inputs and exports: the period and other query values (a bad one is named, never
a 500), and any table as CSV."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from gateway.console.text import Words
from sla import BUSINESS_TZ
from sla.periods import first_day, midnight


class BadInput(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def day(request: Request, name: str) -> date | None:
    value = request.query_params.get(name)
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadInput(name, f"{value[:40]!r} is not a date such as 2026-11-01") from None


def unit(request: Request, scope: str | None) -> str | None:
    """The `department` filter by the unit's own name, as cases record units."""
    from models.tree import UnitProblem
    from starter.jurisdictions import unit_filter

    try:
        return unit_filter(request.query_params.get("department"), scope)
    except UnitProblem as err:
        raise BadInput("department", f"{err}; choose one") from None


def whole_number(request: Request, name: str, default: int, low: int, high: int) -> int:
    value = request.query_params.get(name)
    if not value:
        return default
    if not value.isdigit() or not low <= int(value) <= high:
        raise BadInput(name, f"{value[:40]!r} is not a whole number from {low} to {high}")
    return int(value)


def period(request: Request, now: datetime) -> tuple[datetime, datetime, date, date]:
    """since .. until (whole days in Asia/Shanghai, until included); the last 30 days by default
    (sla/periods.py, as /v1/stats and `stats` count them)."""
    today = now.astimezone(BUSINESS_TZ).date()
    until = day(request, "until") or today
    since = day(request, "since") or first_day(until)
    if since > until:
        raise BadInput("since", "must not be after until")
    if (until - since).days > 3 * 366:
        raise BadInput("since", "a period of at most three years")
    return midnight(since), min(midnight(until + timedelta(days=1)), now + timedelta(seconds=1)), since, until


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
