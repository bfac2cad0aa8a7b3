"""Time in the simulation: seconds since the epoch (floats), and two clocks on them.

`WorkClock` knows when a pool of people works (its hours, on the calendar's working days or every
day), so an hour of effort started at 17:30 ends the next working morning. `Deadlines` is the
engine's own deadline arithmetic (`sla.durations.deadline`, the function the workflow plans with)
remembered per calendar day, since a year of cases asks it millions of times.
"""

from __future__ import annotations

import bisect
from datetime import date, datetime, timedelta, timezone

from simulation.inputs import Hours
from sla.calendar import WorkingCalendar
from sla.durations import BUSINESS_TZ, Duration, Unit, deadline, shifted
from sla.policies import MilestoneRule

INF = float("inf")


def moment(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, BUSINESS_TZ)


def midnight(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=BUSINESS_TZ).timestamp()


class WorkClock:
    """The working intervals of one pool from `first` for `days` days, and arithmetic on them."""

    def __init__(self, hours: Hours, calendar: WorkingCalendar, first: date, days: int) -> None:
        spans = hours.spans()
        self.starts: list[float] = []
        self.ends: list[float] = []
        self.before: list[float] = []  # working seconds before each interval
        total = 0.0
        for n in range(days):
            day = first + timedelta(days=n)
            if not hours.every_day and not calendar.is_working_day(day):
                continue
            base = midnight(day)
            for start, end in spans:
                if self.ends and self.ends[-1] == base + start:  # 24:00 then 00:00: one interval
                    self.ends[-1] = base + end
                    total += end - start
                    continue
                self.starts.append(base + start)
                self.ends.append(base + end)
                self.before.append(total)
                total += end - start
        self.total = total

    def open_at(self, ts: float) -> float:
        """The first working moment at or after ts (inf past the clock's last day)."""
        i = bisect.bisect_right(self.starts, ts) - 1
        if i >= 0 and ts < self.ends[i]:
            return ts
        return self.starts[i + 1] if i + 1 < len(self.starts) else INF

    def after(self, ts: float, seconds: float) -> float:
        """When `seconds` of work started at ts end."""
        i = bisect.bisect_right(self.starts, ts) - 1
        if i < 0 or ts >= self.ends[i]:
            i += 1
            if i >= len(self.starts):
                return INF
            ts = self.starts[i]
        target = self.before[i] + (ts - self.starts[i]) + seconds
        j = bisect.bisect_right(self.before, target) - 1
        if j >= len(self.starts):
            return INF
        at = self.starts[j] + (target - self.before[j])
        if at > self.ends[j]:  # exactly the end of the last interval, or past the clock
            return self.ends[j] if abs(at - self.ends[j]) < 1e-6 else INF
        return at

    def worked(self, start: float, end: float) -> float:
        """Working seconds between two moments."""
        return self._position(end) - self._position(start)

    def _position(self, ts: float) -> float:
        i = bisect.bisect_right(self.starts, ts) - 1
        if i < 0:
            return 0.0
        return self.before[i] + min(ts, self.ends[i]) - self.starts[i]


class Deadlines:
    """When a rule falls due for an anchor at ts: `sla.durations.deadline`, remembered. Elapsed
    durations are a fixed offset (Asia/Shanghai has no daylight saving); working days depend only
    on the anchor's calendar day; months are asked each time."""

    def __init__(self, calendar: WorkingCalendar) -> None:
        self.calendar = calendar
        self._offsets: dict[Duration, float] = {}
        self._by_day: dict[tuple[Duration, int], float] = {}

    def due(self, rule: MilestoneRule, track: str, category: str, ts: float) -> float:
        return self.of(rule.duration_for(track, category), ts)

    def of(self, duration: Duration, ts: float) -> float:
        if duration.unit in (Unit.minutes, Unit.hours, Unit.days):
            offset = self._offsets.get(duration)
            if offset is None:
                ref = datetime(2026, 1, 5, 9, tzinfo=timezone.utc)
                offset = self._offsets[duration] = (deadline(ref, duration, self.calendar).due_at - ref).total_seconds()
            return ts + offset
        if duration.unit == Unit.working_days:
            day = int((ts + 8 * 3600) // 86400)  # the anchor's day in Asia/Shanghai (UTC+8 all year)
            key = (duration, day)
            found = self._by_day.get(key)
            if found is None:
                found = self._by_day[key] = deadline(moment(ts), duration, self.calendar).due_at.timestamp()
            return found
        return deadline(moment(ts), duration, self.calendar).due_at.timestamp()

    def shifted(self, due: float, duration: Duration, stopped: float, resumed: float) -> float:
        """A deadline moved by a stopped clock: `sla.durations.shifted`, the workflow's own."""
        return shifted(moment(due), duration.unit, moment(stopped), moment(resumed), self.calendar).due_at.timestamp()
