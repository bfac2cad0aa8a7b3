"""Durations as the source documents state them, and the deadlines they give."""

from __future__ import annotations

import calendar as _months
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sla.calendar import WorkingCalendar

BUSINESS_TZ = ZoneInfo("Asia/Shanghai")


class Unit(StrEnum):
    minutes = "minutes"
    hours = "hours"
    days = "days"
    working_days = "working_days"
    months = "months"


@dataclass(frozen=True)
class Duration:
    amount: int
    unit: Unit

    def __str__(self) -> str:
        unit = self.unit.value.replace("_", " ")
        return f"{self.amount} {unit[:-1] if self.amount == 1 else unit}"


def minutes(n: int) -> Duration:
    return Duration(n, Unit.minutes)


def hours(n: int) -> Duration:
    return Duration(n, Unit.hours)


def days(n: int) -> Duration:
    return Duration(n, Unit.days)


def working_days(n: int) -> Duration:
    return Duration(n, Unit.working_days)


def months(n: int) -> Duration:
    return Duration(n, Unit.months)


@dataclass(frozen=True)
class Deadline:
    due_at: datetime
    estimated: bool = False  # crossed a year the calendar does not know


def deadline(anchor: datetime, duration: Duration, cal: WorkingCalendar) -> Deadline:
    """When a promise of `duration` made at `anchor` falls due, in the business time zone.

    N working days: the end (24:00) of the Nth working day after the anchor's calendar day.
    N months: the same day of the month N months on (the month's last day if it has no such day).
    Minutes, hours and days: plain elapsed time.
    """
    if anchor.tzinfo is None:
        raise ValueError("anchor must carry its time zone")
    local = anchor.astimezone(BUSINESS_TZ)
    match duration.unit:
        case Unit.minutes:
            return Deadline(local + timedelta(minutes=duration.amount))
        case Unit.hours:
            return Deadline(local + timedelta(hours=duration.amount))
        case Unit.days:
            return Deadline(local + timedelta(days=duration.amount))
        case Unit.months:
            return Deadline(_add_months(local, duration.amount))
        case Unit.working_days:
            day, estimated = cal.nth_working_day_after(local.date(), duration.amount)
            end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=BUSINESS_TZ)
            return Deadline(end, estimated)
    raise ValueError(f"unknown unit {duration.unit}")


def _add_months(moment: datetime, n: int) -> datetime:
    month_index = moment.month - 1 + n
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, _months.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def shifted(due: datetime, unit: Unit, stopped_at: datetime, resumed_at: datetime, cal: WorkingCalendar) -> Deadline:
    """A deadline moved later by exactly the time its clock was stopped (中止计时).

    Working-day deadlines move by the working days the stop covered: those after the stop's
    calendar day up to and including the resume's (in Asia/Shanghai); the rest by elapsed time.
    """
    if unit != Unit.working_days:
        return Deadline(due + (resumed_at - stopped_at))
    stopped = cal.working_days_between(
        stopped_at.astimezone(BUSINESS_TZ).date(), resumed_at.astimezone(BUSINESS_TZ).date()
    )
    if stopped == 0:
        return Deadline(due)
    last_day = (due.astimezone(BUSINESS_TZ) - timedelta(microseconds=1)).date()  # due is 24:00 of this day
    day, estimated = cal.nth_working_day_after(last_day, stopped)
    return Deadline(datetime.combine(day + timedelta(days=1), time(0), tzinfo=BUSINESS_TZ), estimated)


def passed_by(duration: Duration, now: datetime, cal: WorkingCalendar) -> datetime:
    """The moment before which every anchor's promise of `duration` has run out by `now` (an
    anchor at or after it has not): to find, in one query, what became due by now."""
    if duration.unit != Unit.working_days:
        if duration.unit == Unit.months:
            raise ValueError("passed_by: months are not of one length")
        step = {Unit.minutes: 60, Unit.hours: 3600, Unit.days: 86400}[duration.unit]
        return now - timedelta(seconds=step * duration.amount)
    # A working-day deadline depends on the anchor's calendar day alone, and moves with it.
    day = now.astimezone(BUSINESS_TZ).date()
    while deadline(datetime.combine(day, time(0), tzinfo=BUSINESS_TZ), duration, cal).due_at > now:
        day -= timedelta(days=1)
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=BUSINESS_TZ)
