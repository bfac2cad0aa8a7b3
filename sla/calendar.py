"""China's working-day calendar, with the State Council's adjusted working days (调休).

The `holidays` package knows each year's official schedule once it is published (the State
Council announces it late in the year before). A local override file covers years it does
not know yet, or corrects one. A deadline that falls in a year known to neither is computed
from the statutory holidays alone and flagged `estimated`, never silently guessed.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

import holidays
from holidays.countries.china import ChinaStaticHolidays

FIRST_OFFICIAL_YEAR = 2001  # the first State Council notice the package checks against


@dataclass(frozen=True)
class YearSchedule:
    """Every day off that is not a plain weekend, and every weekend day that is worked."""

    days_off: frozenset[date]
    workdays: frozenset[date]


@dataclass
class WorkingCalendar:
    overrides: dict[int, YearSchedule] = field(default_factory=dict)
    _years: dict[int, YearSchedule] = field(default_factory=dict, repr=False)

    @classmethod
    def from_file(cls, path: str | Path | None) -> WorkingCalendar:
        if path is None or not Path(path).exists():
            return cls()
        return cls(overrides=load_overrides(Path(path)))

    @cached_property
    def _official_years(self) -> range:
        return range(FIRST_OFFICIAL_YEAR, max(ChinaStaticHolidays.special_public_holidays) + 1)

    def is_known(self, year: int) -> bool:
        """Whether the year's official schedule (with its 调休) is known, from the package or the file."""
        return year in self.overrides or year in self._official_years

    def schedule(self, year: int) -> YearSchedule:
        if year not in self._years:
            self._years[year] = self.overrides.get(year) or _package_schedule(year)
        return self._years[year]

    def is_working_day(self, day: date) -> bool:
        s = self.schedule(day.year)
        if day in s.workdays:
            return True
        if day in s.days_off:
            return False
        return day.weekday() < 5

    def nth_working_day_after(self, day: date, n: int) -> tuple[date, bool]:
        """The Nth working day after `day`, and whether an unknown year was crossed to get there."""
        if n < 1:
            raise ValueError("n must be at least 1")
        estimated = False
        current = day
        while n:
            current += timedelta(days=1)
            estimated |= not self.is_known(current.year)
            if self.is_working_day(current):
                n -= 1
        return current, estimated

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end`."""
        count, current = 0, start
        while current < end:
            current += timedelta(days=1)
            count += self.is_working_day(current)
        return count


def _package_schedule(year: int) -> YearSchedule:
    days_off = frozenset(holidays.China(years=year))
    workdays: set[date] = set()
    # Each substitution (holiday month, day, worked month, day[, worked year]) names the
    # weekend day worked in exchange for a day off.
    for entry in ChinaStaticHolidays.special_public_holidays.get(year, ()):
        fields: tuple[Any, ...] = tuple(entry)  # the holidays package types these loosely
        if len(fields) in (4, 5):
            worked_year = int(fields[4]) if len(fields) == 5 else year
            workdays.add(date(worked_year, int(fields[2]), int(fields[3])))
    return YearSchedule(days_off=days_off, workdays=frozenset(workdays))


def load_overrides(path: Path) -> dict[int, YearSchedule]:
    """Read the override file: one table per year, `days_off` and `workdays` as ISO dates.

    A year listed there is taken as the whole truth for that year: weekends are off unless
    listed in `workdays`, weekdays are worked unless listed in `days_off`.
    """
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    years: dict[int, YearSchedule] = {}
    for key, table in data.get("years", {}).items():
        year = int(key)
        off = frozenset(_day(v, path, year, "days_off") for v in table.get("days_off", []))
        worked = frozenset(_day(v, path, year, "workdays") for v in table.get("workdays", []))
        if off & worked:
            raise ValueError(f"{path}: years.{year}: {sorted(off & worked)} both off and worked")
        years[year] = YearSchedule(days_off=off, workdays=worked)
    return years


def _day(value: object, path: Path, year: int, key: str) -> date:
    try:
        day = value if isinstance(value, date) else date.fromisoformat(str(value))
    except ValueError as err:
        raise ValueError(f"{path}: years.{year}.{key}: {value!r} is not an ISO date") from err
    if day.year != year:
        raise ValueError(f"{path}: years.{year}.{key}: {day} is not in {year}")
    return day
