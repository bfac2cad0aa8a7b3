"""The duty roster (models/duty.py) and how the tree file declares it: who a red strong signal
reaches at each moment, in Beijing time, a shift past midnight included."""

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from models.duty import Duty, on_duty
from models.tree_file import parse
from starter import jurisdictions

BJ = ZoneInfo("Asia/Shanghai")
DAY = Duty("白班", "1", weekdays=(1, 2, 3, 4, 5), start=time(8, 30), end=time(18, 0))
NIGHT = Duty("夜班", "2", start=time(18, 0), end=time(8, 30))  # every day, past midnight
ANYONE = Duty("兜底", "3")


@pytest.mark.parametrize(
    ("moment", "who"),
    [
        (datetime(2026, 12, 7, 9, 0, tzinfo=BJ), "白班"),  # a Monday morning
        (datetime(2026, 12, 7, 18, 0, tzinfo=BJ), "夜班"),  # the day shift ends as the night begins
        (datetime(2026, 12, 8, 2, 0, tzinfo=BJ), "夜班"),  # past midnight: the night that began Monday
        (datetime(2026, 12, 8, 8, 29, tzinfo=BJ), "夜班"),
        (datetime(2026, 12, 12, 10, 0, tzinfo=BJ), "兜底"),  # a Saturday's day: no day shift
    ],
)
def test_the_first_shift_covering_the_moment_is_on_duty(moment, who):
    assert on_duty((DAY, NIGHT, ANYONE), moment).name == who  # type: ignore[union-attr]


def test_a_moment_no_shift_covers_goes_to_the_first_of_the_roster_and_no_roster_to_nobody():
    saturday = datetime(2026, 12, 12, 10, 0, tzinfo=BJ)
    assert on_duty((DAY,), saturday) == DAY
    assert on_duty((), saturday) is None


def test_the_shipped_tree_has_a_roster_for_every_district():
    city = jurisdictions.tree()
    for code in city.districts:
        assert city.on_duty(code, datetime(2026, 12, 12, 3, 0, tzinfo=BJ)) is not None, code


def test_a_bad_shift_is_named_by_its_path():
    data = {
        "place": [
            {"code": "1", "name": "市", "level": "city"},
            {"code": "2", "name": "区", "level": "district", "parent": "1"},
        ],
        "district": {
            "2": {
                "policy": "1030",
                "sign": "区",
                "duty": [
                    {"name": "甲", "phone": "1", "from": "8:30", "weekdays": [0]},
                    {"phone": "2", "shift": "day"},
                ],
            }
        },
    }
    _, problems = parse(data)
    assert problems == [
        "district.2.duty[0].weekdays: a list of 1 (Monday) to 7 (Sunday)",
        "district.2.duty[0].from: '8:30' is not a time of day like 08:30",
        "district.2.duty[1].shift: not a field of a duty shift",
        "district.2.duty[1].name: missing",
    ]
