"""SLA arithmetic on its own: no Temporal. Expected dates are counted by hand from the official calendar."""

from datetime import date, datetime, timedelta

import pytest

from sla import BUSINESS_TZ, WorkingCalendar, deadline, plan
from sla.durations import days, hours, minutes, months, working_days

CAL = WorkingCalendar()


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=BUSINESS_TZ)


def test_three_working_days_after_national_day_eve_end_on_the_worked_saturday():
    # Oct 1-7 are off; Oct 8, 9 and Saturday Oct 10 (调休) are worked: 24:00 on Oct 10.
    assert deadline(at(2026, 9, 30, 15, 0), working_days(3), CAL).due_at == at(2026, 10, 11)


def test_spring_festival_2026_skips_nine_days_off_and_counts_both_worked_saturdays():
    assert CAL.is_working_day(date(2026, 2, 14)) and CAL.is_working_day(date(2026, 2, 28))
    assert not any(CAL.is_working_day(date(2026, 2, d)) for d in range(15, 24))
    assert deadline(at(2026, 2, 13, 9), working_days(1), CAL).due_at == at(2026, 2, 15)  # Sat 14th worked
    assert deadline(at(2026, 2, 14, 9), working_days(1), CAL).due_at == at(2026, 2, 25)  # Tue 24th


def test_fifty_working_days_over_dragon_boat_festival():
    # June 2026: 21 weekdays after the 1st, less Jun 19 = 20; July 23 -> 43; Aug 3-7, 10, 11 -> 50.
    assert deadline(at(2026, 6, 1, 11), working_days(50), CAL).due_at == at(2026, 8, 12)


def test_fifty_working_days_from_spring_festival_eve_cross_qingming_and_may_day():
    # Counted by hand: Feb 14, Feb 24-28, March (22), Apr 1-3, 7-30 less Apr 6 ... May 6 is the 50th.
    assert deadline(at(2026, 2, 13, 10), working_days(50), CAL).due_at == at(2026, 5, 7)


def test_adjusted_sunday_and_ordinary_weekend():
    assert CAL.is_working_day(date(2026, 1, 4))  # Sunday worked for New Year
    assert not CAL.is_working_day(date(2026, 1, 2))  # Friday off in exchange
    assert not CAL.is_working_day(date(2026, 11, 28))  # plain Saturday
    assert deadline(at(2026, 11, 27, 18), working_days(1), CAL).due_at == at(2026, 12, 1)


def test_anchor_in_another_zone_counts_from_the_shanghai_calendar_day():
    # 17:00 UTC on Sep 30 is already Oct 1 in Shanghai: the count starts after Oct 1.
    utc = datetime.fromisoformat("2026-09-30T17:00:00+00:00")
    assert deadline(utc, working_days(3), CAL).due_at == at(2026, 10, 11)
    assert deadline(utc, minutes(10), CAL).due_at == at(2026, 10, 1, 1, 10)


def test_plain_durations_and_months():
    assert deadline(at(2026, 3, 1, 8), hours(72), CAL).due_at == at(2026, 3, 4, 8)
    assert deadline(at(2026, 3, 1, 8), days(7), CAL).due_at == at(2026, 3, 8, 8)
    assert deadline(at(2026, 1, 31, 9), months(1), CAL).due_at == at(2026, 2, 28, 9)
    assert deadline(at(2026, 12, 15, 9), months(1), CAL).due_at == at(2027, 1, 15, 9)


def test_naive_anchor_refused():
    with pytest.raises(ValueError, match="time zone"):
        deadline(datetime(2026, 1, 1), minutes(1), CAL)


def test_unknown_year_is_estimated_not_silently_guessed():
    assert CAL.is_known(2026)
    assert not CAL.is_known(2099)
    assert deadline(at(2026, 3, 2, 9), working_days(5), CAL).estimated is False
    assert deadline(at(2098, 12, 30, 9), working_days(5), CAL).estimated is True


def test_override_file_makes_a_year_known_and_is_the_whole_truth(tmp_path):
    f = tmp_path / "cal.toml"
    f.write_text('[years.2099]\ndays_off = ["2099-10-01", "2099-10-02"]\nworkdays = ["2099-10-03"]\n')
    cal = WorkingCalendar.from_file(f)
    assert cal.is_known(2099)
    # 2099-09-30 is a Wednesday: Oct 1-2 off, Saturday Oct 3 worked, Oct 5 Monday.
    result = deadline(at(2099, 9, 30, 9), working_days(2), cal)
    assert result.due_at == at(2099, 10, 6) and not result.estimated


