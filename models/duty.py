"""A district's duty roster (24小时值守, seed 002): who is on duty when, so that a red strong
signal (models/risk.py) reaches a leader at once. Pure: the roster is the tree file's
(`[[district.<code>.duty]]`), the moment is the caller's, read in Beijing time.

A shift names its weekdays (1 Monday … 7 Sunday; all by default) and its hours (`from` to
`until`, 00:00 to 24:00 by default; an `until` at or before `from` runs past midnight, into the
next day). The first shift listed that covers the moment is on duty; when none does, the first
of the roster is told (a red alert never goes nowhere)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sla import BUSINESS_TZ

ALL_DAYS = (1, 2, 3, 4, 5, 6, 7)


@dataclass(frozen=True)
class Duty:
    name: str
    phone: str
    identity: str | None = None  # the leader's identity, who records the response
    weekdays: tuple[int, ...] = ALL_DAYS
    start: time = time(0, 0)
    end: time | None = None  # None: midnight, the day's end

    def covers(self, moment: datetime) -> bool:
        local = moment.astimezone(BUSINESS_TZ)
        if self.end is None or self.end > self.start:  # within one day
            return local.isoweekday() in self.weekdays and self.start <= local.time() < (self.end or time.max)
        # Past midnight: from `start` on a listed day, or before `end` the morning after one.
        if local.time() >= self.start:
            return local.isoweekday() in self.weekdays
        return local.time() < self.end and (local - timedelta(days=1)).isoweekday() in self.weekdays


def on_duty(roster: tuple[Duty, ...], moment: datetime) -> Duty | None:
    """Who is told at `moment`: the first shift covering it, else the roster's first; None only
    for a district without a roster."""
    for duty in roster:
        if duty.covers(moment):
            return duty
    return roster[0] if roster else None
