"""The periods supervisors look at, in Beijing days: one definition of "the last 30 days"."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sla.durations import BUSINESS_TZ

# A supervisor's default period: the last 30 days, today included (a local default, the length
# of a month's report; no source sets it).
DEFAULT_DAYS = 30


def first_day(last: date, days: int = DEFAULT_DAYS) -> date:
    """The first of `days` whole days that end with `last` (included)."""
    return last - timedelta(days=days - 1)


def midnight(day: date) -> datetime:
    """The start of a Beijing day."""
    return datetime(day.year, day.month, day.day, tzinfo=BUSINESS_TZ)


def last_days(until: datetime, days: int = DEFAULT_DAYS) -> datetime:
    """The start of the last `days` Beijing days up to `until`, its own day included."""
    return midnight(first_day(until.astimezone(BUSINESS_TZ).date(), days))