def test_override_file_errors_name_the_place(tmp_path):
    f = tmp_path / "cal.toml"
    f.write_text('[years.2099]\ndays_off = ["2099-13-01"]\n')
    with pytest.raises(ValueError, match=r"years\.2099\.days_off: '2099-13-01'"):
        WorkingCalendar.from_file(f)
    f.write_text('[years.2099]\nworkdays = ["2098-10-01"]\n')
    with pytest.raises(ValueError, match="not in 2099"):
        WorkingCalendar.from_file(f)


def test_shipped_override_file_parses():
    from runtime.settings import CONFIG_DIR

    WorkingCalendar.from_file(CONFIG_DIR / "calendar-overrides.toml")


def test_plan_1030_assignment_and_tracks():
    names = [
        m.name
        for m in plan(
            policy="1030", track="routine", anchor="assignment", at=at(2026, 3, 2, 9), cal=CAL, department="城管局"
        )
    ]
    assert names == ["contact", "verify", "reply", "opinion"]
    fast = plan(policy="1030", track="fast", anchor="acceptance", at=at(2026, 3, 2, 9), cal=CAL)
    resolve = next(m for m in fast if m.name == "resolve")
    assert resolve.due_at == at(2026, 3, 3, 9) and resolve.on_breach == ["escalate"]
    routine = plan(policy="1030", track="routine", anchor="acceptance", at=at(2026, 3, 2, 9), cal=CAL)
    assert [m.name for m in routine] == ["acknowledge", "dispatch", "resolve"]


def test_plan_13710_major_and_monthly_reports():
    accepted = plan(policy="13710", track="major", anchor="acceptance", at=at(2026, 3, 2, 9), cal=CAL)
    assert {m.name: m.due_at for m in accepted} == {
        "acknowledge": at(2026, 3, 2, 9, 10),
        "dispatch": at(2026, 3, 3, 9),
        "progress_report": at(2026, 3, 5, 9),
        "resolve": at(2026, 4, 2, 9),
    }
    assert plan(policy="13710", track="routine", anchor="resolve_overdue", at=at(2026, 3, 9), cal=CAL) == []
    monthly = plan(policy="13710", track="major", anchor="resolve_overdue", at=at(2026, 4, 2, 9), cal=CAL)
    assert [(m.name, m.due_at, m.repeat_anchor) for m in monthly] == [
        ("progress_report", at(2026, 5, 2, 9), "progress_cycle")
    ]


def test_unknown_policy():
    with pytest.raises(ValueError, match="unknown policy"):
        plan(policy="12345", track="routine", anchor="acceptance", at=at(2026, 3, 2), cal=CAL)


def test_passed_by_finds_every_anchor_whose_working_days_have_run_out():
    from sla import passed_by

    # Two working days after Thu 2026-11-26 end at Mon 11-30 24:00: due on Tue 12-01, not on Mon.
    assert passed_by(working_days(2), at(2026, 12, 1, 9), CAL) == at(2026, 11, 27)
    assert passed_by(working_days(2), at(2026, 11, 30, 23), CAL) == at(2026, 11, 26)
    # Around National Day: resolved on Sep 29 (Tue) waits until Oct 9 (worked Sat Oct 10 aside).
    for now in (at(2026, 10, 5, 12), at(2026, 10, 9, 12)):
        cutoff = passed_by(working_days(2), now, CAL)
        for anchor in (cutoff - timedelta(minutes=1), cutoff):
            due = deadline(anchor, working_days(2), CAL).due_at
            assert (due <= now) is (anchor < cutoff), (now, anchor, due)
    assert passed_by(hours(24), at(2026, 3, 2, 9), CAL) == at(2026, 3, 1, 9)


def test_the_last_30_days_are_30_beijing_days_today_included_everywhere():
    """One definition of the default period (issue 36): /v1/stats, `stats` and the console."""
    from datetime import timezone

    from readmodel.stats import default_period
    from sla.periods import last_days

    now = datetime(2026, 12, 3, 17, 30, tzinfo=timezone.utc)  # 01:30 on 4 December in Beijing
    start = last_days(now)
    assert start.isoformat() == "2026-11-05T00:00:00+08:00"
    since, until = default_period(None, now)
    assert since == start and until == now
